"""Cleaning and validating what callers and clients hand to the event writers.

The rule: a caller's mistake (wrong type, an action name that cannot be stored) is a clear
``TypeError``/``ValueError`` raised before anything touches the database; text that may come
from a client (titles, user agents, usernames, filter values) is cleaned and truncated with a
visible marker instead, so a hostile or oversized value yields a safe record, never a failure.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from pgaudit_django.request_info import ELLIPSIS, clean_text

ACTION_MAX = 32  # AuditLog.action is varchar(32)
MAX_JSON_BYTES = 64 * 1024
TRUNCATED_MARKER = "\n… [truncated]"

# Like request_info.clean_text, but keeps TAB, LF and CR: descriptions and stack traces are
# multi-line. NUL cannot be stored in PostgreSQL text at all.
_MULTILINE_CONTROLS = dict.fromkeys([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_SURROGATES = re.compile("[\ud800-\udfff]")

__all__ = ["ELLIPSIS", "clean_text", "clean_multiline", "json_value", "validate_action"]


def clean_multiline(value: object, limit: int) -> str:
    """Printable multi-line text of at most ``limit`` characters, keeping head and tail.

    The end of a stack trace or log message is usually the informative part, so an
    oversized value keeps its first and last parts around a truncation marker.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        keep = max(0, limit - len(TRUNCATED_MARKER))
        head = keep // 4
        text = text[:head] + TRUNCATED_MARKER + text[len(text) - (keep - head) :]
    return _SURROGATES.sub("\ufffd", text.translate(_MULTILINE_CONTROLS))


def validate_action(action: object) -> str:
    if not isinstance(action, str):
        raise TypeError(f"action must be a string, got {type(action).__name__}.")
    cleaned = action.strip()
    if not cleaned:
        raise ValueError("action must not be empty.")
    if len(cleaned) > ACTION_MAX:
        raise ValueError(
            f"action {cleaned[:40]!r}... is {len(cleaned)} characters; the limit is {ACTION_MAX}."
        )
    if cleaned != clean_text(cleaned, ACTION_MAX):
        raise ValueError(f"action {cleaned!r} contains control characters.")
    return cleaned


def _strip_nul(value: Any) -> Any:
    # jsonb rejects \u0000; a client-supplied filter value must not make the insert fail.
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_strip_nul(item) for item in value]
    if isinstance(value, dict):
        return {_strip_nul(key): _strip_nul(item) for key, item in value.items()}
    return value


def json_value(value: Any, what: str) -> Any:
    """``value`` as plain JSON data (dates, decimals and UUIDs become strings), or a clear error.

    Converting here, rather than letting ``JSONField`` fail inside the INSERT, gives the caller
    the error at the call site and keeps a failed audit write out of their transaction.
    """
    if value is None:
        return None
    try:
        encoded = json.dumps(value, cls=DjangoJSONEncoder, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be JSON-serialisable: {exc}.") from exc
    if len(encoded.encode("utf-8", "surrogatepass")) > MAX_JSON_BYTES:
        raise ValueError(f"{what} is larger than {MAX_JSON_BYTES} bytes as JSON.")
    # Lone surrogates cannot be encoded as UTF-8 by the driver: replace them.
    return _strip_nul(json.loads(_SURROGATES.sub("\ufffd", encoded)))
