"""HTML for audit values: every value escaped, long ones folded, masked ones labelled.

The original library rendered changed values with ``mark_safe``: a customer named
``<script>…</script>`` ran script in every auditor's browser. Here all markup is built with
``format_html``/``format_html_join``, which escape each argument; nothing from the database is
ever marked safe.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from pgaudit_django import conf
from pgaudit_django.models import AuditLog

# Values longer than this (or spanning lines) are folded behind <details>.
FOLD_CHARS = 120
SUMMARY_VALUE_CHARS = 40


# AuditContext.source, in words (docs/architecture.md, "Context sources").
SOURCE_LABELS = {
    "request": _lazy("web request"),
    "context": _lazy("application, with context()"),
    "app": _lazy("application, no request"),
    "migration": _lazy("migration"),
    "disabled": _lazy("auditing disabled"),
    "database": _lazy("SQL session outside Django"),
    "invalid": _lazy("unreadable context"),
}


def source_label(source: str | None) -> str:
    return str(SOURCE_LABELS.get(source or "", source or ""))


def model_of(entry: AuditLog) -> type[models.Model] | None:
    """The audited model of a row (its content type comes with the row's query)."""
    content_type = entry.content_type if entry.content_type_id else None
    return content_type.model_class() if content_type is not None else None


def is_diff(changes: Any) -> bool:
    """True for the trigger format ``{field: {"old": …, "new": …}}``."""
    return (
        isinstance(changes, Mapping)
        and bool(changes)
        and all(isinstance(v, Mapping) and set(v) == {"old", "new"} for v in changes.values())
    )


def field_label(model: type[models.Model] | None, name: str) -> str:
    """The field's verbose name (keys are attnames: ``customer_id`` is the "customer" field)."""
    if model is None:
        return name
    opts = model._meta
    field: Any
    try:
        field = opts.get_field(name)
    except FieldDoesNotExist:
        field = next((f for f in opts.concrete_fields if f.attname == name), None)
    verbose = getattr(field, "verbose_name", None)
    return str(verbose) if verbose else name


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


def is_masked(value: Any) -> bool:
    return isinstance(value, str) and value == conf.get().mask_marker


def render_value(value: Any) -> SafeString:
    """One value as escaped HTML: null and masked values get a label, long ones a fold."""
    if value is None:
        return format_html('<span class="pgaudit-null">{}</span>', _("null"))
    if is_masked(value):
        return format_html(
            '<span class="pgaudit-masked" title="{}">{}</span>',
            _("The value was masked when it was captured; it is not stored."),
            _("masked"),
        )
    text = _text(value)
    if len(text) > FOLD_CHARS or "\n" in text:
        return format_html(
            '<details class="pgaudit-fold"><summary>{} <span class="pgaudit-size">({})</span>'
            "</summary><pre>{}</pre></details>",
            Truncator(text.replace("\n", " ")).chars(60),
            _("%(n)s characters") % {"n": len(text)},
            text,
        )
    tag = "code" if not isinstance(value, str) else "span"
    return format_html('<{} class="pgaudit-value">{}</{}>', tag, text, tag)


def _field_cell(model: type[models.Model] | None, name: str) -> SafeString:
    label = field_label(model, name)
    if label.lower() == name.lower():
        return format_html("{}", label)
    return format_html('{}<br><span class="pgaudit-field">{}</span>', label, name)


def _table(head: tuple[str, ...], rows: SafeString, css: str = "") -> SafeString:
    return format_html(
        '<table class="pgaudit-diff{}"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>',
        css,
        format_html_join("", '<th scope="col">{}</th>', ((h,) for h in head)),
        rows,
    )


def render_changes(entry: AuditLog) -> SafeString:
    """The entry's ``changes`` as HTML: a field/old/new table for updates, a field/value table
    for the snapshot of a created or deleted row, a key/value table for other events."""
    changes = entry.changes
    model = model_of(entry)
    if not changes:
        return format_html('<p class="pgaudit-empty">{}</p>', _("No field values recorded."))
    if is_diff(changes) and entry.action in ("CREATE", "DELETE"):
        side = "new" if entry.action == "CREATE" else "old"
        rows = format_html_join(
            "\n",
            '<tr><th scope="row">{}</th><td>{}</td></tr>',
            (
                (_field_cell(model, name), render_value(pair[side]))
                for name, pair in sorted(changes.items())
            ),
        )
        heading = _("Value when created") if side == "new" else _("Value when deleted")
        return _table((_("Field"), heading), rows, " pgaudit-snapshot")
    if is_diff(changes):
        rows = format_html_join(
            "\n",
            '<tr class="pgaudit-changed"><th scope="row">{}</th><td>{}</td><td>{}</td></tr>',
            (
                (_field_cell(model, name), render_value(pair["old"]), render_value(pair["new"]))
                for name, pair in sorted(changes.items())
            ),
        )
        return _table((_("Field"), _("Old value"), _("New value")), rows)
    if isinstance(changes, Mapping):
        rows = format_html_join(
            "\n",
            '<tr><th scope="row">{}</th><td>{}</td></tr>',
            ((key, render_value(value)) for key, value in sorted(changes.items())),
        )
        return _table((_("Key"), _("Value")), rows, " pgaudit-event")
    return render_value(changes)


def _short(value: Any) -> str:
    if value is None:
        return "∅"
    if is_masked(value):
        return _("masked")
    return Truncator(_text(value).replace("\n", " ")).chars(SUMMARY_VALUE_CHARS)


def summarize(entry: AuditLog) -> str:
    """A one-line, plain-text summary for the list (the admin escapes it)."""
    changes = entry.changes
    if entry.action == "CREATE":
        return _("created")
    if entry.action == "DELETE":
        return _("deleted")
    if entry.action == "TRUNCATE":
        return _("table truncated")
    if is_diff(changes):
        assert isinstance(changes, Mapping)
        model = model_of(entry)
        names = sorted(changes)
        if len(names) <= 2:
            return "; ".join(
                f"{field_label(model, n)}: {_short(changes[n]['old'])} → "
                f"{_short(changes[n]['new'])}"
                for n in names
            )
        shown = ", ".join(field_label(model, n) for n in names[:3])
        more = len(names) - 3
        return shown + (_(" and %(n)s more") % {"n": more} if more > 0 else "")
    if isinstance(changes, Mapping) and changes:
        return Truncator(", ".join(f"{k}: {_short(v)}" for k, v in sorted(changes.items()))).chars(
            80
        )
    return ""
