"""Show, per tracked model, whether its audit triggers are installed and current."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS

from pgaudit_django.capture.status import trigger_status


class Command(BaseCommand):
    help = "List tracked models and the installation status of their audit triggers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--fail", action="store_true", help="Exit 1 if any trigger is not INSTALLED."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rows = trigger_status(options["database"])
        if not rows:
            self.stdout.write("No models are registered for auditing.")
            return
        width = max(len(r.label) for r in rows)
        bad = 0
        for row in rows:
            ok = row.status == "INSTALLED" and row.enabled is not False
            bad += not ok
            state = row.status if row.enabled is not False else f"{row.status} (DISABLED)"
            style = self.style.SUCCESS if ok else self.style.ERROR
            self.stdout.write(
                f"{row.label:<{width}}  {row.via:<9}  {row.trigger:<17}  {style(state)}"
            )
        if bad and options["fail"]:
            raise SystemExit(1)
