"""django-pghistory with statement-level triggers (``level=pghistory.Statement``)."""

from __future__ import annotations

import pghistory

from benchmarks.base import BenchItem


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(),
    pghistory.DeleteEvent(),
    level=pghistory.Statement,
)
class Item(BenchItem):
    pass
