"""django-pghistory with its default row-level triggers, tracking inserts, updates and deletes."""

from __future__ import annotations

import pghistory

from benchmarks.base import BenchItem


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Item(BenchItem):
    pass
