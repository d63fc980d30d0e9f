"""django-simple-history: signal-based, one historical row (a full copy) per save or delete."""

from __future__ import annotations

from simple_history.models import HistoricalRecords

from benchmarks.base import BenchItem


class Item(BenchItem):
    history = HistoricalRecords()
