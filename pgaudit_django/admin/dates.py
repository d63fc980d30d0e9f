"""A date drill-down that costs two index probes, whatever the table size.

Django's ``date_hierarchy`` lists the years, months or days that have rows with
``SELECT DISTINCT date_trunc(…)`` over the filtered rows: on a month of a 10-million-row log that
reads millions of rows on every page view. Here the choices are the calendar periods between
the oldest and the newest row of the unfiltered table (``min``/``max`` of the indexed
``timestamp``, one index probe per partition); a period may turn out empty once chosen.
"""

from __future__ import annotations

import calendar
import datetime
from typing import Any

from django.contrib.admin.views.main import ChangeList
from django.db.models import Max, Min
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _


def _local(value: datetime.datetime) -> datetime.datetime:
    return timezone.localtime(value) if timezone.is_aware(value) else value


def _int(value: Any) -> int | None:
    if isinstance(value, list):  # Django 5 keeps lists of values in some places
        value = value[-1] if value else None
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def date_hierarchy_context(cl: ChangeList) -> dict[str, Any]:
    """The context ``admin/date_hierarchy.html`` expects: ``show``, ``back``, ``choices``."""
    field = cl.date_hierarchy
    year_field, month_field, day_field = f"{field}__year", f"{field}__month", f"{field}__day"
    year = _int(cl.params.get(year_field))
    month = _int(cl.params.get(month_field))
    day = _int(cl.params.get(day_field))

    def link(filters: dict[str, Any]) -> str:
        return cl.get_query_string(filters, [f"{field}__"])

    # The unfiltered table: min/max of an indexed column on every partition. With a filter on
    # an unindexed column (action) the planner could walk the whole index to find a match.
    bounds = cl.root_queryset.aggregate(first=Min(field), last=Max(field))
    first, last = bounds["first"], bounds["last"]
    if first is None or last is None:
        return {"show": False}
    first, last = _local(first), _local(last)
    if year is None and first.year == last.year:
        year = first.year
        if first.month == last.month:
            month = first.month

    if year and month and day:
        chosen = datetime.date(year, month, day)
        return {
            "show": True,
            "back": {
                "link": link({year_field: year, month_field: month}),
                "title": capfirst(formats.date_format(chosen, "YEAR_MONTH_FORMAT")),
            },
            "choices": [{"title": capfirst(formats.date_format(chosen, "MONTH_DAY_FORMAT"))}],
        }
    if year and month:
        days = [
            datetime.date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)
        ]
        return {
            "show": True,
            "back": {"link": link({year_field: year}), "title": str(year)},
            "choices": [
                {
                    "link": link({year_field: year, month_field: month, day_field: d.day}),
                    "title": capfirst(formats.date_format(d, "MONTH_DAY_FORMAT")),
                }
                for d in days
                if first.date() <= d <= last.date()
            ],
        }
    if year:
        months = [datetime.date(year, m, 1) for m in range(1, 13)]
        return {
            "show": True,
            "back": {"link": link({}), "title": _("All dates")},
            "choices": [
                {
                    "link": link({year_field: year, month_field: m.month}),
                    "title": capfirst(formats.date_format(m, "YEAR_MONTH_FORMAT")),
                }
                for m in months
                if (first.year, first.month) <= (m.year, m.month) <= (last.year, last.month)
            ],
        }
    return {
        "show": True,
        "back": None,
        "choices": [
            {"link": link({year_field: str(y)}), "title": str(y)}
            for y in range(first.year, last.year + 1)
        ],
    }
