"""Turn a Django ``HttpRequest`` into safe, bounded audit metadata.

Everything here is a pure function of the request and settings: no database access, no
session save, and no exception on hostile input. Values that cannot be trusted or parsed
become ``None`` ("unknown") rather than being stored verbatim.
"""

import functools
import ipaddress
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

USER_AGENT_LIMIT = 512
PATH_LIMIT = 512
DEFAULT_REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
ELLIPSIS = "…"

# The longest legitimate token is a bracketed IPv4-mapped IPv6 with a port (~53 chars);
# anything longer is garbage and is rejected before it reaches the parser.
_MAX_IP_TOKEN = 64
# C0 controls except TAB, plus DEL: they break log lines and terminals, and NUL cannot be
# stored in a PostgreSQL text column at all.
_CONTROL_CHARS = dict.fromkeys([*range(0x09), *range(0x0A, 0x20), 0x7F])
# Lone surrogates cannot be encoded as UTF-8, so the database driver would reject them.
_SURROGATES = re.compile("[\ud800-\udfff]")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_METHOD = re.compile(r"[A-Z]{1,16}")
_SESSION_SALT = "pgaudit_django.session"


def clean_text(value: object, limit: int) -> str:
    """Return ``value`` as printable text of at most ``limit`` characters.

    Truncated output ends with "…". Only a bounded prefix of the input is ever examined,
    so a 10 MB header costs the same as a short one.
    """
    if value is None or limit <= 0:
        return ""
    # Removing control characters can shorten the text, so look at a generous window
    # rather than exactly ``limit`` characters; the result is sliced again afterwards.
    window = limit * 4 + 64
    if isinstance(value, bytes | bytearray | memoryview):
        raw_bytes = bytes(value[: window * 4])  # UTF-8 needs at most 4 bytes per char
        cut = len(value) > len(raw_bytes)
        text = raw_bytes.decode("utf-8", "replace")
    else:
        text = value if isinstance(value, str) else str(value)
        cut = False
    cut = cut or len(text) > window
    text = _SURROGATES.sub("\ufffd", text[:window].translate(_CONTROL_CHARS))
    if cut or len(text) > limit:
        return text[: limit - 1] + ELLIPSIS
    return text


def _is_port(value: str) -> bool:
    return value.isascii() and value.isdigit() and len(value) <= 5 and int(value) <= 65535


def _strip_port(token: str) -> str | None:
    """``[v6]:port`` / ``[v6]`` / ``v4:port`` -> bare address text; ``None`` if malformed."""
    if token.startswith("["):
        host, closed, rest = token[1:].partition("]")
        if not closed or (rest and not (rest[0] == ":" and _is_port(rest[1:]))):
            return None
        return host
    if token.count(":") == 1:  # bare IPv6 always has two or more colons
        host, _, port = token.partition(":")
        return host if _is_port(port) else None
    return token


def parse_ip(value: object) -> IPAddress | None:
    """Parse one address token; ``None`` for anything that is not a plain IP address.

    Ports (``1.2.3.4:80``, ``[::1]:80``) are stripped because some proxies append them.
    Zone ids (``fe80::1%eth0``) are rejected: they are host-local and attacker-chosen.
    IPv4-mapped IPv6 is unwrapped so one client has one spelling.
    """
    if not isinstance(value, str):
        return None
    token = value.strip()
    if not token or len(token) > _MAX_IP_TOKEN or "%" in token:
        return None
    host = _strip_port(token)
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _proxy_count() -> int:
    count = getattr(settings, "AUDIT_TRUSTED_PROXY_COUNT", 0)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ImproperlyConfigured(
            f"AUDIT_TRUSTED_PROXY_COUNT must be a non-negative integer, got {count!r}."
        )
    return count


@functools.lru_cache(maxsize=8)
def _parse_networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    networks = []
    for entry in entries:
        try:
            network = ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"AUDIT_TRUSTED_PROXIES entry {entry!r} is not an IP address or CIDR network."
            ) from exc
        networks.append(network)
    return tuple(networks)


def _trusted_networks() -> tuple[IPNetwork, ...]:
    entries = getattr(settings, "AUDIT_TRUSTED_PROXIES", None) or ()
    # A bare string would otherwise be iterated character by character.
    if isinstance(entries, str) or not isinstance(entries, Iterable):
        raise ImproperlyConfigured("AUDIT_TRUSTED_PROXIES must be a list of IPs or CIDRs.")
    entries = tuple(entries)
    if not all(isinstance(entry, str) for entry in entries):
        raise ImproperlyConfigured("AUDIT_TRUSTED_PROXIES must contain only strings.")
    return _parse_networks(entries)


def _peer_is_trusted(peer: IPAddress | None) -> bool:
    networks = _trusted_networks()
    if not networks:
        return True  # no list configured: the proxy count alone decides
    return peer is not None and any(
        peer.version == network.version and peer in network for network in networks
    )


def client_ip(request: HttpRequest) -> str | None:
    """Best trustworthy client address, in canonical form, or ``None`` if unknown.

    ``X-Forwarded-For`` is client-controlled except for the entries our own proxies
    append on the right, so with ``AUDIT_TRUSTED_PROXY_COUNT = n`` the client is the
    n-th entry from the right. If ``AUDIT_TRUSTED_PROXIES`` is set, the header is used
    only when the socket peer (``REMOTE_ADDR``) is one of those proxies. A chain shorter
    than ``n`` means the request did not come through all proxies, so the socket peer is
    used, as Werkzeug's ``ProxyFix`` does. The proxy list alone never enables the header:
    the count says where the client is, the list only says which peers may say so.

    Written with ``ipaddress`` rather than django-ipware: ipware counts the last proxy
    as an ``X-Forwarded-For`` entry (off by one from "number of proxies"), matches its
    trusted list positionally against the header instead of checking ``REMOTE_ADDR``,
    prefers publicly routable hops across a dozen forgeable headers, and accepts IPv6
    zone ids, so it cannot express these semantics exactly.
    """
    meta = request.META
    peer = parse_ip(meta.get("REMOTE_ADDR"))
    count = _proxy_count()
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if count and isinstance(forwarded, str) and forwarded.strip() and _peer_is_trusted(peer):
        # rsplit bounds the work: a client can prepend megabytes, but only the
        # right-most ``count`` entries were written by our proxies.
        hops = forwarded.rsplit(",", count)
        if len(hops) >= count:
            address = parse_ip(hops[-count])
            return str(address) if address is not None else None
    return str(peer) if peer is not None else None


def user_agent(request: HttpRequest) -> str:
    return clean_text(request.META.get("HTTP_USER_AGENT", ""), USER_AGENT_LIMIT)


def _meta_key(header: str) -> str:
    key = header.strip().upper().replace("-", "_")
    return key if key.startswith("HTTP_") else f"HTTP_{key}"


def request_id(request: HttpRequest, header: str | None = None) -> str:
    """The caller's request id when well-formed, otherwise a fresh random one.

    Accepting only a short, conservative alphabet keeps ids usable for log correlation
    (UUIDs, ULIDs, trace ids) without letting a client inject arbitrary text.
    """
    name = header or getattr(settings, "AUDIT_REQUEST_ID_HEADER", None)
    value = request.META.get(_meta_key(name or DEFAULT_REQUEST_ID_HEADER))
    if isinstance(value, str) and _REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def session_hash(request: HttpRequest) -> str | None:
    """A stable pseudonym for the session, never the live (replayable) session key.

    Reads ``session_key`` only, which neither creates nor saves a session.
    """
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if not isinstance(key, str) or not key:
        return None
    return salted_hmac(_SESSION_SALT, key, algorithm="sha256").hexdigest()[:32]


def route(request: HttpRequest) -> str | None:
    """The resolved view name (or route pattern); ``None`` before URL resolution."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return None
    name = match.view_name or match.route
    return clean_text(name, PATH_LIMIT) if name else None


def path(request: HttpRequest) -> str:
    return clean_text(request.path, PATH_LIMIT)


def method(request: HttpRequest) -> str:
    value = request.method
    # isascii() first: str.upper() maps some non-ASCII letters into A-Z ("ß" -> "SS").
    if isinstance(value, str) and value.isascii():
        value = value.upper()
        if _METHOD.fullmatch(value):
            return value
    return "OTHER"


@dataclass(frozen=True, slots=True)
class RequestInfo:
    ip: str | None
    user_agent: str
    request_id: str
    session_hash: str | None
    method: str
    path: str


def describe(request: HttpRequest) -> RequestInfo:
    """Everything the audit trail records about a request, computed once."""
    return RequestInfo(
        ip=client_ip(request),
        user_agent=user_agent(request),
        request_id=request_id(request),
        session_hash=session_hash(request),
        method=method(request),
        path=path(request),
    )
