"""Retention removes whole partitions, keeps security rows longer, exports first if asked."""

from __future__ import annotations

import gzip
import json

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from pgaudit_django.models import AuditContext, AuditLog, DataExport, LoginAttempt, SystemEvent
from pgaudit_django.storage import partitions, retention
from tests.storage.conftest import scalar, utc

# "now" in these tests is the machine's clock; 2019 is old enough for every setting below.
KEEP_SECURITY = {"default": "400d", "security": "36500d"}  # changes go, security rows stay
DROP_ALL = {"default": "400d", "security": "1000d"}


def _context(created, source="import") -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO pgaudit_auditcontext (created, source) VALUES (%s, %s) RETURNING id",
            [created, source],
        )
        return cursor.fetchone()[0]


@pytest.fixture
def old_month(db):
    """January 2019: captured changes and two logins, each batch with its own context."""
    partitions.ensure_between(connection, utc(2019, 1, 1), utc(2019, 1, 31))
    change_ctx = _context(utc(2019, 1, 5))
    login_ctx = _context(utc(2019, 1, 6))
    for i in range(5):
        AuditLog.objects.create(
            timestamp=utc(2019, 1, 5), action="CREATE", object_id=str(i), context_id=change_ctx
        )
    for day in (6, 7):
        AuditLog.objects.create(timestamp=utc(2019, 1, day), action="LOGIN", context_id=login_ctx)
    return {"change_ctx": change_ctx, "login_ctx": login_ctx}


def _partition_names() -> set[str]:
    return {p.name for p in partitions.list_partitions(connection)}


def test_dry_run_says_what_and_removes_nothing(old_month, settings, capsys):
    settings.AUDIT_RETENTION = KEEP_SECURITY
    before = AuditLog.objects.count(), _partition_names()
    call_command("pgaudit_retention", "--dry-run")
    out = capsys.readouterr().out
    assert (
        "would [default] drop partition pgaudit_auditlog_y2019m01 [2019-01-01, 2019-02-01)" in out
    )
    assert "security rows are kept" in out
    assert "would [default] drop partition pgaudit_auditcontext_y2019m01" in out
    assert (AuditLog.objects.count(), _partition_names()) == before


def test_changes_go_security_rows_stay(old_month, settings, capsys):
    settings.AUDIT_RETENTION = KEEP_SECURITY
    call_command("pgaudit_retention", "--reason", "policy 7.2")
    names = _partition_names()
    assert "pgaudit_auditlog_y2019m01" not in names
    assert {"pgaudit_auditlog_y2019m01_sec", "pgaudit_auditcontext_y2019m01_sec"} <= names
    in_2019 = AuditLog.objects.filter(timestamp__year=2019)
    assert sorted(in_2019.values_list("action", flat=True)) == ["LOGIN", "LOGIN"]
    # The kept rows keep their context; the changes' context went with them.
    assert AuditContext.objects.filter(pk=old_month["login_ctx"]).exists()
    assert not AuditContext.objects.filter(pk=old_month["change_ctx"]).exists()

    # Who removed what: one RETENTION row per partition, attributed to the command's context.
    records = AuditLog.objects.filter(action="RETENTION").select_related("context")
    by_partition = {r.changes["partition"]: r for r in records}
    log_record = by_partition["pgaudit_auditlog_y2019m01"]
    assert log_record.changes["kept_rows"] == 2
    assert log_record.changes["kept_actions"] == list(retention.conf.storage().security_actions)
    assert log_record.changes["session_user"] == connection.settings_dict["USER"]
    assert log_record.context.source == "context"
    assert log_record.context.reason == "retention: policy 7.2"
    assert by_partition["pgaudit_auditcontext_y2019m01"].changes["kept_rows"] == 1
    event = SystemEvent.objects.filter(event_type="MAINTENANCE").latest("id")
    assert event.description == "policy 7.2" and len(event.details["steps"]) == 2
    # The event trigger saw the DETACH/DROP and knew it was the retention path.
    ddl = AuditLog.objects.filter(action="AUDIT_DDL", changes__maintenance=True)
    assert ddl.filter(changes__statement__icontains="pgaudit_retire_partition").exists()
    assert "done: [default] drop partition pgaudit_auditlog_y2019m01" in capsys.readouterr().out


def test_security_rows_go_when_their_own_age_passes(old_month, settings):
    settings.AUDIT_RETENTION = KEEP_SECURITY
    call_command("pgaudit_retention", verbosity=0)
    assert AuditLog.objects.filter(timestamp__year=2019).count() == 2
    settings.AUDIT_RETENTION = DROP_ALL
    call_command("pgaudit_retention", verbosity=0)
    assert AuditLog.objects.filter(timestamp__year=2019).count() == 0
    assert not AuditContext.objects.filter(pk=old_month["login_ctx"]).exists()
    assert not {n for n in _partition_names() if "2019" in n}


def test_contexts_of_kept_events_survive(old_month, settings):
    # A login attempt (security, kept) points at the change context: it must stay.
    LoginAttempt.objects.create(
        timestamp=utc(2019, 1, 5, 1),
        username="ada",
        status="SUCCESS",
        context_id=old_month["change_ctx"],
    )
    settings.AUDIT_RETENTION = {"default": "400d", "security": None}  # security: forever
    call_command("pgaudit_retention", verbosity=0)
    assert AuditContext.objects.filter(pk=old_month["change_ctx"]).exists()
    assert LoginAttempt.objects.filter(username="ada").exists()


def test_event_tables_by_age_and_type(db, settings):
    old, recent = utc(2019, 3, 1), utc(2026, 1, 1)
    LoginAttempt.objects.create(timestamp=old, username="old", status="FAILED")
    LoginAttempt.objects.create(timestamp=recent, username="recent", status="FAILED")
    SystemEvent.objects.create(timestamp=old, event_type="ERROR", title="old error")
    SystemEvent.objects.create(timestamp=old, event_type="SECURITY", title="old probe")
    settings.AUDIT_RETENTION = KEEP_SECURITY
    call_command("pgaudit_retention", verbosity=0)
    assert set(SystemEvent.objects.filter(timestamp=old).values_list("title", flat=True)) == {
        "old probe"
    }
    assert LoginAttempt.objects.filter(username="old").exists()
    settings.AUDIT_RETENTION = DROP_ALL
    call_command("pgaudit_retention", verbosity=0)
    assert not SystemEvent.objects.filter(timestamp=old).exists()
    assert list(LoginAttempt.objects.values_list("username", flat=True)) == ["recent"]
    record = AuditLog.objects.filter(action="RETENTION", table_name="pgaudit_loginattempt").get()
    assert record.changes["deleted_rows"] == 1


def test_export_first_as_gzip_json_lines(old_month, settings, tmp_path):
    settings.AUDIT_RETENTION = KEEP_SECURITY
    call_command("pgaudit_retention", "--export", str(tmp_path), verbosity=0)
    path = tmp_path / "pgaudit_auditlog_y2019m01.jsonl.gz"
    with gzip.open(path, "rt") as handle:
        rows = [json.loads(line) for line in handle]
    assert sorted(r["action"] for r in rows) == ["CREATE"] * 5 + ["LOGIN"] * 2
    assert rows[0]["timestamp"].startswith("2019-01-05")
    export = DataExport.objects.get(file_path=str(path))
    assert export.record_count == 7 and export.file_size == path.stat().st_size
    assert export.file_format == "jsonl.gz"
    assert export.filters["partition"] == "pgaudit_auditlog_y2019m01"
    assert (tmp_path / "pgaudit_auditcontext_y2019m01.jsonl.gz").exists()
    assert not list(tmp_path.glob("*.part"))


def test_json_lines_survive_backslashes_and_quotes(db, tmp_path):
    from pgaudit_django.storage.export import copy_query_to_gzip

    tricky = {
        "path": "C:\\temp\\new",
        "quote": 'say "hi"',
        "tab": "a\tb",
        "nl": "a\nb",
        "ctl": "\x01",
    }
    exported = copy_query_to_gzip(
        connection,
        "SELECT %s::jsonb UNION ALL SELECT '{}'::jsonb",
        [json.dumps(tricky)],
        tmp_path / "x.gz",
    )
    with gzip.open(exported.path, "rt") as handle:
        assert [json.loads(line) for line in handle] == [tricky, {}]
    assert exported.rows == 2


def test_what_retention_never_does(old_month, settings, capsys):
    def retire(name, keep=None):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pgaudit_retire_partition(%s::regclass, %s)", [name, keep])

    with pytest.raises(DatabaseError, match="DEFAULT partition"):
        retire("pgaudit_auditlog_default")
    with pytest.raises(DatabaseError, match="not a partition of an audit table"):
        retire("testapp_customer")
    with pytest.raises(DatabaseError, match="captured changes cannot be kept"):
        retire("pgaudit_auditlog_y2019m01", ["CREATE"])
    settings.AUDIT_RETENTION = None
    call_command("pgaudit_retention")
    assert "kept forever" in capsys.readouterr().out
    assert AuditLog.objects.filter(timestamp__year=2019).count() == 7


# ---------------------------------------------------------------------------------------------
# A month of a million rows goes in the time a month of ten thousand does.


def _fill(month: int, rows: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO pgaudit_auditlog (timestamp, action, content_type_id, object_id, changes,
                                          context_id)
            SELECT %s::timestamptz + (g %% 2419200) * interval '1 second', 'UPDATE', 1, g::text,
                   jsonb_build_object('name', jsonb_build_object('old', 'a', 'new', 'b')), 1
            FROM generate_series(1, %s) AS g
            """,
            [utc(2018, month, 1), rows],
        )
        cursor.execute(f"ANALYZE pgaudit_auditlog_y2018m{month:02d}")


@pytest.mark.slow
def test_removing_a_million_rows_takes_constant_time(transactional_db, settings, capsys):
    import time

    partitions.ensure_between(connection, utc(2018, 1, 1), utc(2018, 2, 28))
    started = time.perf_counter()
    _fill(1, 1_000_000)
    _fill(2, 10_000)
    fill_seconds = time.perf_counter() - started
    assert scalar("SELECT count(*) FROM pgaudit_auditlog_y2018m01") == 1_000_000

    settings.AUDIT_RETENTION = KEEP_SECURITY
    steps = [
        s for s in retention.plan(connection).steps if s.partition and "2018m0" in s.partition.name
    ]
    timings = {}
    for step in steps:
        started = time.perf_counter()
        retention.apply_step(connection, step)  # its own transaction, committed
        timings[step.partition.name] = time.perf_counter() - started

    big, small = timings["pgaudit_auditlog_y2018m01"], timings["pgaudit_auditlog_y2018m02"]
    assert AuditLog.objects.filter(timestamp__year=2018).count() == 0
    assert not {n for n in _partition_names() if "2018" in n}
    with capsys.disabled():
        print(
            f"\n[retention timing] fill 1,010,000 rows: {fill_seconds:.1f} s; drop month of "
            f"1,000,000 rows: {big * 1000:.1f} ms; drop month of 10,000 rows: {small * 1000:.1f} ms"
        )
    # The mechanism is asserted above (the partitions are gone, not emptied). The bound is loose
    # on purpose (shared machine): deleting these rows through the guard takes ~30 s here, a
    # bare DELETE ~0.8 s plus vacuum; the drop ~0.1 s, most of it the file system.
    assert big < max(10 * small, 1.0)


def test_a_long_reader_postpones_retention_instead_of_stalling_writes(
    transactional_db, settings, superuser_connect, capsys
):
    from django.core.management.base import CommandError

    partitions.ensure_between(connection, utc(2019, 1, 1), utc(2019, 1, 31))
    AuditLog.objects.create(timestamp=utc(2019, 1, 5), action="CREATE")
    reader = superuser_connect()
    with reader.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("SELECT count(*) FROM pgaudit_auditlog")  # an admin page still running
        settings.AUDIT_RETENTION = DROP_ALL
        with pytest.raises(CommandError, match="could not get their lock"):
            call_command("pgaudit_retention", "--lock-timeout", "200ms")
        cur.execute("ROLLBACK")
    assert "postponed (lock timeout): [security] drop partition pgaudit_auditlog_y2019m01" in (
        capsys.readouterr().err
    )
    assert AuditLog.objects.filter(timestamp__year=2019).count() == 1
    call_command("pgaudit_retention", verbosity=0)  # the next run does it
    assert AuditLog.objects.filter(timestamp__year=2019).count() == 0
