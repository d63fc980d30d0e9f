"""Time travel over the audit trail: an object as it was, and undoing entries."""

from __future__ import annotations

from pgaudit_django.history.asof import as_of
from pgaudit_django.history.errors import MaskedFieldError, RevertConflict, RevertError
from pgaudit_django.history.undo import revert

__all__ = ["MaskedFieldError", "RevertConflict", "RevertError", "as_of", "revert"]
