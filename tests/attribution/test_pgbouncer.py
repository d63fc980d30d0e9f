"""Behind PgBouncer in transaction pooling mode, attribution never crosses between clients.

Two clients share ONE server connection (default_pool_size = 1) and interleave statement by
statement. A control case shows that the setup would expose a leak: a session-level setting
made by one client is seen by the other.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection

import pgaudit_django
from pgaudit_django.models import AuditLog
from tests.conftest import raw_connection
from tests.testapp.models import Customer

pytestmark = [pytest.mark.pgbouncer, pytest.mark.django_db(transaction=True)]

PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unprivileged_user(host: str) -> str:
    """Whoever may open the server's socket: the embedded server's socket folder is private."""
    if host.startswith("/"):
        owner = pwd.getpwuid(os.stat(host).st_uid).pw_name
        if owner != "root":
            return owner
    return "postgres"


@pytest.fixture
def pgbouncer() -> Iterator[dict]:
    if PGBOUNCER is None:
        pytest.skip("pgbouncer is not installed (Debian package 'pgbouncer')")
    params = connection.get_connection_params()
    host = params.get("host") or "/var/run/postgresql"
    workdir = Path(tempfile.mkdtemp(prefix="pgaudit-pgbouncer-"))
    port = _free_port()
    (workdir / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={host} port={params.get("port") or 5432} user={params["user"]}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 1
max_client_conn = 20
ignore_startup_parameters = extra_float_digits,options
server_connect_timeout = 5
server_login_retry = 1
client_login_timeout = 10
logfile = {workdir}/pgbouncer.log
pidfile = {workdir}/pgbouncer.pid
"""
    )
    command = [PGBOUNCER, str(workdir / "pgbouncer.ini")]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        workdir.chmod(0o777)
        for f in workdir.iterdir():
            f.chmod(0o666)
        command = ["runuser", "-u", _unprivileged_user(host), "--", *command]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(
                    f"pgbouncer exited: {proc.stdout.read().decode() if proc.stdout else ''}"
                )
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("pgbouncer did not start within 10 s")
    try:
        yield {"host": "127.0.0.1", "port": str(port), "name": params["dbname"]}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def _wrapper_through(bouncer: dict, alias: str):
    from django.db.backends.postgresql.base import DatabaseWrapper

    settings_dict = {
        **connection.settings_dict,
        "HOST": bouncer["host"],
        "PORT": bouncer["port"],
        "NAME": bouncer["name"],
        "CONN_MAX_AGE": None,
    }
    return DatabaseWrapper(settings_dict, alias=alias)


def test_two_interleaving_clients_never_share_attribution(pgbouncer):
    alice = User.objects.create_user("bouncer-alice")
    customers = [Customer.objects.create(name=f"b{i}") for i in range(2)]
    turns = [threading.Semaphore(1), threading.Semaphore(0)]
    errors: list[BaseException] = []
    rounds = 5

    def run(index: int) -> None:
        try:
            db = _wrapper_through(pgbouncer, f"bouncer{index}")  # created in its own thread
            customer = customers[index]
            for step in range(rounds):
                turns[index].acquire()
                if index == 0:
                    with pgaudit_django.context(user=alice, reason="alice"), db.cursor() as cur:
                        cur.execute(
                            "UPDATE testapp_customer SET name = %s WHERE id = %s",
                            [f"a{step}", customer.pk],
                        )
                else:
                    with db.cursor() as cur:  # no context at all
                        cur.execute(
                            "UPDATE testapp_customer SET name = %s WHERE id = %s",
                            [f"b{step}", customer.pk],
                        )
                turns[1 - index].release()
            db.close()
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
            turns[1 - index].release()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    alice_rows = AuditLog.objects.for_object(customers[0]).filter(action="UPDATE")
    other_rows = AuditLog.objects.for_object(customers[1]).filter(action="UPDATE")
    assert alice_rows.count() == other_rows.count() == rounds
    assert {r.user_id for r in alice_rows} == {alice.pk}
    assert {r.context.reason for r in alice_rows.select_related("context")} == {"alice"}
    assert {r.user_id for r in other_rows} == {None}
    assert {r.context.source for r in other_rows.select_related("context")} == {"app"}


def test_control_a_session_level_setting_would_leak(pgbouncer):
    """Proves the fixture really shares one server connection between the two clients."""
    customer = Customer.objects.create(name="leak")
    dsn = (
        f"host={pgbouncer['host']} port={pgbouncer['port']} dbname={pgbouncer['name']} "
        "user=postgres"
    )
    a, b = raw_connection(dsn), raw_connection(dsn)
    try:
        a.execute("SELECT set_config('pgaudit_django.context', '{\"src\": \"leaked\"}', false)")
        b.execute("UPDATE testapp_customer SET name = 'b' WHERE id = %s", [customer.pk])
        a.execute("RESET pgaudit_django.context")
    finally:
        a.close()
        b.close()
    (update,) = AuditLog.objects.for_object(customer).filter(action="UPDATE")
    assert update.context.source == "leaked"
