"""Remove audit data older than AUDIT_RETENTION by dropping whole partitions.

``--dry-run`` prints what would go. ``--export DIR`` first writes each removed partition (or
event-table slice) to ``DIR/<name>.jsonl.gz`` (gzip JSON lines) and records the file as a
``DataExport``. Every removal leaves a RETENTION row in the audit trail (who, what, how many),
and the run a MAINTENANCE ``SystemEvent``. Needs the owner's credentials (the application role
cannot run the retention functions). See docs/operations.md.
"""

from __future__ import annotations

import getpass
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections

from pgaudit_django.storage import partitions, retention


class Command(BaseCommand):
    help = "Drop audit partitions older than AUDIT_RETENTION (optionally exporting them first)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument("--dry-run", action="store_true", help="Say what would be removed.")
        parser.add_argument(
            "--export",
            metavar="DIR",
            type=Path,
            help="Write what is removed to DIR as gzip JSON lines first (recorded as DataExport).",
        )
        parser.add_argument(
            "--reason", default="scheduled retention", help="Stored with the records."
        )
        parser.add_argument(
            "--lock-timeout",
            default=retention.DEFAULT_LOCK_TIMEOUT,
            help="Longest wait for the audit table's lock per step (PostgreSQL interval; "
            "default 5s). A step that times out is left for the next run.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from pgaudit_django.attribution.state import context

        connection = connections[options["database"]]
        if not partitions.installed(connection):
            raise CommandError("migration pgaudit.0003_storage is not applied to this database.")
        export_dir: Path | None = options["export"]
        if export_dir is not None and not options["dry_run"]:
            export_dir.mkdir(parents=True, exist_ok=True)

        reason = options["reason"][:400]
        with context(
            reason=f"retention: {reason}", command="pgaudit_retention", os_user=_os_user()
        ):
            if not options["dry_run"]:
                # Rows waiting in DEFAULT partitions get partitions of their own first.
                partitions.ensure(connection)
            plan = retention.plan(connection)
            for note in plan.notes:
                self.stdout.write(note)
            if not plan.steps:
                self.stdout.write("Nothing to remove.")
                return
            self._describe_cutoffs(plan)
            if options["dry_run"]:
                for step in plan.steps:
                    self.stdout.write(f"would {step.describe()}")
                if export_dir is not None:
                    self.stdout.write(f"(each would first be exported to {export_dir})")
                return
            results = []
            postponed = []
            for step in plan.steps:
                started = time.perf_counter()
                try:
                    result = retention.apply_step(
                        connection,
                        step,
                        export_dir=export_dir,
                        reason=reason,
                        lock_timeout=options["lock_timeout"],
                    )
                except OperationalError as exc:
                    if _sqlstate(exc) != LOCK_NOT_AVAILABLE:
                        raise
                    postponed.append(step)
                    self.stderr.write(
                        self.style.WARNING(f"postponed (lock timeout): {step.describe()}")
                    )
                    continue
                elapsed = time.perf_counter() - started
                results.append(result)
                exported = f", exported to {result.exported.path}" if result.exported else ""
                self.stdout.write(
                    self.style.SUCCESS(f"done: {step.describe()} in {elapsed:.3f} s{exported}")
                )
            if results:
                _record_run(connection.alias, results, reason)
            if postponed:
                raise CommandError(
                    f"{len(postponed)} step(s) could not get their lock in time; run again later."
                )

    def _describe_cutoffs(self, plan: retention.Plan) -> None:
        for category, cut in plan.cutoffs.items():
            when = f"before {cut:%Y-%m-%d %H:%M}" if cut else "kept forever"
            self.stdout.write(f"{category}: {when}")


LOCK_NOT_AVAILABLE = "55P03"


def _sqlstate(exc: BaseException) -> str | None:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return ""


def _record_run(using: str, results: list[retention.StepResult], reason: str) -> None:
    """One MAINTENANCE SystemEvent for the run, next to the per-partition RETENTION rows."""
    from pgaudit_django.models import SystemEvent

    SystemEvent.objects.using(using).create(
        event_type="MAINTENANCE",
        title=f"Audit retention removed {len(results)} partition(s)/slice(s)",
        description=reason,
        module=__name__,
        function_name="handle",
        username=_os_user()[:254],
        details={
            "steps": [r.summary for r in results],
            "exports": [str(r.exported.path) for r in results if r.exported],
        },
    )
