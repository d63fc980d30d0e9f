"""Detection engine for ``SecurityAuditMiddleware``: request rules and a write throttle."""

from pgaudit_django.security.rules import (
    DEFAULT_RULES,
    Finding,
    Rule,
    inspect,
    load_rules,
)
from pgaudit_django.security.throttle import Throttle

__all__ = ["DEFAULT_RULES", "Finding", "Rule", "Throttle", "inspect", "load_rules"]
