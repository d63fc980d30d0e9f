"""SECURITY events for ``SecurityAuditMiddleware``: one per rule per request, throttled."""

from __future__ import annotations

from django.http import HttpRequest

from pgaudit_django.events.system import log_system_event
from pgaudit_django.events.writing import request_info
from pgaudit_django.models import SystemEvent
from pgaudit_django.security.rules import SEVERITIES, Finding
from pgaudit_django.security.throttle import Throttle

UNKNOWN_CLIENT = "unknown"


def _by_rule(findings: list[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for finding in findings:
        grouped.setdefault(finding.rule, []).append(finding)
    return grouped


def record_findings(
    request: HttpRequest, findings: list[Finding], throttle: Throttle, *, blocked: bool = False
) -> list[SystemEvent]:
    """Write the findings the throttle lets through; returns the rows written."""
    info = request_info(request)
    client = info.ip or UNKNOWN_CLIENT
    written = []
    for rule, hits in _by_rule(findings).items():
        allowed, suppressed = throttle.allow((client, rule))
        if not allowed:
            continue
        severity = max((hit.severity for hit in hits), key=SEVERITIES.index)
        targets = [hit.target for hit in hits]
        event = log_system_event(
            event_type="SECURITY",
            title=f"Suspicious request: {rule} ({severity}) in {', '.join(targets)}",
            description="\n".join(f"{hit.target}: {hit.excerpt}" for hit in hits),
            request=request,
            error_code=rule,
            details={
                "rule": rule,
                "severity": severity,
                "targets": targets,
                "excerpts": {hit.target: hit.excerpt for hit in hits},
                "method": info.method,
                "suppressed": suppressed,
                "blocked": blocked,
            },
        )
        if event is not None:
            written.append(event)
    return written
