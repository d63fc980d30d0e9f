"""Request middleware.

``AuditMiddleware`` puts the request in the audit context for the duration of the request; the
user and route are resolved at the moment of each write (see ``context/payload.py``). It also
records unhandled exceptions (``ERROR``) and slow requests (``PERFORMANCE``) as system events.

``SecurityAuditMiddleware`` records requests that look like attack probes (``SECURITY``), with a
throttle so a scan costs a few rows, and can refuse them (``AUDIT_SECURITY_BLOCK``).

The audit path never turns a request into a 500: its failures are logged and swallowed, and its
writes run in savepoints (see ``events/writing.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden

from pgaudit_django import conf
from pgaudit_django.attribution.state import Frame, pop, push
from pgaudit_django.request_info import describe
from pgaudit_django.security.rules import SEVERITIES, Finding, inspect, load_rules
from pgaudit_django.security.throttle import Throttle

GetResponse = Callable[[HttpRequest], Any]

logger = logging.getLogger("pgaudit_django.middleware")

# Client errors, not server errors: Django answers them with 4xx responses.
NOT_ERRORS = (Http404, PermissionDenied, BadRequest, SuspiciousOperation)


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
            started = time.monotonic()
            response: HttpResponse = self.get_response(request)
            elapsed = time.monotonic() - started
            if self._is_slow(elapsed):
                self._record_slow(request, response, elapsed)
            return response
        finally:
            pop(token)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        token = push(self._frame(request))
        try:
            started = time.monotonic()
            response = await self.get_response(request)
            elapsed = time.monotonic() - started
            if self._is_slow(elapsed):
                await sync_to_async(self._record_slow)(request, response, elapsed)
            return response  # type: ignore[no-any-return]
        finally:
            pop(token)

    # --- automatic system events ------------------------------------------------------------

    @staticmethod
    def _threshold() -> float | None:
        try:
            return conf.get().slow_request_seconds
        except Exception:  # a settings error is reported by the system checks, not per request
            return None

    def _is_slow(self, seconds: float) -> bool:
        threshold = self._threshold()
        return threshold is not None and seconds >= threshold

    def _record_slow(self, request: HttpRequest, response: Any, seconds: float) -> None:
        from pgaudit_django.events.system import record_slow_request

        try:
            record_slow_request(request, response, seconds, self._threshold() or 0.0)
        except Exception:
            logger.exception("pgaudit_django: could not record a slow request.")

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        """Record an unhandled view exception as an ERROR event; Django's handling goes on."""
        if isinstance(exception, NOT_ERRORS):
            return None
        from pgaudit_django.events.system import record_exception

        try:
            record_exception(request, exception)
        except Exception:
            logger.exception("pgaudit_django: could not record an exception.")
        return None


class SecurityAuditMiddleware:
    """Record (and optionally refuse) requests matching ``pgaudit_django.security`` rules.

    Place it after ``AuthenticationMiddleware`` and ``AuditMiddleware``, so events carry the
    user and share the request's context. One ``SECURITY`` event per rule and request, at most
    one per client and rule per ``AUDIT_SECURITY_THROTTLE`` seconds; the written event reports
    how many hits were suppressed before it (``details["suppressed"]``). With
    ``AUDIT_SECURITY_BLOCK = True`` a request with a finding of at least
    ``AUDIT_SECURITY_BLOCK_SEVERITY`` gets a 403 without reaching the view.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self._async = iscoroutinefunction(get_response)
        if self._async:
            markcoroutinefunction(self)
        # Configuration errors surface at startup, not on the first probe.
        load_rules()
        conf.events()
        self.throttle = Throttle.from_settings()

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if self._async:
            return self.__acall__(request)
        findings = self._inspect(request)
        if findings:
            blocked = self._should_block(findings)
            self._record(request, findings, blocked)
            if blocked:
                return HttpResponseForbidden("Forbidden")
        return self.get_response(request)  # type: ignore[no-any-return]

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        findings = self._inspect(request)
        if findings:
            blocked = self._should_block(findings)
            await sync_to_async(self._record)(request, findings, blocked)
            if blocked:
                return HttpResponseForbidden("Forbidden")
        return await self.get_response(request)  # type: ignore[no-any-return]

    @staticmethod
    def _inspect(request: HttpRequest) -> list[Finding]:
        try:
            return inspect(request)
        except Exception:
            logger.exception("pgaudit_django: security inspection failed.")
            return []

    @staticmethod
    def _should_block(findings: list[Finding]) -> bool:
        try:
            settings = conf.events()
        except Exception:
            return False
        if not settings.security_block:
            return False
        floor = SEVERITIES.index(settings.security_block_severity)
        return any(SEVERITIES.index(finding.severity) >= floor for finding in findings)

    def _record(self, request: HttpRequest, findings: list[Finding], blocked: bool) -> None:
        from pgaudit_django.events.security import record_findings

        try:
            record_findings(request, findings, self.throttle, blocked=blocked)
        except Exception:
            logger.exception("pgaudit_django: could not record a security finding.")
