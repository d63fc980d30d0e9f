"""``disabled()``: a deliberate, documented way to write without capture — never a silent one.

Entering it writes an ``AUDIT_DISABLED`` row (who, when, where in the code, why) through the
ORM before anything is skipped; the triggers then skip the transaction's captures because the
context they receive says ``"disabled": true``.
"""

from __future__ import annotations

import inspect
from typing import Any

from django.db import DEFAULT_DB_ALIAS

from pgaudit_django.attribution.state import UNSET, context


class disabled(context):
    _source = "disabled"

    def __init__(self, reason: str | None = None, *, using: str = DEFAULT_DB_ALIAS) -> None:
        super().__init__(user=UNSET, reason=reason)
        self._using = using

    def __enter__(self) -> disabled:
        _record(self._using, self._frame.reason, stack_depth=2)
        super().__enter__()
        return self

    def __call__(self, func: Any) -> Any:
        wrapped = super().__call__(func)
        using, reason = self._using, self._frame.reason
        where = f"{func.__module__}.{func.__qualname__}"
        if inspect.iscoroutinefunction(func):

            async def async_recorded(*args: Any, **kwargs: Any) -> Any:
                from asgiref.sync import sync_to_async

                await sync_to_async(_record)(using, reason, where=where)
                return await wrapped(*args, **kwargs)

            return async_recorded

        def recorded(*args: Any, **kwargs: Any) -> Any:
            _record(using, reason, where=where)
            return wrapped(*args, **kwargs)

        return recorded


def _record(using: str, reason: str | None, stack_depth: int = 2, where: str | None = None) -> None:
    from pgaudit_django.models import AuditLog

    if where is None:
        frame = inspect.stack(context=0)[stack_depth]
        where = f"{frame.filename}:{frame.lineno} in {frame.function}"
    AuditLog.objects.using(using).create(
        action="AUDIT_DISABLED",
        changes={"reason": reason or "", "where": where},
        module=where[:255],
    )
