"""System events: errors, warnings, slow requests, security findings, maintenance notes.

``log_system_event`` is the one writer; the middleware (exceptions, slow requests), the security
middleware and ``SystemEventHandler`` (a ``logging.Handler`` for ``LOGGING``) all go through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import threading
import traceback
from contextvars import ContextVar
from types import TracebackType
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import connections
from django.http import HttpRequest, HttpResponseBase
from django.utils import timezone

from pgaudit_django.attribution.state import UNSET, current
from pgaudit_django.events.text import clean_multiline, clean_text, json_value
from pgaudit_django.events.writing import (
    acting_user,
    attributed,
    model_skipped,
    request_info,
    safe_write,
    username_of,
)

if TYPE_CHECKING:
    from pgaudit_django.models import SystemEvent

TITLE_LIMIT = 255
DESCRIPTION_LIMIT = 20_000
STACK_LIMIT = 64 * 1024
NAME_LIMIT = 255
ERROR_CODE_LIMIT = 64
NOTES_LIMIT = 10_000
# Set on a request whose exception the middleware recorded, so the "Internal Server Error"
# record Django logs for the same exception is not stored a second time by the handler.
ERROR_RECORDED_ATTR = "_pgaudit_error_recorded"
# SystemEvent.EventType's values. Spelled out because this module must import without the app
# registry: LOGGING imports SystemEventHandler before Django loads the models.
EVENT_TYPES = ("ERROR", "WARNING", "INFO", "SECURITY", "PERFORMANCE", "MAINTENANCE")


def _event_type(value: Any) -> str:
    if not isinstance(value, str) or value.upper() not in EVENT_TYPES:
        raise ValueError(f"event_type must be one of {', '.join(EVENT_TYPES)}, got {value!r}.")
    return value.upper()


def _line_number(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"line_number must be an integer or None, got {value!r}.")
    return value if 0 <= value <= 2**31 - 1 else None


def _str_arg(name: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {type(value).__name__}.")
    return value


def log_system_event(
    event_type: str = "INFO",
    title: str = "",
    description: str = "",
    user: Any = None,
    request: HttpRequest | None = None,
    module: str = "",
    function_name: str = "",
    line_number: int | None = None,
    error_code: str = "",
    stack_trace: str = "",
    details: Any = None,
) -> SystemEvent | None:
    """Record a system event. ``event_type`` is one of ERROR, WARNING, INFO, SECURITY,
    PERFORMANCE, MAINTENANCE (``ValueError`` otherwise); ``title`` is required and truncated
    with "…" past 255 characters; ``user`` defaults to ``request.user``. ``details`` is optional
    JSON data. Returns the row, or ``None`` if ``pgaudit.SystemEvent`` is skipped by settings or
    the write failed (logged)."""
    from pgaudit_django.models import SystemEvent

    kind = _event_type(event_type)
    title_text = _str_arg("title", title)
    if not title_text.strip():
        raise ValueError("title must not be empty.")
    fields: dict[str, Any] = {
        "event_type": kind,
        "title": clean_text(title_text.strip(), TITLE_LIMIT),
        "description": clean_multiline(_str_arg("description", description), DESCRIPTION_LIMIT),
        "module": clean_text(_str_arg("module", module), NAME_LIMIT),
        "function_name": clean_text(_str_arg("function_name", function_name), NAME_LIMIT),
        "line_number": _line_number(line_number),
        "error_code": clean_text(_str_arg("error_code", error_code), ERROR_CODE_LIMIT),
        "stack_trace": clean_multiline(_str_arg("stack_trace", stack_trace), STACK_LIMIT),
        "details": json_value(details, "details"),
    }
    if model_skipped(SystemEvent):
        return None
    actor = acting_user(user, request)
    if request is not None:
        info = request_info(request)
        fields.update(ip_address=info.ip, user_agent=info.user_agent, path=info.path)

    def create() -> SystemEvent:
        with attributed(request, user=actor if actor is not None else UNSET):
            event: SystemEvent = SystemEvent.objects.create(
                user_id=actor.pk if actor is not None else None,
                username=username_of(actor),
                **fields,
            )
            return event

    return safe_write(f"{kind} system event", SystemEvent, create)


def mark_resolved(event: SystemEvent, user: Any = None, notes: str = "") -> None:
    """Set the resolution fields and save only those (an UPDATE of one row)."""
    if event.pk is None:
        raise ValueError("mark_resolved() needs a saved SystemEvent.")
    resolver = acting_user(user, None)
    event.resolved = True
    event.resolved_at = timezone.now()
    event.resolved_by_id = resolver.pk if resolver is not None else None
    event.resolved_by_username = username_of(resolver)
    event.resolution_notes = clean_multiline(_str_arg("notes", notes), NOTES_LIMIT)
    event.save(
        update_fields=[
            "resolved",
            "resolved_at",
            "resolved_by",
            "resolved_by_username",
            "resolution_notes",
        ]
    )


# --- automatic events -----------------------------------------------------------------------


def _innermost(tb: TracebackType | None) -> tuple[str, str, int | None]:
    """(module, function, line) where the exception was raised."""
    if tb is None:
        return "", "", None
    while tb.tb_next is not None:
        tb = tb.tb_next
    frame = tb.tb_frame
    return str(frame.f_globals.get("__name__", "")), frame.f_code.co_name, tb.tb_lineno


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def record_exception(request: HttpRequest, exc: BaseException) -> SystemEvent | None:
    """An ERROR event for an exception a view did not handle."""
    module, function, line = _innermost(exc.__traceback__)
    name = type(exc).__name__
    message = str(exc)
    event = log_system_event(
        event_type="ERROR",
        title=f"{name}: {_first_line(message)}" if message.strip() else name,
        description=message,
        request=request,
        module=module,
        function_name=function,
        line_number=line,
        error_code=name,
        stack_trace="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        details={"exception": f"{type(exc).__module__}.{type(exc).__qualname__}"},
    )
    if event is not None:
        with contextlib.suppress(AttributeError):
            setattr(request, ERROR_RECORDED_ATTR, True)
    return event


def record_slow_request(
    request: HttpRequest, response: HttpResponseBase | None, seconds: float, threshold: float
) -> SystemEvent | None:
    info = request_info(request)
    status = getattr(response, "status_code", None)
    return log_system_event(
        event_type="PERFORMANCE",
        title=f"Slow request: {info.method} {info.path} took {seconds:.2f} s",
        description=(
            f"{info.method} {info.path} took {seconds:.3f} s (threshold {threshold:g} s); "
            f"response status {status}."
        ),
        request=request,
        details={
            "duration_ms": round(seconds * 1000),
            "threshold_ms": round(threshold * 1000),
            "status": status,
            "method": info.method,
        },
    )


# --- logging ------------------------------------------------------------------------------

_emitting: ContextVar[bool] = ContextVar("pgaudit_django_emitting", default=False)
_FORMATTER = logging.Formatter()
_LEVEL_TYPES = ((logging.ERROR, "ERROR"), (logging.WARNING, "WARNING"))


def _type_for(levelno: int) -> str:
    for level, kind in _LEVEL_TYPES:
        if levelno >= level:
            return kind
    return "INFO"


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class SystemEventHandler(logging.Handler):
    """Store log records as ``SystemEvent`` rows (WARNING and above by default).

    Use it in ``LOGGING`` as ``{"class": "pgaudit_django.events.system.SystemEventHandler"}``.

    Records of ``pgaudit_django`` loggers, and every record logged while the handler is itself
    writing (for example ``django.db.backends`` debug output of its own INSERT), are ignored so
    the handler can never feed itself. Django's "Internal Server Error" record for an exception
    ``AuditMiddleware`` already stored is ignored too.
    """

    def __init__(self, level: int = logging.WARNING) -> None:
        super().__init__(level)

    def emit(self, record: logging.LogRecord) -> None:
        if _emitting.get() or record.name.startswith("pgaudit_django") or not apps.ready:
            return
        request = getattr(record, "request", None)
        if not isinstance(request, HttpRequest):
            frame = current()
            request = frame.request if frame is not None else None
        if request is not None and getattr(request, ERROR_RECORDED_ATTR, False):
            return
        try:
            message = record.getMessage()
            stack = ""
            if record.exc_info:
                stack = (self.formatter or _FORMATTER).formatException(record.exc_info)
            elif record.stack_info:
                stack = record.stack_info
            fields: dict[str, Any] = {
                "event_type": _type_for(record.levelno),
                "title": _first_line(message) or record.name,
                "description": message,
                "request": request,
                "module": record.module if record.name == "root" else record.name,
                "function_name": record.funcName or "",
                "line_number": record.lineno,
                "stack_trace": stack,
                "details": {"logger": record.name, "level": record.levelname},
            }
        except Exception:
            self.handleError(record)
            return
        if _in_event_loop():
            # The ORM refuses to run on an event loop thread: write from a helper thread that
            # sees the same context, and close the connection it opened.
            worker = threading.Thread(
                target=contextvars.copy_context().run, args=(self._write_closing, fields)
            )
            worker.start()
            worker.join()
        else:
            self._write(fields)

    def _write(self, fields: dict[str, Any]) -> None:
        token = _emitting.set(True)
        try:
            log_system_event(**fields)
        except Exception:
            # Not handleError: its traceback print would be noise on every failed write.
            pass
        finally:
            _emitting.reset(token)

    def _write_closing(self, fields: dict[str, Any]) -> None:
        try:
            self._write(fields)
        finally:
            connections.close_all()
