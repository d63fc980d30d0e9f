"""``manage.py demo``: migrate, create an admin, run the tour, print its audit trail, serve it.

python example/manage.py demo              # tour, then runserver 127.0.0.1:8000
python example/manage.py demo --no-server  # tour only (what tests/test_demo.py runs)
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from exampleproject import database

from pgaudit_django.capture.status import trigger_status
from shop.tour import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    Step,
    Tour,
    ensure_admin,
)
from shop.trail import Row, Table, Watermarks


class Command(BaseCommand):
    help = "Run the pgaudit_django guided tour and serve the example project's admin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-server", action="store_true", help="Run the tour, print the trail and exit."
        )
        parser.add_argument("--addrport", default="127.0.0.1:8000", help="Where to serve.")

    def progress(self, message: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"==> {message}"))

    def handle(self, *args: Any, **options: Any) -> None:
        began = time.monotonic()
        self.describe_database()
        self.migrate()
        marks = Watermarks()
        admin, created = ensure_admin()
        self.progress(
            f"admin user {'created' if created else 'ready'}: "
            f"login {ADMIN_USERNAME!r}, password {ADMIN_PASSWORD!r}"
        )
        self.tour(admin, marks)
        self.progress(f"tour finished in {time.monotonic() - began:.1f} s")
        address = options["addrport"]
        self.stdout.write(
            f"\nBrowse the same trail in the admin: http://{address}/admin/pgaudit/auditlog/\n"
            f"  login: {ADMIN_USERNAME} / {ADMIN_PASSWORD}\n"
            f"  one object's history: http://{address}/admin/shop/order/ → an order → "
            "Audit history\n"
        )
        if options["no_server"]:
            return
        self.progress(f"starting the development server on http://{address}/ (Ctrl-C stops it)")
        call_command("runserver", address, use_reloader=False)

    # ------------------------------------------------------------------------------------------

    def describe_database(self) -> None:
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('server_version'), current_database()")
            version, name = cursor.fetchone()
        connect = time.monotonic() - started
        if database.start_seconds is not None:
            self.progress(
                f"database: embedded PostgreSQL {version} ({database.source}), "
                f"started in {database.start_seconds:.1f} s, data in {database.data_dir()}"
            )
        else:
            self.progress(
                f"database: PostgreSQL {version}, database {name!r} from DATABASE_URL "
                f"(connected in {connect:.2f} s)"
            )

    def migrate(self) -> None:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        started = time.monotonic()
        if pending:
            self.progress(f"migrate: applying {len(pending)} migrations (installs the triggers)")
        call_command("migrate", interactive=False, verbosity=0)
        self.progress(
            f"migrate: done in {time.monotonic() - started:.1f} s"
            + ("" if pending else " (nothing to apply)")
        )
        rows = trigger_status()
        installed = sum(1 for r in rows if r.status == "INSTALLED" and r.enabled is not False)
        models = sorted({r.label for r in rows})
        self.progress(
            f"audit triggers: {installed} of {len(rows)} installed on {', '.join(models)}"
        )

    def tour(self, admin: Any, marks: Watermarks) -> None:
        setup_rows = marks.new_rows()  # the admin user's CREATE (or password reset), if any
        tour = Tour(admin)
        steps = tour.steps()
        results: list[tuple[Step, list[Row]]] = []
        self.progress(f"tour: {len(steps)} steps (run id {tour.run})")
        for number, step in enumerate(steps, 1):
            self.stdout.write(f"  [{number:>2}/{len(steps)}] {step.title}")
            self.stdout.write(f"          {step.explanation}")
            started = time.monotonic()
            note = step.run()
            rows = marks.new_rows()
            self.stdout.write(
                f"          -> {len(rows)} audit row(s) in {time.monotonic() - started:.2f} s"
                + (f"; {note}" if note else "")
            )
            results.append((step, rows))

        self.stdout.write("\nThe audit trail this tour produced:\n")
        table = Table(self.stdout)
        table.header()
        if setup_rows:
            table.section("0. setup: the admin user (auth.User, tracked through the trigger app)")
            table.rows(setup_rows)
        for number, (step, rows) in enumerate(results, 1):
            table.section(f"{number}. {step.title}")
            table.rows(rows)
            if not rows:
                table.note("(nothing recorded)")
        total = sum(len(rows) for _, rows in results)
        self.stdout.write(f"\n{total} audit rows from {len(steps)} steps.\n")
