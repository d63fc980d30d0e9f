"""Unit tests for request_info: hostile headers in, bounded metadata out. No database."""

import re

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.test import RequestFactory, override_settings
from django.urls import ResolverMatch

from pgaudit_django import request_info
from pgaudit_django.request_info import (
    RequestInfo,
    clean_text,
    client_ip,
    describe,
    method,
    path,
    request_id,
    route,
    session_hash,
    user_agent,
)

rf = RequestFactory()
HEX32 = re.compile(r"[0-9a-f]{32}")


def _req(remote: str = "203.0.113.9", xff: str | None = None, **meta: str) -> HttpRequest:
    request = rf.get("/x/")
    request.META.update(REMOTE_ADDR=remote, **meta)
    if xff is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = xff
    return request


# --- client_ip ---------------------------------------------------------------------------


def test_remote_addr_by_default() -> None:
    assert client_ip(_req()) == "203.0.113.9"


def test_forged_xff_ignored_without_trusted_proxies() -> None:
    assert client_ip(_req(xff="1.2.3.4")) == "203.0.113.9"


@override_settings(AUDIT_TRUSTED_PROXY_COUNT=1)
def test_one_proxy_takes_rightmost_entry() -> None:
    # The client forged "6.6.6.6"; our single proxy appended the real peer.
    assert client_ip(_req("10.0.0.2", "6.6.6.6, 198.51.100.7")) == "198.51.100.7"


@override_settings(AUDIT_TRUSTED_PROXY_COUNT=2)
def test_two_proxies_take_second_from_right() -> None:
    assert client_ip(_req("10.0.0.3", "6.6.6.6, 198.51.100.7, 10.0.0.2")) == "198.51.100.7"


@override_settings(AUDIT_TRUSTED_PROXY_COUNT=2)
def test_chain_shorter_than_proxy_count_uses_peer() -> None:
    assert client_ip(_req("10.0.0.3", "198.51.100.7")) == "10.0.0.3"


@override_settings(AUDIT_TRUSTED_PROXY_COUNT=1)
def test_no_header_with_proxy_count_uses_peer() -> None:
    assert client_ip(_req("10.0.0.2")) == "10.0.0.2"


@override_settings(AUDIT_TRUSTED_PROXY_COUNT=1, AUDIT_TRUSTED_PROXIES=["10.0.0.0/8", "192.0.2.1"])
def test_trusted_proxy_list_gates_header() -> None:
    assert client_ip(_req("10.1.2.3", "198.51.100.7")) == "198.51.100.7"
    assert client_ip(_req("192.0.2.1", "198.51.100.7")) == "198.51.100.7"
    # Direct hit from outside the proxy list: the header is the client's own claim.
    assert client_ip(_req("203.0.113.9", "198.51.100.7")) == "203.0.113.9"


@override_settings(AUDIT_TRUSTED_PROXY_COUNT=1, AUDIT_TRUSTED_PROXIES=["10.0.0.0/8"])
def test_trusted_proxy_list_matches_mapped_peer() -> None:
    assert client_ip(_req("::ffff:10.0.0.5", "198.51.100.7")) == "198.51.100.7"


@pytest.mark.parametrize(
    "xff",
    [
        "unknown",
        "garbage",
        "not an ip at all",
        "1.2.3.4\x00",
        "\x00",
        "1" * 5000,
        "1.2.3.4" + " " * 100 + "5",
        "fe80::1%eth0",
        "1.2.3.256",
        "01.2.3.4",
        "1.2.3.4:99999",
        "[::1",
        "",
        "1.2.3.4,",
        "\u0661.\u0662.\u0663.\u0664",  # Arabic-Indic digits
        "<script>alert(1)</script>",
    ],
)
@override_settings(AUDIT_TRUSTED_PROXY_COUNT=1)
def test_malformed_forwarded_value_is_unknown(xff: str) -> None:
    expected = "10.0.0.2" if not xff.strip() else None  # blank header = no header
    assert client_ip(_req("10.0.0.2", xff)) == expected


@override_settings(AUDIT_TRUSTED_PROXY_COUNT=1)
def test_huge_forged_prefix_does_not_hide_real_client() -> None:
    xff = "6.6.6.6, " * 500_000 + "198.51.100.7"
    assert client_ip(_req("10.0.0.2", xff)) == "198.51.100.7"


@pytest.mark.parametrize("remote", ["", "unknown", "fe80::1%lo", "\x00", "x" * 1000])
def test_malformed_remote_addr_is_unknown(remote: str) -> None:
    assert client_ip(_req(remote)) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("::ffff:192.0.2.5", "192.0.2.5"),
        ("::FFFF:c000:0205", "192.0.2.5"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("198.51.100.7:8080", "198.51.100.7"),
        (" 198.51.100.7 ", "198.51.100.7"),
    ],
)
@override_settings(AUDIT_TRUSTED_PROXY_COUNT=1)
def test_ipv6_and_mapped_ipv4_are_canonical(raw: str, expected: str) -> None:
    assert client_ip(_req("10.0.0.2", raw)) == expected


def test_ipv6_remote_addr() -> None:
    assert client_ip(_req("2001:0db8::0001")) == "2001:db8::1"


@pytest.mark.parametrize(
    "overrides",
    [
        {"AUDIT_TRUSTED_PROXY_COUNT": -1},
        {"AUDIT_TRUSTED_PROXY_COUNT": "1"},
        {"AUDIT_TRUSTED_PROXY_COUNT": 1, "AUDIT_TRUSTED_PROXIES": "10.0.0.0/8"},
        {"AUDIT_TRUSTED_PROXY_COUNT": 1, "AUDIT_TRUSTED_PROXIES": ["10.0.0.0/33"]},
    ],
)
def test_bad_proxy_settings_raise(overrides: dict[str, object]) -> None:
    with override_settings(**overrides), pytest.raises(ImproperlyConfigured):
        client_ip(_req("10.0.0.2", "198.51.100.7"))


# --- clean_text / user_agent ---------------------------------------------------------------


def test_clean_text_short_value_unchanged() -> None:
    assert clean_text("Mozilla/5.0\tok", 512) == "Mozilla/5.0\tok"


def test_clean_text_removes_controls_and_nul() -> None:
    assert clean_text("a\x00b\nc\rd\x1be\x7ff\tg", 100) == "abcdef\tg"


def test_clean_text_bytes_and_surrogates() -> None:
    assert clean_text(b"ok\xff\xfe\x00!", 100) == "ok\ufffd\ufffd!"
    assert clean_text("x\ud800y", 100) == "x\ufffdy"
    assert clean_text("é".encode(), 10) == "é"


def test_clean_text_truncates_with_marker() -> None:
    out = clean_text("a" * 1000, 10)
    assert out == "a" * 9 + "…"
    assert len(out) == 10
    assert clean_text("a" * 10, 10) == "a" * 10


def test_clean_text_non_string_and_edge_limits() -> None:
    assert clean_text(None, 10) == ""
    assert clean_text(12345, 10) == "12345"
    assert clean_text("abc", 0) == ""


def test_clean_text_mostly_controls_still_bounded() -> None:
    out = clean_text("\x00" * 5_000_000 + "tail", 512)
    assert len(out) <= 512


def test_ten_megabyte_user_agent_is_bounded() -> None:
    request = _req(HTTP_USER_AGENT="A\x00" * 5_000_000)
    out = user_agent(request)
    assert len(out) == request_info.USER_AGENT_LIMIT
    assert out.endswith("…")
    assert "\x00" not in out


def test_ten_megabyte_bytes_value_is_bounded() -> None:
    out = clean_text(b"\xff" * 10_000_000, 512)
    assert len(out) == 512


def test_missing_user_agent_is_empty() -> None:
    assert user_agent(_req()) == ""


# --- request_id ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "0b5e1b2a-4e1f-4c3a-9d2e-7f6a5b4c3d2e",
        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "1-5759e988-bd862e3fe1be46a994272793",  # AWS X-Amzn-Trace-Id root
        "a",
        "x" * 64,
    ],
)
def test_well_formed_request_id_accepted(value: str) -> None:
    assert request_id(_req(HTTP_X_REQUEST_ID=value)) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "x" * 65,
        "Root=1-5759e988",
        "has space",
        "semi;colon",
        "new\nline",
        "abc\x00",
        "<script>",
        "ünïcode",
    ],
)
def test_malformed_request_id_replaced(value: str) -> None:
    out = request_id(_req(HTTP_X_REQUEST_ID=value))
    assert out != value
    assert HEX32.fullmatch(out)


def test_missing_request_id_generated_and_unique() -> None:
    first, second = request_id(_req()), request_id(_req())
    assert HEX32.fullmatch(first)
    assert first != second


@pytest.mark.parametrize(
    "header", ["X-Correlation-ID", "HTTP_X_CORRELATION_ID", "x_correlation_id"]
)
def test_request_id_header_name_normalised(header: str) -> None:
    request = _req(HTTP_X_CORRELATION_ID="abc-123")
    with override_settings(AUDIT_REQUEST_ID_HEADER=header):
        assert request_id(request) == "abc-123"
    assert request_id(request, header=header) == "abc-123"


# --- session_hash ----------------------------------------------------------------------------


def test_session_hash_is_stable_and_not_the_key() -> None:
    key = "k" * 32
    request = _req()
    request.session = SessionStore(session_key=key)
    first = session_hash(request)
    assert first is not None
    assert HEX32.fullmatch(first)
    assert key not in first
    assert session_hash(request) == first
    other = _req()
    other.session = SessionStore(session_key="j" * 32)
    assert session_hash(other) != first


def test_session_hash_depends_on_secret_key() -> None:
    request = _req()
    request.session = SessionStore(session_key="k" * 32)
    first = session_hash(request)
    with override_settings(SECRET_KEY="another-secret"):
        assert session_hash(request) != first


def test_no_session_or_no_key_is_none() -> None:
    assert session_hash(_req()) is None
    request = _req()
    store = SessionStore()
    request.session = store
    assert session_hash(request) is None
    assert store.session_key is None  # nothing was created (and the db was never touched)


# --- route / path / method ---------------------------------------------------------------------


def test_route_uses_view_name_else_route_else_none() -> None:
    request = _req()
    assert route(request) is None
    request.resolver_match = ResolverMatch(
        lambda _request: None,
        (),
        {},
        url_name="detail",
        namespaces=["shop"],
        route="items/<int:pk>/",
    )
    assert route(request) == "shop:detail"
    request.resolver_match = ResolverMatch(lambda _request: None, (), {}, route="items/<int:pk>/")
    assert route(request) is not None


def test_path_is_cleaned_and_bounded() -> None:
    assert path(rf.get("/a%00b/")) == "/ab/"
    assert len(path(rf.get("/" + "p" * 5000))) == request_info.PATH_LIMIT


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("GET", "GET"),
        ("patch", "PATCH"),
        ("PROPFIND", "PROPFIND"),
        ("G3T", "OTHER"),
        ("X" * 17, "OTHER"),
        ("", "OTHER"),
        ("ß", "OTHER"),
        ("GET\x00", "OTHER"),
    ],
)
def test_method(raw: str, expected: str) -> None:
    request = _req()
    request.method = raw
    assert method(request) == expected


def test_describe_builds_request_info() -> None:
    request = _req("10.0.0.2", HTTP_USER_AGENT="UA", HTTP_X_REQUEST_ID="rid-1")
    info = describe(request)
    assert info == RequestInfo(
        ip="10.0.0.2",
        user_agent="UA",
        request_id="rid-1",
        session_hash=None,
        method="GET",
        path="/x/",
    )
    with pytest.raises(AttributeError):
        info.ip = "1.1.1.1"  # type: ignore[misc]
