"""Installation status of every audit trigger, as django-pgtrigger sees it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from pgaudit_django import registry
from pgaudit_django.capture.triggers import all_triggers_for


@dataclass(frozen=True)
class TriggerStatus:
    label: str
    via: str
    trigger: str
    status: str  # INSTALLED, UNINSTALLED, OUTDATED, IGNORED
    enabled: bool | None


def trigger_status(database: str | None = None) -> list[TriggerStatus]:
    rows = []
    for registration in registry.registrations():
        host = registration.proxy or registration.model
        for trigger in all_triggers_for(host, registration.model, registration.options):
            # pgtrigger annotates the model as an instance; it is the class at run time.
            status, enabled = trigger.get_installation_status(cast(Any, host), database=database)
            rows.append(
                TriggerStatus(
                    label=registration.label,
                    via=registration.via,
                    trigger=trigger.name or "",
                    status=str(status),
                    enabled=enabled,
                )
            )
    return rows
