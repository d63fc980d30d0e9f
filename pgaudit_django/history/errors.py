"""Why a revert was refused: each error names the fields and entries concerned."""

from __future__ import annotations


class RevertError(Exception):
    """A revert that cannot be carried out (nothing was written)."""


class RevertConflict(RevertError):
    """The row changed after the entry: reverting would overwrite someone's later change."""

    def __init__(self, entry_id: int, fields: list[str], later_entries: list[int]) -> None:
        self.entry_id = entry_id
        self.fields = fields
        self.later_entries = later_entries
        detail = ", ".join(fields) if fields else "the row"
        later = ", ".join(f"#{i}" for i in later_entries) or "a change not in the audit log"
        super().__init__(
            f"Cannot revert audit entry #{entry_id}: {detail} changed later (by {later}). "
            "Revert those entries first, or pass force=True to overwrite them."
        )


class MaskedFieldError(RevertError):
    """The entry holds only the mask marker for a field: its old value is not known."""

    def __init__(self, entry_id: int, fields: list[str]) -> None:
        self.entry_id = entry_id
        self.fields = fields
        super().__init__(
            f"Cannot revert audit entry #{entry_id}: masked field(s) {', '.join(fields)} "
            "were stored as the mask marker, so their old values are unknown."
        )
