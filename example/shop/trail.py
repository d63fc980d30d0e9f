"""Collect the audit rows a piece of code produced and print them as a terminal table.

Rows come from ``AuditLog`` (trigger-captured changes and ORM-side events), ``LoginAttempt``,
``DataExport`` and ``SystemEvent``. Only public model fields are read, so this is also a small
example of querying the trail.
"""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from pgaudit_django.models import AuditLog, DataExport, LoginAttempt, SystemEvent

# Captured changes and ORM-side events share AuditLog; logins, exports and system events also
# have tables of their own. The tour shows all four as one timeline.
AUDIT_MODELS: tuple[type[models.Model], ...] = (AuditLog, LoginAttempt, DataExport, SystemEvent)
MASK_MARKER = getattr(settings, "AUDIT_MASK_MARKER", "[masked]")  # shown as is, without quotes


@dataclass(frozen=True)
class Row:
    time: str
    action: str
    target: str
    who: str
    via: str
    details: str


class Watermarks:
    """The highest primary key seen per audit table; ``new_rows()`` returns what came since."""

    def __init__(self) -> None:
        self.marks = {model: self._top(model) for model in AUDIT_MODELS}

    @staticmethod
    def _top(model: type[models.Model]) -> int:
        top = model._default_manager.order_by("-pk").values_list("pk", flat=True).first()
        return int(top or 0)

    def new_rows(self) -> list[Row]:
        found: list[tuple[Any, int, Row]] = []
        for model in AUDIT_MODELS:
            queryset = model._default_manager.filter(pk__gt=self.marks[model])
            for obj in queryset.select_related("context").order_by("pk"):
                self.marks[model] = max(self.marks[model], int(obj.pk))
                found.append((obj.timestamp, int(obj.pk), describe(obj)))
        # One timeline: rows of different tables interleave by time.
        found.sort(key=lambda item: (item[0], item[1]))
        return [row for _, _, row in found]


# ---------------------------------------------------------------------------------------------
# One audit object -> one table row


def _short(value: Any, limit: int = 40) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if isinstance(value, str) and value != MASK_MARKER:
        text = json.dumps(value, ensure_ascii=False)  # quotes make "" and " " visible
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summarize_changes(action: str, changes: Any) -> str:
    if not isinstance(changes, dict) or not changes:
        return ""
    parts = []
    for field, change in changes.items():
        if isinstance(change, dict) and set(change) == {"old", "new"}:
            if action == "UPDATE":
                parts.append(f"{field}: {_short(change['old'])} → {_short(change['new'])}")
            elif field != "id":  # CREATE/DELETE snapshots: the id is already in the object column
                side = change["new"] if action == "CREATE" else change["old"]
                parts.append(f"{field}={_short(side)}")
        else:
            parts.append(f"{field}={_short(change)}")
    return ", ".join(parts)


def _who(context: Any, user_label: str = "", user_id: Any = None) -> str:
    if user_label:
        return user_label
    if context is not None and context.user_label:
        return str(context.user_label)
    if user_id is not None:
        return f"user #{user_id}"
    if context is not None and context.source == "database":
        return f"role {context.db_role}"  # nobody the application knows: the database role
    return "-"


def _via(context: Any) -> str:
    """Where the write came from, in the words of ``AuditContext.source``."""
    if context is None:
        return ""
    source = context.source
    if source == "request":
        where = f"{context.method} {context.path}"
        return f"{where} from {context.ip_address}" if context.ip_address else where
    if source == "database":
        app = context.application_name or "no application_name"
        return f"other program: {app}"
    if source == "app":
        return "app code outside any context()"
    reason = f": {context.reason}" if context.reason else ""
    return f"{source}{reason}"


def _target(row: AuditLog) -> str:
    if row.content_type_id:
        ct = ContentType.objects.get_for_id(row.content_type_id)
        label = f"{ct.app_label}.{ct.model}"
    else:
        label = row.table_name or ""
    name = row.object_repr or (f"#{row.object_id}" if row.object_id else "")
    return f"{label} {name}".strip() or "-"


def describe(obj: Any) -> Row:
    when = timezone.localtime(obj.timestamp).strftime("%H:%M:%S")
    context = getattr(obj, "context", None)
    if isinstance(obj, AuditLog):
        return Row(
            when,
            obj.action,
            _target(obj),
            _who(context, user_id=obj.user_id),
            _via(context),
            summarize_changes(obj.action, obj.changes),
        )
    ip = getattr(obj, "ip_address", None)
    via = _via(context) or (f"from {ip}" if ip else "")
    username = obj.username or "-"
    if isinstance(obj, LoginAttempt):
        details = obj.failure_reason or f"user agent {_short(obj.user_agent, 30)}"
        return Row(when, f"login {obj.status}", "LoginAttempt", username, via, details)
    if isinstance(obj, DataExport):
        plural = "" if obj.record_count == 1 else "s"
        details = f"{obj.record_count} row{plural} as {obj.file_format}"
        if obj.file_size is not None:
            details += f", {obj.file_size} bytes"
        if obj.filters:
            details += f", filters {_short(obj.filters)}"
        return Row(when, "export", f"{obj.export_type} (DataExport)", username, via, details)
    assert isinstance(obj, SystemEvent)
    details = obj.description or (_short(obj.details, 80) if obj.details else "")
    return Row(when, obj.event_type, obj.title, username, via, details)


# ---------------------------------------------------------------------------------------------
# Rendering


class Table:
    """A text table sized to the terminal; long cells wrap onto a few lines, then end in "…"."""

    HEADERS = ("time", "action", "object", "by", "via", "what changed")
    # Width and the most lines a cell may wrap onto; "what changed" takes the remaining width.
    WIDTHS = (8, 14, 22, 14, 34)
    MAX_LINES = (1, 1, 2, 2, 2, 4)

    def __init__(self, out: Any = None, width: int | None = None) -> None:
        self.out = out or sys.stdout
        columns = width or shutil.get_terminal_size((160, 24)).columns
        self.width = max(120, columns)
        # Box-drawing characters only where they can be encoded. Django's OutputWrapper reports
        # no encoding of its own on some versions: ask the stream it wraps (or stdout).
        stream = getattr(self.out, "_out", self.out)
        encoding = (getattr(stream, "encoding", None) or sys.stdout.encoding or "").lower()
        self.unicode = encoding.startswith("utf")
        if not self.unicode and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")  # a non-ASCII name must not end the demo
        self.bar = "│" if self.unicode else "|"
        self.line = "─" if self.unicode else "-"
        self.ellipsis = "…" if self.unicode else "~"
        fixed = sum(self.WIDTHS) + 3 * len(self.WIDTHS)
        self.widths = (*self.WIDTHS, max(40, self.width - fixed))

    def _lines(self, text: str, width: int, max_lines: int) -> list[str]:
        text = " ".join(str(text).split())  # newlines and tabs inside values become spaces
        if not self.unicode:
            text = text.replace("→", "->").replace("…", "...")
        lines = textwrap.wrap(text, width, break_long_words=True) or [""]
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            lines[-1] = lines[-1][: width - 1] + self.ellipsis
        return lines

    def write(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def _emit(self, values: Sequence[str]) -> None:
        cells = [
            self._lines(v, w, n)
            for v, w, n in zip(values, self.widths, self.MAX_LINES, strict=True)
        ]
        for i in range(max(len(c) for c in cells)):
            parts = [
                (cell[i] if i < len(cell) else "").ljust(w)
                for cell, w in zip(cells, self.widths, strict=True)
            ]
            self.write(f" {self.bar} ".join(parts).rstrip())

    def header(self) -> None:
        self._emit(self.HEADERS)
        self.write(self.line * (sum(self.widths) + 3 * (len(self.widths) - 1)))

    def section(self, title: str) -> None:
        self.write(f"{self.line * 2} {title} ".ljust(min(self.width, 100), self.line))

    def rows(self, rows: Iterable[Row]) -> None:
        for row in rows:
            self._emit((row.time, row.action, row.target, row.who, row.via, row.details))

    def note(self, text: str) -> None:
        self.write(f"   {text}")
