"""Tests of devtools.postgres, which hands out PostgreSQL servers to the suite, demo and benches.

They talk to servers through a driver directly, never through Django's connection, so they need
neither Django settings nor pytest-django's ``db`` fixture. Each server path is exercised for
real; a path whose prerequisite is missing on this machine skips with the reason.
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools import postgres as pg

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _drivers() -> list[Any]:
    """The importable drivers. The psycopg2 run of the suite hides psycopg 3 (tests/settings.py
    sets sys.modules["psycopg"] = None), so nothing here may import psycopg unconditionally."""
    found = []
    for name in ("psycopg", "psycopg2"):
        try:
            found.append(importlib.import_module(name))
        except ImportError:
            continue
    return found


def _query(sql: str, dsn: str = "", **kwargs: Any) -> list[tuple[Any, ...]]:
    """Run ``sql`` in autocommit with the first importable driver; rows if it returns any."""
    driver = _drivers()[0]
    conn = driver.connect(dsn, **kwargs)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall()) if cur.description else []
    finally:
        conn.close()


def _accepts_postgres(url: str) -> bool:
    try:
        pg.check_connection(url, timeout=2)
    except Exception:
        return False
    return True


def _docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except Exception:
        return False
    return True


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def no_env_url(monkeypatch: pytest.MonkeyPatch) -> None:
    # CI exports DATABASE_URL; tests of the other sources must not see it.
    for var in pg.ENV_VARS:
        monkeypatch.delenv(var, raising=False)


# ------------------------------------------------------------------------------------------------
# 1. Environment variable


needs_local = pytest.mark.skipif(
    not _accepts_postgres(LOCAL_URL), reason=f"no PostgreSQL answering at {LOCAL_URL}"
)


@needs_local
def test_env_url_is_used_as_given(no_env_url: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", LOCAL_URL)
    found = pg.provision()
    assert (found.source, found.url) == ("env", LOCAL_URL)
    assert _query("SELECT 1", found.url) == [(1,)]
    found.stop()  # a no-op for a server we did not start
    assert _accepts_postgres(LOCAL_URL)


@needs_local
def test_pgaudit_database_url_wins(no_env_url: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"postgresql://postgres@127.0.0.1:{_closed_port()}/x")
    monkeypatch.setenv("PGAUDIT_DATABASE_URL", LOCAL_URL)
    assert pg.provision().url == LOCAL_URL


def test_unreachable_env_url_fails_fast_and_names_variable(
    no_env_url: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"postgresql://postgres:s3cret@127.0.0.1:{_closed_port()}/postgres"
    monkeypatch.setenv("DATABASE_URL", url)
    started = time.monotonic()
    with pytest.raises(pg.ProvisionError) as info:
        pg.provision()
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert "DATABASE_URL" in message
    assert "s3cret" not in message  # passwords never reach logs
    assert "***" in message


def test_env_url_to_a_silent_server_times_out(
    no_env_url: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that accepts TCP but never answers must not hang the run."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # the kernel completes handshakes; nobody ever replies
    port = listener.getsockname()[1]
    monkeypatch.setenv("PGAUDIT_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{port}/postgres")
    started = time.monotonic()
    try:
        with pytest.raises(pg.ProvisionError, match="PGAUDIT_DATABASE_URL"):
            pg.provision()
    finally:
        listener.close()
    assert time.monotonic() - started < 10


def test_env_url_with_wrong_scheme_is_rejected(
    no_env_url: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://root@127.0.0.1/test")
    with pytest.raises(pg.ProvisionError, match="DATABASE_URL.*not a PostgreSQL URL"):
        pg.provision()


def test_empty_env_var_counts_as_unset(no_env_url: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "  ")
    assert pg.from_env() is None
    with pytest.raises(pg.ProvisionError, match="neither PGAUDIT_DATABASE_URL nor DATABASE_URL"):
        pg.provision(sources=["env"])


# ------------------------------------------------------------------------------------------------
# 2. testcontainers


@pytest.mark.skipif(_docker_answers(), reason="a Docker engine answers here")
def test_testcontainers_fails_fast_without_docker() -> None:
    started = time.monotonic()
    with pytest.raises(pg.ProvisionError, match="Docker"):
        pg.from_testcontainers()
    assert time.monotonic() - started < 5


@pytest.mark.skipif(_docker_answers(), reason="a Docker engine answers here")
def test_failure_message_lists_attempts_and_fixes(no_env_url: None) -> None:
    with pytest.raises(RuntimeError) as info:
        pg.provision(sources=["env", "testcontainers"])
    message = str(info.value)
    assert "  - env: neither" in message
    assert "  - testcontainers: no Docker engine answered" in message
    assert "DATABASE_URL" in message and "pip install pgserver" in message


# ------------------------------------------------------------------------------------------------
# 3 and 4. Servers we start: pgserver and the machine's initdb


def _start(source: str, purpose: str) -> pg.Provisioned:
    if source == "pgserver":
        pytest.importorskip("pgserver")
        return pg.from_pgserver(purpose)
    if pg.find_postgres_bindir() is None:
        pytest.skip("no initdb/pg_ctl on this machine")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser; initdb refuses root")
    return pg.from_initdb(purpose)


@pytest.fixture(scope="module", params=["pgserver", "initdb"])
def started_server(request: pytest.FixtureRequest) -> Iterator[pg.Provisioned]:
    found = _start(request.param, "devtools-test")
    yield found
    found.stop()


def test_started_server_answers(started_server: pg.Provisioned) -> None:
    assert _query("SELECT 1", started_server.url) == [(1,)]


def test_statement_trigger_with_transition_table(started_server: pg.Provisioned) -> None:
    """The capture design depends on statement-level triggers with REFERENCING NEW TABLE."""
    url = started_server.url
    _query("DROP SCHEMA IF EXISTS devtools_probe CASCADE; CREATE SCHEMA devtools_probe", url)
    try:
        _query(
            """
            CREATE TABLE devtools_probe.item (id int PRIMARY KEY, name text);
            CREATE TABLE devtools_probe.log (rows int, names jsonb);
            CREATE FUNCTION devtools_probe.capture() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO devtools_probe.log (rows, names)
                SELECT count(*), jsonb_agg(n.name ORDER BY n.id) FROM new_rows n;
                RETURN NULL;
            END $$;
            CREATE TRIGGER item_capture AFTER INSERT ON devtools_probe.item
            REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION devtools_probe.capture();
            """,
            url,
        )
        _query("INSERT INTO devtools_probe.item VALUES (1, 'a'), (2, 'b'), (3, 'c')", url)
        logged = _query("SELECT rows, names FROM devtools_probe.log", url)
    finally:
        _query("DROP SCHEMA devtools_probe CASCADE", url)
    assert logged == [(3, ["a", "b", "c"])]  # one row for the whole statement


def test_started_server_works_from_django_settings(started_server: pg.Provisioned) -> None:
    """The settings dict must carry what a driver needs, for the socket form too."""
    settings = started_server.django_settings()
    assert settings["ENGINE"] == "django.db.backends.postgresql"
    kwargs = {
        "dbname": settings["NAME"],
        "user": settings["USER"],
        "host": settings["HOST"],
        "port": settings["PORT"] or None,
    }
    drivers = _drivers()
    assert drivers
    for driver in drivers:  # both in the default run, psycopg2 alone in the psycopg2 run
        conn = driver.connect(**kwargs)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT current_database()")
                assert cur.fetchone() == (settings["NAME"],), driver.__name__
        finally:
            conn.close()


@pytest.mark.parametrize("source", ["pgserver", "initdb"])
def test_stop_stops_the_server(source: str) -> None:
    found = _start(source, "devtools-stop-test")
    assert found.source == source
    assert _accepts_postgres(found.url)
    found.stop()
    found.stop()  # idempotent
    assert not _accepts_postgres(found.url)


@pytest.mark.skipif(_docker_answers(), reason="a Docker engine answers here")
def test_provision_falls_back_to_pgserver_without_docker(no_env_url: None) -> None:
    pytest.importorskip("pgserver")
    with pg.provision("devtools-stop-test", sources=["env", "testcontainers", "pgserver"]) as found:
        assert found.source == "pgserver"
        assert found.url.startswith("postgresql://postgres@/postgres?host=")
        assert str(pg.default_data_dir("devtools-stop-test")) in found.url
        assert _accepts_postgres(found.url)


def test_pgserver_data_dir_is_in_the_repo() -> None:
    assert pg.default_data_dir("tests") == Path(pg.__file__).resolve().parents[1] / ".pgdata/tests"


# ------------------------------------------------------------------------------------------------
# Django settings from URLs


def test_settings_from_tcp_url_with_escapes_and_options() -> None:
    settings = pg.django_database_settings(
        "postgres://app%40x:p%3Ass%2Bw@db.example.test:6543/my%20db?sslmode=require&options=-c%20a%3Db+c"
    )
    assert settings == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "my db",
        "USER": "app@x",
        "PASSWORD": "p:ss+w",
        "HOST": "db.example.test",
        "PORT": "6543",
        # libpq keeps "+" literal in query values, unlike HTML form decoding.
        "OPTIONS": {"sslmode": "require", "options": "-c a=b+c"},
    }


def test_settings_from_socket_query_form() -> None:
    settings = pg.django_database_settings(
        "postgresql://postgres:@/postgres?host=/work/Main/.pgdata/tests&port=5433"
    )
    assert settings["HOST"] == "/work/Main/.pgdata/tests"  # case kept: it is a path
    assert (settings["NAME"], settings["USER"], settings["PASSWORD"]) == (
        "postgres",
        "postgres",
        "",
    )
    assert settings["PORT"] == "5433"
    assert settings["OPTIONS"] == {}


def test_settings_from_percent_encoded_socket_host() -> None:
    settings = pg.django_database_settings("postgresql://%2Fvar%2Frun%2Fpostgresql/app")
    assert (settings["HOST"], settings["PORT"], settings["NAME"]) == (
        "/var/run/postgresql",
        "",
        "app",
    )
    assert settings["USER"] == ""


def test_settings_from_ipv6_and_driver_suffix_and_defaults() -> None:
    settings = pg.django_database_settings("postgresql+psycopg://bob@[::1]:5432")
    assert (settings["HOST"], settings["PORT"]) == ("::1", "5432")
    assert settings["NAME"] == "bob"  # libpq's default database is the user name
    assert pg.django_database_settings("postgres://")["NAME"] == "postgres"


@pytest.mark.parametrize(
    "url",
    ["mysql://u@h/db", "sqlite:///x.db", "postgres://h:port/db", "postgres://a:1,b:2/db"],
)
def test_settings_reject_bad_urls(url: str) -> None:
    with pytest.raises(ValueError):
        pg.django_database_settings(url)


def test_redact_hides_passwords() -> None:
    assert pg.redact("postgres://u:secret@h:1/d?password=x&sslmode=require") == (
        "postgres://u:***@h:1/d?password=***&sslmode=require"
    )
    assert pg.redact("postgresql://u@/d?host=/tmp") == "postgresql://u@/d?host=/tmp"


# ------------------------------------------------------------------------------------------------
# Misc


def test_pgbouncer_available_returns_an_executable_or_none() -> None:
    found = pg.pgbouncer_available()
    if found is None:
        assert shutil.which("pgbouncer") is None and not os.path.exists("/usr/sbin/pgbouncer")
    else:
        assert os.access(found, os.X_OK) and os.path.basename(found) == "pgbouncer"


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown PostgreSQL source"):
        pg.provision(sources=["docker"])
    with pytest.raises(ValueError, match="purpose"):
        pg.provision("../escape", sources=["pgserver"])


def test_run_bounded_returns_reraises_and_times_out() -> None:
    """_run_bounded returns results and re-raises errors from its worker thread."""
    assert pg._run_bounded(lambda: 42, 5, "answer") == 42
    with pytest.raises(ZeroDivisionError):
        pg._run_bounded(lambda: 1 // 0, 5, "divide")
    gate = threading.Event()
    with pytest.raises(pg.ProvisionError, match="did not finish within"):
        pg._run_bounded(lambda: gate.wait(10), 0.2, "slow")
    gate.set()
