"""From contexts (a request, a transaction, an IP address) to the audit rows they wrote.

``context_id IN (…)`` looks like a job for the context index, but PostgreSQL's estimate of rows
per context comes from a small sample and is often ten times too high; with ``ORDER BY timestamp
DESC LIMIT 50`` it then prefers to walk the primary key backwards and filter, which reads most of
the table when the matches are few and old (measured: 135 ms at 2 M rows for 285 matches, and
growing with the table). So the matching rows are fetched first, unordered, through the context
index; when there are at most ``MAX_ROWS`` of them the list filters by their primary keys
(timestamp, id). More matches than that are dense enough for the backward walk to find a page
quickly.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from pgaudit_django.models import AuditContext, AuditLog

# A request or an IP address seen in more transactions than this is followed in its newest ones.
MAX_CONTEXTS = 1000
MAX_ROWS = 1000


def context_ids(contexts: QuerySet[AuditContext]) -> list[int]:
    """Ids of the newest ``MAX_CONTEXTS`` contexts of the queryset."""
    return list(contexts.order_by("-created").values_list("id", flat=True)[:MAX_CONTEXTS])


def rows_of_contexts(ids: list[int], using: str = "default") -> Q:
    """A filter selecting the audit rows written under these contexts (see module docstring)."""
    if not ids:
        return Q(pk__in=[])
    rows = list(
        AuditLog.objects.using(using)
        .filter(context_id__in=ids)
        .order_by()
        .values_list("id", "timestamp")[: MAX_ROWS + 1]
    )
    if len(rows) > MAX_ROWS:
        return Q(context_id__in=ids)
    if not rows:
        return Q(pk__in=[])
    # ``timestamp IN (…)`` is redundant (ids are unique) but prunes partitions and tells the
    # planner how few rows match: with ``id IN (…)`` alone it expects that many per partition.
    return Q(pk__in=[pk for pk, _ in rows], timestamp__in={stamp for _, stamp in rows})
