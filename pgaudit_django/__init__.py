"""pgaudit_django: Django audit logging whose change capture lives in PostgreSQL triggers.

Public API::

    @pgaudit_django.track()                      # own model
    pgaudit_django.track(User, mask=["password"])  # a model the project does not own
    with pgaudit_django.context(user=u, reason="nightly import"): ...
    with pgaudit_django.disabled(reason="backfill"): ...
    pgaudit_django.as_of(Invoice, pk, when)     # the object as it was
    pgaudit_django.revert(entry, reason="typo")  # undo entries, audited
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pgaudit_django.registry import track

if TYPE_CHECKING:
    from pgaudit_django.attribution.bypass import disabled
    from pgaudit_django.attribution.state import context
    from pgaudit_django.capture.proxies import declare_trigger_models
    from pgaudit_django.history import as_of, revert

__version__ = "0.1.0"
__all__ = [
    "as_of",
    "context",
    "declare_trigger_models",
    "disabled",
    "revert",
    "track",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # Imported lazily: these pull in django.http / the ORM, which need configured settings.
    if name == "context":
        from pgaudit_django.attribution.state import context

        return context
    if name == "disabled":
        from pgaudit_django.attribution.bypass import disabled

        return disabled
    if name == "declare_trigger_models":
        from pgaudit_django.capture.proxies import declare_trigger_models

        return declare_trigger_models
    if name in ("as_of", "revert"):
        from pgaudit_django import history

        return getattr(history, name)
    raise AttributeError(name)
