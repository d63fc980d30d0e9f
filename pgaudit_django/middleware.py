"""Request middleware.

``AuditMiddleware`` puts the request in the audit context for the duration of the request; the
user and route are resolved at the moment of each write (see ``context/payload.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from pgaudit_django.attribution.state import Frame, pop, push
from pgaudit_django.request_info import describe

GetResponse = Callable[[HttpRequest], Any]


class AuditMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)

    def _frame(self, request: HttpRequest) -> Frame:
        info = describe(request)
        request.audit_request_id = info.request_id  # type: ignore[attr-defined]
        return Frame(source="request", request=request, request_info=info)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self._async:
            return self.__acall__(request)
        token = push(self._frame(request))
        try:
            return self.get_response(request)
        finally:
            pop(token)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        token = push(self._frame(request))
        try:
            return await self.get_response(request)  # type: ignore[misc]
        finally:
            pop(token)
