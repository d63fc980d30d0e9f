"""The acting context, kept in a ``ContextVar``.

A ``ContextVar`` (not a thread-local) gives each asyncio task and each thread its own value and
is restored exactly when a ``with`` block or a request ends, so nothing leaks into later work on
the same thread, connection or event loop.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.http import HttpRequest

F = TypeVar("F", bound=Callable[..., Any])

MAX_METADATA_BYTES = 8192
MAX_REASON_CHARS = 512


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class Frame:
    """One level of context; nested frames are merged into a new Frame (inner wins)."""

    source: str = "context"
    user: Any = UNSET  # a user instance, a pk, or None (explicitly nobody); UNSET: not given
    request: HttpRequest | None = None
    request_info: Any = None  # pgaudit_django.request_info.RequestInfo
    reason: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    disabled: bool = False
    # Serialized payloads by resolved user pk; a frame's payload only varies with the user.
    cache: dict[Any, str] = field(default_factory=dict, compare=False, repr=False)

    def merged(self, inner: Frame) -> Frame:
        return Frame(
            source=inner.source
            if inner.source != "context" or self.source == "context"
            else self.source,
            user=inner.user if inner.user is not UNSET else self.user,
            request=inner.request or self.request,
            request_info=inner.request_info or self.request_info,
            reason=inner.reason if inner.reason is not None else self.reason,
            metadata={**self.metadata, **inner.metadata},
            disabled=inner.disabled or self.disabled,
        )


_current: ContextVar[Frame | None] = ContextVar("pgaudit_django_context", default=None)


def current() -> Frame | None:
    return _current.get()


def push(frame: Frame) -> Token[Frame | None]:
    outer = _current.get()
    return _current.set(outer.merged(frame) if outer is not None else frame)


def pop(token: Token[Frame | None]) -> None:
    _current.reset(token)


def validate_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Reject what cannot be stored, here and now, with a message naming the culprit."""
    for key in metadata:
        if not isinstance(key, str):
            raise TypeError(
                f"pgaudit_django.context(): metadata keys must be strings, got {key!r}."
            )
    try:
        encoded = json.dumps(dict(metadata), allow_nan=False, ensure_ascii=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"pgaudit_django.context(): metadata must be JSON-serialisable ({exc})."
        ) from exc
    if "\\u0000" in encoded:
        raise ValueError("pgaudit_django.context(): metadata cannot contain NUL characters.")
    if len(encoded) > MAX_METADATA_BYTES:
        raise ValueError(
            f"pgaudit_django.context(): metadata is {len(encoded)} bytes as JSON; "
            f"the limit is {MAX_METADATA_BYTES}."
        )
    return dict(metadata)


class context:
    """Attribute the writes made inside it: ``with context(user=u, reason="import", ticket="X")``.

    Also a decorator (sync or async). Nested contexts add to the outer one; inner values win.
    """

    _source = "context"

    def __init__(self, user: Any = UNSET, reason: str | None = None, **metadata: Any) -> None:
        if reason is not None and not isinstance(reason, str):
            raise TypeError(f"pgaudit_django.context(reason=...) must be a string, got {reason!r}.")
        if reason is not None and len(reason) > MAX_REASON_CHARS:
            raise ValueError(
                f"pgaudit_django.context(reason=...) is limited to {MAX_REASON_CHARS} characters."
            )
        self._frame = Frame(
            source=self._source,
            user=user,
            reason=reason,
            metadata=validate_metadata(metadata),
            disabled=self._source == "disabled",
        )
        self._tokens: list[Token[Frame | None]] = []

    def __enter__(self) -> context:
        self._tokens.append(push(self._frame))
        return self

    def __exit__(self, *exc: object) -> None:
        pop(self._tokens.pop())

    def __call__(self, func: F) -> F:
        frame = self._frame
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                token = push(frame)
                try:
                    return await func(*args, **kwargs)
                finally:
                    pop(token)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = push(frame)
            try:
                return func(*args, **kwargs)
            finally:
                pop(token)

        return wrapper  # type: ignore[return-value]
