"""Two identical tables: one audited by pgaudit_django, one not (the baseline of every ratio)."""

from __future__ import annotations

import pgaudit_django
from benchmarks.base import BenchItem


class Plain(BenchItem):
    """Not audited by anything: the denominator of every ratio."""


@pgaudit_django.track()
class Audited(BenchItem):
    """Audited by pgaudit_django's statement-level triggers."""
