"""SecurityAuditMiddleware: findings become throttled SECURITY events; optional blocking."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import override_settings

from pgaudit_django.middleware import SecurityAuditMiddleware
from pgaudit_django.models import SystemEvent
from tests.events.conftest import CLIENT_IP, EVENTS_URLS, SECURITY_MIDDLEWARE, run_async
from tests.testapp.models import Customer

secured = override_settings(ROOT_URLCONF=EVENTS_URLS, MIDDLEWARE=SECURITY_MIDDLEWARE)
SQLMAP = "sqlmap/1.8.2#stable (https://sqlmap.org)"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def security_events() -> list[SystemEvent]:
    return list(SystemEvent.objects.filter(event_type="SECURITY").order_by("id"))


@secured
@pytest.mark.django_db
@pytest.mark.parametrize(
    "path, meta, rule",
    [
        ("/ok/?q=1%27%20OR%20%271%27%3D%271", {}, "sql_injection"),
        ("/ok/?next=%253Cscript%253Ealert(1)%253C/script%253E", {}, "xss"),
        ("/ok/?file=../../etc/passwd", {}, "path_traversal"),
        ("/.env", {}, "secret_file"),
        ("/.git/config", {}, "secret_file"),
        ("/wp-admin/setup.php", {}, "secret_file"),
        ("/ok/", {"HTTP_USER_AGENT": SQLMAP}, "scanner_user_agent"),
        ("/ok/", {"HTTP_USER_AGENT": "Nikto/2.5.0"}, "scanner_user_agent"),
        ("/ok/", {"HTTP_USER_AGENT": "curl/8.5.0"}, "cli_user_agent"),
        (
            "/ok/",
            {"HTTP_REFERER": "https://x.test/?id=1 UNION SELECT password FROM users"},
            "sql_injection",
        ),
    ],
)
def test_probes_become_security_events(
    client: Any, path: str, meta: dict[str, Any], rule: str
) -> None:
    client.get(path, REMOTE_ADDR=CLIENT_IP, **meta)
    (event,) = security_events()
    assert event.error_code == rule and event.details["rule"] == rule
    assert event.ip_address == CLIENT_IP
    assert event.path == path.split("?")[0]
    assert event.details["suppressed"] == 0 and event.details["blocked"] is False
    assert event.context is not None  # linked to the request's audit context


@secured
@pytest.mark.django_db
@pytest.mark.parametrize(
    "path, agent",
    [
        ("/admin/", CHROME),
        ("/admin/auth/user/?q=select&o=1.-2", CHROME),
        ("/admin/login/?next=/admin/", CHROME),
        ("/ok/?q=union+station+select+menu", CHROME),
        ("/ok/", GOOGLEBOT),
        ("/ok/", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"),
        ("/ok/?posts=javascript-tips&page=2", CHROME),
    ],
)
def test_normal_traffic_is_not_flagged(admin_client: Any, path: str, agent: str) -> None:
    response = admin_client.get(path, HTTP_USER_AGENT=agent)
    assert response.status_code in (200, 302)
    assert security_events() == []


@secured
@override_settings(AUDIT_SECURITY_THROTTLE=0.3)
@pytest.mark.django_db
def test_a_scan_is_throttled_per_client_and_rule(client: Any) -> None:
    for _ in range(25):
        client.get("/ok/", HTTP_USER_AGENT=SQLMAP, REMOTE_ADDR="192.0.2.10")
    client.get("/ok/", HTTP_USER_AGENT=SQLMAP, REMOTE_ADDR="192.0.2.11")
    assert [(e.ip_address, e.details["suppressed"]) for e in security_events()] == [
        ("192.0.2.10", 0),
        ("192.0.2.11", 0),
    ]
    time.sleep(0.35)
    client.get("/ok/", HTTP_USER_AGENT=SQLMAP, REMOTE_ADDR="192.0.2.10")
    assert security_events()[-1].details["suppressed"] == 24  # reported by the next row


@secured
@pytest.mark.django_db
def test_one_event_per_rule_per_request(client: Any) -> None:
    client.get(
        "/ok/?a=%27%20or%201%3D1--&b=<script>x</script>",
        HTTP_USER_AGENT="sqlmap/1.0 ' or 1=1 --",
        REMOTE_ADDR=CLIENT_IP,
    )
    events = {e.details["rule"]: e for e in security_events()}
    assert set(events) == {"sql_injection", "xss", "scanner_user_agent"}
    assert events["sql_injection"].details["targets"] == ["query", "user_agent"]
    assert events["sql_injection"].details["severity"] == "high"


@secured
@pytest.mark.django_db
def test_not_blocked_by_default(client: Any) -> None:
    response = client.get("/create/?name=x%27%20or%201%3D1--")
    assert response.status_code == 200 and Customer.objects.count() == 1


@secured
@override_settings(AUDIT_SECURITY_BLOCK=True)
@pytest.mark.django_db
def test_blocking_refuses_before_the_view_runs(client: Any) -> None:
    response = client.get("/create/?name=x%27%20or%201%3D1--")
    assert response.status_code == 403
    assert Customer.objects.count() == 0
    assert security_events()[0].details["blocked"] is True
    # Low-severity findings (curl) are recorded but not blocked at the default "medium".
    assert client.get("/create/", HTTP_USER_AGENT="curl/8.0").status_code == 200
    assert security_events()[-1].details == {**security_events()[-1].details, "blocked": False}
    with override_settings(AUDIT_SECURITY_BLOCK_SEVERITY="low"):
        assert client.get("/create/", HTTP_USER_AGENT="curl/8.0").status_code == 403


@secured
@pytest.mark.django_db
def test_hostile_headers_give_a_safe_record(client: Any) -> None:
    response = client.get("/ok/", HTTP_USER_AGENT="sqlmap " + "\x00\x1b[31m" + "A" * 20_000)
    assert response.status_code == 200
    (event,) = security_events()
    assert len(event.user_agent) == 512 and "\x00" not in event.user_agent
    assert len(event.details["excerpts"]["user_agent"]) <= 200


@secured
def test_a_failing_audit_insert_never_breaks_the_request(
    client: Any, failing_inserts: Any, caplog: Any
) -> None:
    failing_inserts("pgaudit_systemevent", "true")
    response = client.get("/create/?name=%27%20or%201%3D1--")
    assert response.status_code == 200 and Customer.objects.count() == 1
    assert "could not record SECURITY system event" in caplog.text


@override_settings(
    AUDIT_SECURITY_RULES=[{"name": "bad", "pattern": "(", "targets": ["path"], "severity": "high"}]
)
def test_bad_rules_fail_at_startup() -> None:
    with pytest.raises(ImproperlyConfigured, match="invalid regular expression"):
        SecurityAuditMiddleware(lambda request: HttpResponse())


@override_settings(
    AUDIT_SECURITY_RULES=[
        {
            "name": "internal_probe",
            "pattern": r"/internal/",
            "targets": ["path"],
            "severity": "high",
        }
    ],
    AUDIT_SECURITY_DISABLED_RULES=["cli_user_agent"],
)
@secured
@pytest.mark.django_db
def test_rules_are_configurable(client: Any) -> None:
    client.get("/internal/x", HTTP_USER_AGENT="curl/8.0")
    assert [e.details["rule"] for e in security_events()] == ["internal_probe"]


@secured
@override_settings(AUDIT_SECURITY_BLOCK=True)
@pytest.mark.django_db(transaction=True)
def test_async_requests(async_client: Any) -> None:
    ok = run_async(async_client.get("/ok-async/", headers={"user-agent": CHROME}))
    probe = run_async(async_client.get("/ok-async/", headers={"user-agent": SQLMAP}))
    assert (ok.status_code, probe.status_code) == (200, 403)
    (event,) = security_events()
    assert event.details["rule"] == "scanner_user_agent" and event.details["blocked"] is True
