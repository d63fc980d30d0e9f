"""Admin actions: export the selected audit rows as CSV or JSON Lines, and record the export.

The export is recorded (a ``DataExport`` row: who, how many rows, which filters) *before* the
file is streamed, so an export that is interrupted half-way is still on record. Rows are read
with a server-side cursor in chunks, never all in memory. Exports larger than
``EXPORT_MAX_ROWS`` are refused with a message: narrow the list with filters first.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from pgaudit_django.admin.paginator import capped_count
from pgaudit_django.models import AuditLog
from pgaudit_django.utils import log_data_export

EXPORT_MAX_ROWS = 100_000
CHUNK_ROWS = 2000
COLUMNS = (
    "id",
    "timestamp",
    "action",
    "model",
    "object_id",
    "object_repr",
    "user_id",
    "username",
    "changes",
    "source",
    "ip_address",
    "user_agent",
    "request_id",
    "transaction_id",
    "db_role",
    "route",
    "reason",
)
# Spreadsheets run a cell starting with these as a formula ("CSV injection"): =HYPERLINK(…).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def row(entry: AuditLog) -> dict[str, Any]:
    context = entry.context if entry.context_id else None
    ct = entry.content_type if entry.content_type_id else None
    return {
        "id": entry.id,
        "timestamp": entry.timestamp.isoformat(),
        "action": entry.action,
        "model": f"{ct.app_label}.{ct.model}" if ct else (entry.table_name or ""),
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "user_id": entry.user_id,
        "username": entry.user.get_username() if entry.user_id and entry.user else "",
        "changes": entry.changes,
        "source": context.source if context else "",
        "ip_address": str(context.ip_address) if context and context.ip_address else None,
        "user_agent": context.user_agent if context else "",
        "request_id": context.request_id if context else "",
        "transaction_id": context.transaction_id if context else None,
        "db_role": context.db_role if context else "",
        "route": context.route if context else "",
        "reason": context.reason if context else "",
    }


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list, bool)):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def csv_lines(entries: Iterable[AuditLog]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(COLUMNS)
    yield flush()
    for entry in entries:
        data = row(entry)
        writer.writerow([_csv_cell(data[c]) for c in COLUMNS])
        yield flush()


def jsonl_lines(entries: Iterable[AuditLog]) -> Iterator[str]:
    for entry in entries:
        yield json.dumps(row(entry), ensure_ascii=False, default=str) + "\n"


FORMATS = {
    "CSV": ("text/csv; charset=utf-8", "csv", csv_lines),
    "JSONL": ("application/x-ndjson; charset=utf-8", "jsonl", jsonl_lines),
}


def _recorded_filters(request: HttpRequest) -> dict[str, Any]:
    """What the export contained, for the DataExport row: the list's URL filters and selection."""
    select_across = request.POST.get("select_across") == "1"
    selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
    return {
        "list_filters": dict(request.GET.items()),
        "select_across": select_across,
        "selected_ids": [] if select_across else selected[:1000],
    }


def record_export(request: HttpRequest, file_format: str, count: int) -> None:
    log_data_export(
        user=request.user,
        export_type="Audit log (admin)",
        file_format=file_format,
        record_count=count,
        filters=_recorded_filters(request),
        request=request,
    )


def export(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[AuditLog], fmt: str
) -> HttpResponseBase | None:
    count = capped_count(queryset, EXPORT_MAX_ROWS)
    if count > EXPORT_MAX_ROWS:
        modeladmin.message_user(
            request,
            _("More than %(max)s rows selected: narrow the list with filters, then export.")
            % {"max": f"{EXPORT_MAX_ROWS:,}"},
            messages.ERROR,
        )
        return None
    record_export(request, fmt, count)
    content_type, extension, lines = FORMATS[fmt]
    entries = queryset.select_related("user", "context", "content_type").iterator(
        chunk_size=CHUNK_ROWS
    )
    response = StreamingHttpResponse(lines(entries), content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.{extension}"'
    return response


@admin.action(description=gettext_lazy("Export selected rows as CSV"), permissions=["view"])
def export_csv(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[AuditLog]
) -> HttpResponseBase | None:
    return export(modeladmin, request, queryset, "CSV")


@admin.action(description=gettext_lazy("Export selected rows as JSON Lines"), permissions=["view"])
def export_jsonl(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[AuditLog]
) -> HttpResponseBase | None:
    return export(modeladmin, request, queryset, "JSONL")
