"""Data exports: who took which data out, in what shape, and how often the file was fetched."""

from __future__ import annotations

from typing import Any

from django.db import router, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from pgaudit_django.attribution.state import UNSET
from pgaudit_django.events.text import clean_text, json_value
from pgaudit_django.events.writing import (
    acting_user,
    attributed,
    logger,
    model_skipped,
    request_info,
    safe_write,
    username_of,
)
from pgaudit_django.models import DataExport

BIGINT_MAX = 2**63 - 1
EXPORT_TYPE_LIMIT = 100
FORMAT_LIMIT = 16
FILE_PATH_LIMIT = 500


def _count(name: str, value: Any, *, optional: bool) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {value!r}.")
    if not 0 <= value <= BIGINT_MAX:
        raise ValueError(f"{name} must be between 0 and {BIGINT_MAX}, got {value}.")
    return value


def _text(name: str, value: Any, limit: int, *, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}.")
    if required and not value.strip():
        raise ValueError(f"{name} must not be empty.")
    return clean_text(value.strip(), limit)


def log_data_export(
    user: Any = None,
    export_type: str = "",
    file_format: str = "",
    record_count: int = 0,
    file_size: int | None = None,
    filters: Any = None,
    request: HttpRequest | None = None,
    file_path: str = "",
) -> DataExport | None:
    """Record an export. ``user`` defaults to ``request.user``; ``filters`` must be JSON data
    (``TypeError`` otherwise); counts must be non-negative integers. Over-long texts are
    truncated with "…". Returns the row, or ``None`` if ``pgaudit.DataExport`` is in
    ``AUDIT_SKIP_MODELS`` or the write failed (logged)."""
    fields: dict[str, Any] = {
        "export_type": _text("export_type", export_type, EXPORT_TYPE_LIMIT, required=True),
        "file_format": _text("file_format", file_format, FORMAT_LIMIT, required=True).upper(),
        "record_count": _count("record_count", record_count, optional=False),
        "file_size": _count("file_size", file_size, optional=True),
        "filters": json_value(filters, "filters") if filters is not None else {},
        "file_path": _text("file_path", file_path, FILE_PATH_LIMIT, required=False),
    }
    if model_skipped(DataExport):
        return None
    actor = acting_user(user, request)
    if request is not None:
        info = request_info(request)
        fields.update(ip_address=info.ip, user_agent=info.user_agent)

    def create() -> DataExport:
        with attributed(request, user=actor if actor is not None else UNSET):
            export: DataExport = DataExport.objects.create(
                user_id=actor.pk if actor is not None else None,
                username=username_of(actor),
                **fields,
            )
            return export

    return safe_write("data export", DataExport, create)


def record_download(export: DataExport) -> None:
    """Count one download in the database (``UPDATE ... + 1``: concurrent downloads all count)
    and refresh the instance's counters."""
    if export.pk is None:
        raise ValueError("record_download() needs a saved DataExport.")
    db = router.db_for_write(DataExport, instance=export)
    try:
        with transaction.atomic(using=db):
            DataExport.objects.using(db).filter(pk=export.pk).update(
                download_count=F("download_count") + 1, last_downloaded=timezone.now()
            )
        export.refresh_from_db(using=db, fields=["download_count", "last_downloaded"])
    except Exception:  # the download itself must still be served
        logger.exception("pgaudit_django: could not record a download of export %s.", export.pk)
