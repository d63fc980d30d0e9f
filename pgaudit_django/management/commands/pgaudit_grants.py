"""Print (or apply) the GRANT/REVOKE statements of the least-privilege mode for a role.

    manage.py pgaudit_grants app_user            # review the SQL
    manage.py pgaudit_grants app_user --apply    # run it (as the owner of the audit tables)

Only the audit objects are covered; the application's own tables are the project's business.
See docs/operations.md, "Least privilege".
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from pgaudit_django.storage import grants, partitions


class Command(BaseCommand):
    help = "Print or apply GRANT/REVOKE statements for a least-privilege application role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("app_role", help="The PostgreSQL role the application connects as.")
        parser.add_argument("--apply", action="store_true", help="Execute the statements.")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        if not partitions.installed(connection):
            raise CommandError("migration pgaudit.0003_storage is not applied to this database.")
        role = options["app_role"]
        facts = grants.role_facts(connection, role)
        sql = grants.statements(role, grants.partition_names(connection))
        for note in grants.warnings_for(role, facts):
            self.stderr.write(self.style.WARNING(f"warning: {note}"))
        if not options["apply"]:
            self.stdout.write("\n".join(sql))
            return
        if not facts.exists:
            raise CommandError(f"role {role!r} does not exist.")
        grants.apply(connection, sql)
        self.stdout.write(
            self.style.SUCCESS(
                f"Applied {sum(not s.startswith('--') for s in sql)} statements for {role}."
            )
        )
