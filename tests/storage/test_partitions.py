"""Partitions exist ahead of time, rows never wait in DEFAULT for long, the ORM doesn't notice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from pgaudit_django.models import AuditContext, AuditLog
from pgaudit_django.storage import integrity, partitions
from pgaudit_django.storage.signals import after_migrate
from tests.storage.conftest import scalar, utc
from tests.testapp.models import Customer


def _names(parent: str) -> list[str]:
    return [p.name for p in partitions.list_partitions(connection) if p.parent == parent]


def _context(created) -> int:
    # Context rows only come from pgaudit_context(); rows of another time are imported data,
    # written here the way an import by the owner would (through the maintenance door).
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO pgaudit_auditcontext (created, source) VALUES (%s, 'import') RETURNING id",
            [created],
        )
        return cursor.fetchone()[0]


def test_migration_created_this_month_and_the_next_ones(db):
    now = timezone.now()
    for parent in partitions.PARENTS:
        found = [p for p in partitions.list_partitions(connection) if p.parent == parent]
        assert sum(p.is_default for p in found) == 1
        current = [p for p in found if not p.is_default and p.lo <= now < p.hi]
        assert len(current) == 1
        assert current[0].name == f"{parent}_y{now:%Y}m{now:%m}"
        # AUDIT_PARTITION_MONTHS_AHEAD defaults to 3: at least 3 more months exist.
        assert max(p.hi for p in found if not p.is_default) >= now + timedelta(days=3 * 28)


def test_ensure_is_idempotent(db):
    assert partitions.ensure(connection) == []


def test_a_write_never_fails_for_want_of_a_partition_and_is_moved_later(db):
    far = utc(2041, 5, 17, 12)
    ctx = _context(far)
    entry = AuditLog.objects.create(timestamp=far, action="IMPORTED", context_id=ctx)
    assert scalar(
        "SELECT tableoid::regclass::text FROM pgaudit_auditlog WHERE id = %s", [entry.pk]
    ) == ("pgaudit_auditlog_default")
    created = partitions.ensure(connection)
    assert {(c.name, c.moved_rows) for c in created} >= {
        ("pgaudit_auditlog_y2041m05", 1),
        ("pgaudit_auditcontext_y2041m05", 1),
    }
    assert partitions.default_partition_rows(connection) == {
        "pgaudit_auditlog": 0,
        "pgaudit_auditcontext": 0,
    }
    where = scalar(
        "SELECT tableoid::regclass::text FROM pgaudit_auditlog WHERE id = %s", [entry.pk]
    )
    assert where == "pgaudit_auditlog_y2041m05"
    # The moved row is the same row, and its new partition is guarded like the others.
    assert AuditLog.objects.get(pk=entry.pk).context_id == ctx
    checks = {c.name: c for c in integrity.checks(connection)}
    assert checks["append-only guards"].level == integrity.OK, checks["append-only guards"].detail


def test_partitions_for_an_import_of_old_data(db):
    created = partitions.ensure_between(connection, utc(2019, 1, 15), utc(2019, 3, 2))
    assert [c.name for c in created if "auditlog" in c.name] == [
        "pgaudit_auditlog_y2019m01",
        "pgaudit_auditlog_y2019m02",
        "pgaudit_auditlog_y2019m03",
    ]
    entry = AuditLog.objects.create(timestamp=utc(2019, 2, 28, 23, 59), action="IMPORTED")
    assert scalar(
        "SELECT tableoid::regclass::text FROM pgaudit_auditlog WHERE id = %s", [entry.pk]
    ) == ("pgaudit_auditlog_y2019m02")


def test_boundaries_are_utc_whatever_the_session_time_zone(db):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL TimeZone = 'Pacific/Kiritimati'")  # UTC+14
        partitions.ensure_between(connection, utc(2018, 6, 1), utc(2018, 6, 1))
        # Compared in SQL: Django reads timestamptz assuming its own session time zone.
        cursor.execute(
            "SELECT lo = '2018-06-01 00:00+00' AND hi = '2018-07-01 00:00+00' "
            "FROM pgaudit_partitions() WHERE partition::text = 'pgaudit_auditlog_y2018m06'"
        )
        assert cursor.fetchone()[0] is True
        cursor.execute("SET LOCAL TimeZone = 'UTC'")


def test_daily_partitions_and_overlap(db):
    created = partitions.ensure_between(connection, utc(2017, 3, 30), utc(2017, 4, 1), unit="day")
    assert "pgaudit_auditlog_y2017m03d31" in [c.name for c in created]
    # A month overlapping existing days is not created (the days keep serving their dates).
    assert partitions.ensure_between(connection, utc(2017, 3, 1), utc(2017, 3, 1)) == []
    with pytest.raises(Exception, match="month, week or day"):
        partitions.ensure_between(connection, utc(2017, 3, 1), utc(2017, 3, 1), unit="year")


def test_the_orm_reads_across_partitions_unchanged(db):
    partitions.ensure_between(connection, utc(2016, 1, 1), utc(2016, 2, 1))
    old = AuditLog.objects.create(timestamp=utc(2016, 1, 10), action="IMPORTED", object_id="1")
    older = AuditLog.objects.create(timestamp=utc(2016, 2, 10), action="IMPORTED", object_id="1")
    Customer.objects.create(name="today")
    recent = AuditLog.objects.filter(action="CREATE").latest("id")
    # Default ordering (-timestamp, -id) spans partitions; pk lookups need no timestamp.
    ordered = list(AuditLog.objects.filter(pk__in=[old.pk, older.pk, recent.pk]))
    assert ordered == [recent, older, old]
    assert AuditLog.objects.get(pk=old.pk).timestamp == utc(2016, 1, 10)
    assert AuditLog.objects.filter(timestamp__year=2016).count() == 2
    assert (
        AuditLog.objects.filter(timestamp__range=(utc(2016, 1, 1), utc(2016, 1, 31))).get() == old
    )
    assert AuditContext.objects.filter(pk=recent.context_id).exists()


def test_post_migrate_handler_creates_partitions_ahead(db, settings):
    settings.AUDIT_PARTITION_MONTHS_AHEAD = 8
    before = set(_names("pgaudit_auditlog"))
    after_migrate(sender=apps.get_app_config("pgaudit"), using="default", verbosity=0)
    added = set(_names("pgaudit_auditlog")) - before
    assert len(added) >= 4
    # Other apps' post_migrate signals are ignored.
    settings.AUDIT_PARTITION_MONTHS_AHEAD = 12
    after_migrate(sender=apps.get_app_config("auth"), using="default", verbosity=0)
    assert set(_names("pgaudit_auditlog")) == before | added


def test_migrate_runs_the_handler(db, settings):
    # Needs `connect()` from pgaudit_django.storage.signals in PgAuditConfig.ready().
    settings.AUDIT_PARTITION_MONTHS_AHEAD = 9
    before = len(_names("pgaudit_auditlog"))
    call_command("migrate", "pgaudit", verbosity=0)
    assert len(_names("pgaudit_auditlog")) > before


def test_partitions_command(db, capsys, settings):
    settings.AUDIT_PARTITION_MONTHS_AHEAD = 10
    call_command("pgaudit_partitions")
    out = capsys.readouterr().out
    assert "created pgaudit_auditlog_y" in out and "created pgaudit_auditcontext_y" in out
    call_command("pgaudit_partitions")
    assert "All partitions exist already." in capsys.readouterr().out
    call_command("pgaudit_partitions", "--from", "2015-12-01", "--to", "2015-12-31")
    assert "created pgaudit_auditlog_y2015m12" in capsys.readouterr().out
    call_command("pgaudit_partitions", "--list")
    listing = capsys.readouterr().out
    assert "pgaudit_auditlog_default (DEFAULT)" in listing
    assert "pgaudit_auditlog_y2015m12 [2015-12-01, 2016-01-01)" in listing


def test_sql_function_for_cron(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pgaudit_ensure_partitions(14)")
        assert cursor.fetchone()[0] > 0
        cursor.execute("SELECT count(*) FROM pgaudit_ensure_partitions(14)")
        assert cursor.fetchone()[0] == 0
