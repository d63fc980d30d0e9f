"""Check the audit trail: protections in place, writes flagged, and every history complete.

1. storage integrity: guard triggers, event trigger, SECURITY DEFINER functions, partitions;
2. flagged writes: captured rows of the last --days days written without application context
   (source 'app': the application's role outside a request/context(); 'database': a session
   that sent nothing, such as psql);
3. completeness, one tracked model at a time (--model app.Model to choose): each change's old
   values equal the previous change's new values, and the newest state equals the live row. A
   gap means a write bypassed the triggers.

Exit status 1 with --fail when a problem or gap is found.
"""

from __future__ import annotations

import json
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from pgaudit_django import registry
from pgaudit_django.storage import integrity, verify


class Command(BaseCommand):
    help = "Verify the audit trail's protections and the completeness of each model's history."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--model", action="append", default=[], metavar="APP.MODEL", help="Repeatable."
        )
        parser.add_argument("--limit", type=int, default=20, help="Gaps shown per model.")
        parser.add_argument("--days", type=int, default=30, help="Window for flagged writes.")
        parser.add_argument("--skip-integrity", action="store_true")
        parser.add_argument("--fail", action="store_true", help="Exit 1 on any problem.")

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        problems = 0
        if not options["skip_integrity"]:
            problems += self._integrity(connection)
            self._flagged(connection, options["days"])
        for registration in self._registrations(options["model"]):
            report = verify.verify_model(connection, registration, limit=options["limit"])
            problems += self._report(report)
        if problems and options["fail"]:
            raise SystemExit(1)

    def _registrations(self, labels: list[str]) -> list[registry.Registration]:
        registrations = registry.registrations()
        if not labels:
            return sorted(registrations, key=lambda r: r.label)
        chosen = []
        for label in labels:
            try:
                model = apps.get_model(label)
            except (LookupError, ValueError) as exc:
                raise CommandError(f"unknown model {label!r}") from exc
            registration = registry.get_registration(model)
            if registration is None:
                raise CommandError(f"{label} is not tracked")
            chosen.append(registration)
        return chosen

    def _integrity(self, connection: Any) -> int:
        self.stdout.write("Storage integrity")
        problems = 0
        for check in integrity.checks(connection):
            style = {
                integrity.OK: self.style.SUCCESS,
                integrity.WARNING: self.style.WARNING,
                integrity.PROBLEM: self.style.ERROR,
            }[check.level]
            problems += check.level == integrity.PROBLEM
            self.stdout.write(f"  {style(check.level.upper()):<10} {check.name}: {check.detail}")
        return problems

    def _flagged(self, connection: Any, days: int) -> None:
        counts = verify.flagged_writes(connection, days)
        self.stdout.write(f"Captured rows without application context, last {days} days")
        if not counts:
            self.stdout.write("  none")
        for source, meaning in verify.FLAGGED_SOURCES.items():
            if counts.get(source):
                self.stdout.write(f"  {source}: {counts[source]:,}  ({meaning})")

    def _report(self, report: verify.ModelReport) -> int:
        header = (
            f"{report.label}: {report.audit_rows:,} audit rows, {report.objects:,} objects with "
            f"history, {report.without_history:,} live rows without history"
        )
        sources = ", ".join(f"{k}={v:,}" for k, v in report.sources.items())
        if report.complete:
            self.stdout.write(
                self.style.SUCCESS(f"OK  {header}") + (f" [{sources}]" if sources else "")
            )
            return 0
        self.stdout.write(self.style.ERROR(f"GAP {header}") + (f" [{sources}]" if sources else ""))
        if report.gap_count:
            self.stdout.write(f"    {report.gap_count:,} broken links in the change chain:")
        for gap in report.gaps:
            self.stdout.write(
                f"    object {gap.object_id} field {gap.field}: audit #{gap.previous_id} left "
                f"{_short(gap.previous_new)}, audit #{gap.audit_id} found {_short(gap.old)}"
            )
        if report.mismatch_count:
            self.stdout.write(f"    {report.mismatch_count:,} objects differ from their history:")
        for item in report.mismatches:
            self.stdout.write(f"    object {item.object_id}: {item.kind} {_short(item.detail)}")
        return 1


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:117] + "..."
