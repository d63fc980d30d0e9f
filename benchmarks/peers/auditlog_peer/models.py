"""django-auditlog: signal-based, one ``LogEntry`` per saved or deleted instance."""

from __future__ import annotations

from auditlog.registry import auditlog

from benchmarks.base import BenchItem


class Item(BenchItem):
    pass


auditlog.register(Item)
