"""Page counts that never run ``COUNT(*)`` over a whole audit table.

An exact count of a 10-million-row table reads every row (seconds, and more with every month of
history). The admin only needs the count to draw page links, so:

* unfiltered: the planner's row estimate, summed over the table's partitions (``pg_class.
  reltuples``, kept current by autovacuum/ANALYZE); tables never analyzed (estimate -1) or
  smaller than the cap are counted exactly, which is cheap precisely because they are small;
* filtered: a capped count, ``SELECT count(*) FROM (SELECT … LIMIT cap + 1)``, which stops
  reading after ``cap + 1`` matches. Past the cap the page links stop; filters narrow further.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property
from django.utils.translation import gettext as _

DEFAULT_COUNT_CAP = 10_000

_ESTIMATE_SQL = """
    SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint,
           coalesce(bool_or(c.reltuples < 0), true)
    FROM pg_class AS c
    WHERE c.relkind = 'r'
      AND c.oid IN (SELECT relid FROM pg_partition_tree(%s::regclass) WHERE isleaf
                    UNION ALL SELECT %s::regclass)
"""


def estimated_rows(queryset: QuerySet[Any]) -> int | None:
    """The planner's row estimate for the queryset's table; None if a partition was never
    analyzed (PostgreSQL 14+ reports -1 then)."""
    table = queryset.model._meta.db_table
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(_ESTIMATE_SQL, [table, table])
        total, unknown = cursor.fetchone()
    return None if unknown else int(total)


def capped_count(queryset: QuerySet[Any], cap: int) -> int:
    """``min(count, cap + 1)``: Django wraps a sliced queryset's count in a LIMITed subquery."""
    return int(queryset.order_by().values("pk")[: cap + 1].count())


class EstimatedCountPaginator(Paginator):
    """A paginator whose ``count`` is an estimate (unfiltered) or capped (filtered).

    ``count_is_estimate`` and ``count_is_capped`` tell templates how to word the number.
    """

    count_cap = DEFAULT_COUNT_CAP

    def __init__(self, object_list: Any, per_page: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, *args, **kwargs)
        self.count_is_estimate = False
        self.count_is_capped = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return len(queryset)
        if not queryset.query.has_filters():
            estimate = estimated_rows(queryset)
            if estimate is not None and estimate > self.count_cap:
                self.count_is_estimate = True
                return estimate
        # Filtered, never analyzed, or small: exact up to the cap.
        counted = capped_count(queryset, self.count_cap)
        if counted > self.count_cap:
            self.count_is_capped = True
        return counted

    @property
    def count_label(self) -> str:
        """How the template words the count: "about 10,000,000", "more than 10,000", "42"."""
        count = self.count
        if self.count_is_estimate:
            return _("about %(count)s") % {"count": f"{count:,}"}
        if self.count_is_capped:
            return _("more than %(count)s") % {"count": f"{self.count_cap:,}"}
        return f"{count:,}"
