"""Rules that flag attack probes in a request, for ``SecurityAuditMiddleware``.

Only the path, query string, user agent and a few headers are inspected; the body is
never read (reading it would consume the stream and cost unbounded memory). Values are
URL-decoded repeatedly and case-folded before matching, so encoded and double-encoded
probes look the same as plain ones. Patterns are anchored on attack syntax, not on
words: ordinary admin pages, crawlers and searches for "select" must stay quiet, or the
findings become noise nobody reads.
"""

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest

from pgaudit_django.request_info import clean_text

Target = Literal["path", "query", "headers", "user_agent"]
Severity = Literal["low", "medium", "high"]
TARGETS: tuple[str, ...] = get_args(Target)  # also the order findings are reported in
SEVERITIES: tuple[str, ...] = get_args(Severity)

# Only a prefix of each value is inspected, so a huge header costs bounded work.
MAX_INSPECT_CHARS = 8192
EXCERPT_LIMIT = 200
# Enough for double encoding (%252e -> %2e -> .) plus one more layer; stops early
# once a round changes nothing.
DECODE_ROUNDS = 3
# Besides the user agent; all of these are commonly reflected into logs or pages.
HEADER_KEYS = ("HTTP_REFERER", "HTTP_ORIGIN", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_FOR")

_RULE_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_CONFIG_KEYS = frozenset({"name", "pattern", "targets", "severity"})
_RULE_SETTINGS = frozenset({"AUDIT_SECURITY_RULES", "AUDIT_SECURITY_DISABLED_RULES"})


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    severity: Severity
    pattern: re.Pattern[str]
    targets: frozenset[str]

    @classmethod
    def build(cls, name: str, pattern: str, targets: Iterable[str], severity: Severity) -> "Rule":
        # IGNORECASE although inputs are case-folded: a configured "UNION" must still match.
        return cls(name, severity, re.compile(pattern, re.IGNORECASE), frozenset(targets))


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    target: str
    excerpt: str


def _any(*alternatives: str) -> str:
    return "|".join(alternatives)


# Whitespace or inline comments between SQL keywords: "union/**/select" evades naive filters.
_SQL_GAP = r"(?:\s|/\*.*?\*/)+"

DEFAULT_RULES: tuple[Rule, ...] = (
    Rule.build(
        "sql_injection",
        _any(
            rf"\bunion{_SQL_GAP}(?:(?:all|distinct){_SQL_GAP})?select\b",
            r"\bunion\s*\(\s*select\b",
            # ' or '1'='1   'or''='   ' and 1=1   (a quote closing the literal first)
            r"'\s*(?:or|and)\b\s*(?:'[^']{0,20}'|\w+)\s*(?:=|like\b)",
            r"'\s*(?:or|and)\s+(?:true|false)\b",
            r"\b(?:or|and)\s+(?P<n>\d+)\s*=\s*(?P=n)\b",  # tautology: or 1=1
            r"\b(?:pg_)?sleep\s*\(\s*[\d(]",
            r"\bbenchmark\s*\(",
            r"\binformation_schema\b",
            r";\s*--",
            r"'\s*--",
            r"\bxp_cmdshell\b",
            r"\bwaitfor\s+delay\b",
            r"\bdrop\s+table\b",
            r"\binto\s+(?:out|dump)file\b",
            r"\bload_file\s*\(",
            r"@@version\b",
        ),
        ("path", "query", "headers", "user_agent"),
        "high",
    ),
    Rule.build(
        "xss",
        _any(
            r"<\s*/?\s*script\b",
            r"\b(?:java|vb)script\s*:",  # needs the colon: /posts/javascript-tips/ is fine
            r"\bon(?:error|load|mouseover|focus|toggle|animationstart|pointerover)\s*=",
            r"<\s*(?:svg|iframe|object|embed)\b",
            r"\bdocument\s*\.\s*cookie\b",
            r"\bsrcdoc\s*=",
        ),
        ("path", "query", "headers", "user_agent"),
        "high",
    ),
    Rule.build(
        "path_traversal",
        _any(
            r"(?:^|[/\\=&?;])\.\.(?:[/\\;&]|$)",  # a whole ".." segment, not "a..b"
            r"/etc/(?:passwd|shadow)\b",
            r"\bc:[/\\]+windows\b",
            r"\b(?:win|boot)\.ini\b",
            r"/proc/self/",
        ),
        ("path", "query"),
        "high",
    ),
    Rule.build(
        "secret_file",
        _any(
            r"/\.env(?:$|[./~_-])",
            r"/\.(?:git|svn|hg)(?:/|$)",
            r"/\.ht(?:access|passwd)\b",
            r"/\.aws/credentials\b",
            r"/\.ssh/",
            r"/\.ds_store\b",
            r"/wp-(?:admin|content|includes)(?:/|$)",
            r"/(?:wp-login|wp-config|xmlrpc|config)\.php\b",
            r"/phpmyadmin",
            r"/server-status\b",
        ),
        ("path",),
        "medium",
    ),
    Rule.build(
        "scanner_user_agent",
        r"\b(?:sqlmap|nikto|nmap|masscan|zgrab|nuclei|wpscan|dirbuster|gobuster|acunetix"
        r"|netsparker|ffuf|feroxbuster|whatweb|openvas|w3af|arachni|skipfish|commix)\b",
        ("user_agent",),
        "medium",
    ),
    # Low severity on purpose: curl/wget are also used by admins and health checks, but
    # a browser-only site seeing them is worth a quiet note. python-requests and other
    # library defaults are left out: too many legitimate API clients send them.
    Rule.build("cli_user_agent", r"^(?:curl|wget)/", ("user_agent",), "low"),
)


def normalize(value: str) -> str:
    """Decode up to ``DECODE_ROUNDS`` layers of URL encoding and case-fold."""
    text = value[:MAX_INSPECT_CHARS]
    for _ in range(DECODE_ROUNDS):
        decoded = unquote_plus(text)
        if decoded == text:
            break
        text = decoded
    return text.casefold()


def _raw_values(request: HttpRequest, target: str) -> list[str]:
    meta = request.META
    if target == "path":
        raw = [request.path]
    elif target == "query":
        raw = [meta.get("QUERY_STRING", "")]
    elif target == "user_agent":
        raw = [meta.get("HTTP_USER_AGENT", "")]
    else:
        raw = [meta.get(key, "") for key in HEADER_KEYS]
    return [value for value in raw if isinstance(value, str) and value]


def _excerpt(text: str, match: re.Match[str]) -> str:
    # A little leading context shows what the probe was attached to.
    return clean_text(text[max(0, match.start() - 40) :], EXCERPT_LIMIT)


def inspect(request: HttpRequest, rules: Iterable[Rule] | None = None) -> list[Finding]:
    """Return at most one finding per (rule, target) for ``request``."""
    active = load_rules() if rules is None else tuple(rules)
    needed = {target for rule in active for target in rule.targets}
    values = {
        target: [normalize(value) for value in _raw_values(request, target)]
        for target in TARGETS
        if target in needed
    }
    findings = []
    for rule in active:
        for target in TARGETS:
            if target not in rule.targets:
                continue
            for text in values[target]:
                match = rule.pattern.search(text)
                if match:
                    findings.append(
                        Finding(rule.name, rule.severity, target, _excerpt(text, match))
                    )
                    break
    return findings


def _rule_from_config(index: int, spec: object) -> Rule:
    where = f"AUDIT_SECURITY_RULES[{index}]"
    if not isinstance(spec, Mapping):
        raise ImproperlyConfigured(f"{where} must be a dict, got {type(spec).__name__}.")
    missing = _CONFIG_KEYS - spec.keys()
    unknown = spec.keys() - _CONFIG_KEYS
    if missing or unknown:
        raise ImproperlyConfigured(
            f"{where} must have exactly the keys {sorted(_CONFIG_KEYS)}; "
            f"missing {sorted(missing)}, unknown {sorted(map(str, unknown))}."
        )
    name, pattern, targets, severity = (spec[k] for k in ("name", "pattern", "targets", "severity"))
    if not isinstance(name, str) or not _RULE_NAME.fullmatch(name):
        raise ImproperlyConfigured(f"{where}: name must match {_RULE_NAME.pattern}, got {name!r}.")
    where = f"{where} ({name!r})"
    if severity not in SEVERITIES:
        raise ImproperlyConfigured(f"{where}: severity must be one of {SEVERITIES}.")
    # A bare string would be read as a set of characters.
    if isinstance(targets, str) or not isinstance(targets, Iterable):
        raise ImproperlyConfigured(f"{where}: targets must be a list drawn from {TARGETS}.")
    targets = list(targets)
    bad = [t for t in targets if t not in TARGETS]
    if not targets or bad:
        raise ImproperlyConfigured(
            f"{where}: targets must be a non-empty list drawn from {TARGETS}; bad: {bad!r}."
        )
    if not isinstance(pattern, str) or not pattern:
        raise ImproperlyConfigured(f"{where}: pattern must be a non-empty string.")
    try:
        return Rule.build(name, pattern, targets, severity)
    except re.error as exc:
        raise ImproperlyConfigured(f"{where}: invalid regular expression: {exc}.") from exc


@functools.cache
def load_rules() -> tuple[Rule, ...]:
    """Active rules from settings, validated once and cached.

    ``AUDIT_SECURITY_RULES`` entries are added to the defaults; one with a default's name
    replaces it, which is how a default is tuned. ``AUDIT_SECURITY_DISABLED_RULES`` drops
    rules by name. The cache is cleared on ``setting_changed`` (``override_settings``);
    call ``load_rules.cache_clear()`` after changing settings any other way.
    """
    rules: dict[str, Rule] = {rule.name: rule for rule in DEFAULT_RULES}
    custom: Any = getattr(settings, "AUDIT_SECURITY_RULES", None)
    if custom is not None:
        if not isinstance(custom, list | tuple):
            raise ImproperlyConfigured("AUDIT_SECURITY_RULES must be None or a list of dicts.")
        seen: set[str] = set()
        for index, spec in enumerate(custom):
            rule = _rule_from_config(index, spec)
            if rule.name in seen:
                raise ImproperlyConfigured(f"AUDIT_SECURITY_RULES defines {rule.name!r} twice.")
            seen.add(rule.name)
            rules[rule.name] = rule
    disabled: Any = getattr(settings, "AUDIT_SECURITY_DISABLED_RULES", None) or ()
    if isinstance(disabled, str) or not isinstance(disabled, Iterable):
        raise ImproperlyConfigured("AUDIT_SECURITY_DISABLED_RULES must be a list of rule names.")
    disabled = set(disabled)
    # A typo would otherwise silently leave the rule enabled.
    unknown = disabled - rules.keys()
    if unknown:
        raise ImproperlyConfigured(
            f"AUDIT_SECURITY_DISABLED_RULES names unknown rules {sorted(map(str, unknown))}; "
            f"known rules are {sorted(rules)}."
        )
    return tuple(rule for name, rule in rules.items() if name not in disabled)


@receiver(setting_changed)
def _reset_rules_cache(*, setting: str, **_kwargs: object) -> None:
    if setting in _RULE_SETTINGS:
        load_rules.cache_clear()
