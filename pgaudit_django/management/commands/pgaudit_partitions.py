"""Create the audit tables' partitions ahead of time (and list them).

Runs after every ``migrate`` too (post_migrate); schedule it monthly (cron) so partitions always
exist AUDIT_PARTITION_MONTHS_AHEAD months ahead. The same as ``SELECT * FROM
pgaudit_ensure_partitions(3)`` in SQL. Needs the owner's credentials.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from pgaudit_django import conf
from pgaudit_django.storage import partitions


def _date(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError as exc:
        raise CommandError(f"expected a date as YYYY-MM-DD, got {value!r}") from exc


class Command(BaseCommand):
    help = "Create the audit tables' partitions ahead of time; --list shows them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--months-ahead",
            type=int,
            default=None,
            help="Months of partitions ahead of now (default: AUDIT_PARTITION_MONTHS_AHEAD).",
        )
        parser.add_argument(
            "--interval",
            choices=conf.PARTITION_UNITS,
            default=None,
            help="Partition length (default: AUDIT_PARTITION_INTERVAL).",
        )
        parser.add_argument(
            "--from",
            dest="start",
            type=_date,
            help="Also create partitions from this date (YYYY-MM-DD), e.g. before an import.",
        )
        parser.add_argument("--to", dest="end", type=_date, help="With --from: last date.")
        parser.add_argument("--list", action="store_true", help="Only list the partitions.")

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        if not partitions.installed(connection):
            raise CommandError("migration pgaudit.0003_storage is not applied to this database.")
        if options["list"]:
            self._list(connection)
            return
        with transaction.atomic(using=connection.alias):
            created = partitions.ensure(connection, options["months_ahead"], options["interval"])
            if options["start"] is not None:
                end = options["end"] or datetime.now(timezone.utc)
                created += partitions.ensure_between(
                    connection, options["start"], end, options["interval"]
                )
        if not created:
            self.stdout.write("All partitions exist already.")
        for item in created:
            moved = f" ({item.moved_rows:,} rows moved from DEFAULT)" if item.moved_rows else ""
            self.stdout.write(self.style.SUCCESS(f"created {item.name}{moved}"))

    def _list(self, connection: Any) -> None:
        rows = partitions.default_partition_rows(connection)
        for p in partitions.list_partitions(connection):
            size = f"{p.total_bytes / 1024 / 1024:,.1f} MB"
            count = f"{rows[p.parent]:,} rows" if p.is_default else f"~{p.estimated_rows:,} rows"
            self.stdout.write(f"{p.describe():<60} {count:>16} {size:>12}")
