"""Hand out a PostgreSQL server URL for the tests, the demo and the benchmarks.

pgaudit_django's change capture lives in PostgreSQL triggers, so nothing here can be tested against
SQLite: every run needs a real server. ``provision()`` finds or starts one, in this order:

1. ``PGAUDIT_DATABASE_URL`` or ``DATABASE_URL`` (the former wins). When set, it must answer within
   ``CONNECT_TIMEOUT_S``; if it does not we raise instead of falling back, because the user asked
   for that server and silently testing against another one would hide their mistake.
2. testcontainers (``postgres:16``), only when a Docker engine answers a short ping.
3. the embedded ``pgserver`` wheel (PostgreSQL 16), data kept in ``<repo>/.pgdata/<purpose>``.
4. the machine's own ``initdb``/``pg_ctl`` in a temporary folder on a free loopback port.

Each step prints one progress line with its duration to stderr. Nothing here is a runtime
dependency of the library: testcontainers, docker, pgserver and the drivers are imported lazily.

Run ``python -m devtools.postgres [purpose]`` to print a URL and keep the server until Ctrl-C.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

__all__ = [
    "CONNECT_TIMEOUT_S",
    "ENV_VARS",
    "SOURCES",
    "Provisioned",
    "ProvisionError",
    "check_connection",
    "default_data_dir",
    "django_database_settings",
    "find_postgres_bindir",
    "from_env",
    "from_initdb",
    "from_pgserver",
    "from_testcontainers",
    "pgbouncer_available",
    "provision",
    "redact",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
# Checked in this order: the project-specific name wins over the generic one.
ENV_VARS = ("PGAUDIT_DATABASE_URL", "DATABASE_URL")
SOURCES = ("env", "testcontainers", "pgserver", "initdb")
TESTCONTAINERS_IMAGE = "postgres:16"

# libpq rounds connect_timeout below 2 s up to 2 s; 5 s leaves room for a loaded CI machine.
CONNECT_TIMEOUT_S = 5
# A healthy local engine answers a ping in milliseconds; a wrong DOCKER_HOST must not cost a minute
# (docker-py's default timeout is 60 s).
DOCKER_PING_TIMEOUT_S = 3.0
# Pulling postgres:16 on a cold machine can take a while; past this we give up and fall back.
DOCKER_START_TIMEOUT_S = float(os.environ.get("PGAUDIT_DOCKER_START_TIMEOUT", "180"))
# pgserver's own wait loop for "ready" has no upper bound, so we bound it from outside.
PGSERVER_START_TIMEOUT_S = 120.0
INITDB_TIMEOUT_S = 120.0
PG_CTL_TIMEOUT_S = 60

_PURPOSE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_T = TypeVar("_T")


class ProvisionError(RuntimeError):
    """No usable PostgreSQL server; the message says what was tried and how to fix it."""


@dataclass
class Provisioned:
    """A server URL plus how to stop the server if we started it (a no-op for ``env``)."""

    url: str
    source: str
    _stopper: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def stop(self) -> None:
        """Stop the server we started. Idempotent; safe to call from atexit and from tests."""
        stopper, self._stopper = self._stopper, None
        if stopper is not None:
            stopper()

    def django_settings(self) -> dict[str, Any]:
        return django_database_settings(self.url)

    def __repr__(self) -> str:
        return f"Provisioned(url={redact(self.url)!r}, source={self.source!r})"

    def __enter__(self) -> Provisioned:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# --------------------------------------------------------------------------------------------
# The entry point


def provision(
    purpose: str = "tests",
    *,
    data_dir: Path | None = None,
    sources: Iterable[str] | None = None,
) -> Provisioned:
    """Return a reachable PostgreSQL server for ``purpose`` ("tests", "demo", "bench", ...).

    ``data_dir`` only matters for pgserver (default ``<repo>/.pgdata/<purpose>``). ``sources``
    restricts and orders the attempts (default ``SOURCES``); tests use it to exercise one path.
    """
    _check_purpose(purpose)
    wanted = tuple(SOURCES if sources is None else sources)
    unknown = [name for name in wanted if name not in SOURCES]
    if unknown:
        raise ValueError(f"unknown PostgreSQL source(s) {unknown}; choose from {SOURCES}")

    tried: list[tuple[str, str]] = []
    for name in wanted:
        started = time.monotonic()
        try:
            if name == "env":
                found = from_env()
                if found is None:
                    raise ProvisionError(f"neither {' nor '.join(ENV_VARS)} is set")
            elif name == "testcontainers":
                found = from_testcontainers()
            elif name == "pgserver":
                found = from_pgserver(purpose, data_dir=data_dir)
            else:
                found = from_initdb(purpose)
        except _EnvUnreachable as exc:
            # The user named a server: report it, never paper over it with another one.
            _log(f"{name}: FAILED after {_since(started)}: {exc}")
            raise
        except Exception as exc:
            reason = _one_line(exc)
            _log(f"{name}: unavailable after {_since(started)}: {reason}")
            tried.append((name, reason))
            continue
        _log(f"{name}: ready after {_since(started)}: {redact(found.url)}")
        return found

    raise ProvisionError(_failure_message(purpose, tried))


def _failure_message(purpose: str, tried: list[tuple[str, str]]) -> str:
    lines = [f"No PostgreSQL server could be found or started for {purpose!r}. Tried:"]
    lines += [f"  - {name}: {reason}" for name, reason in tried]
    lines += [
        "Fix one of these:",
        "  - point DATABASE_URL (or PGAUDIT_DATABASE_URL) at a server you run, e.g.",
        "    `docker compose up -d` then DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres",
        "  - `pip install pgserver` (embedded PostgreSQL 16, no root or Docker needed)",
        "  - install the PostgreSQL server binaries (Debian: `apt-get install postgresql`)",
        "    so that initdb and pg_ctl are found",
        "  - start a Docker engine (testcontainers uses image postgres:16)",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# 1. Environment variable


class _EnvUnreachable(ProvisionError):
    """The environment names a server that does not answer: never fall back from this."""


def from_env(environ: Mapping[str, str] | None = None) -> Provisioned | None:
    """The server named by ``PGAUDIT_DATABASE_URL``/``DATABASE_URL``, or None when neither is set.

    Raises ``ProvisionError`` naming the variable when the URL is malformed or does not answer.
    """
    env = os.environ if environ is None else environ
    for var in ENV_VARS:
        url = env.get(var, "").strip()
        if url:
            break
    else:
        return None
    try:
        django_database_settings(url)  # rejects non-PostgreSQL schemes with a clear message
        check_connection(url)
    except Exception as exc:
        raise _EnvUnreachable(
            f"{var} is set to {redact(url)} but that server is not usable "
            f"({_one_line(exc)}). Start that server or fix {var}; or unset it to let devtools "
            "start a throwaway server (testcontainers, pgserver or initdb)."
        ) from exc
    return Provisioned(url, "env")


def check_connection(url: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Connect once and run ``SELECT 1``; raise the driver's error otherwise.

    Uses psycopg 3 when installed, else psycopg2, so psycopg2-only setups can still use this.
    ``connect_timeout`` bounds both a refused port and a server that accepts but never answers.
    """
    seconds = max(2, int(timeout))
    try:
        import psycopg
    except ImportError:
        import psycopg2

        conn2 = psycopg2.connect(url, connect_timeout=seconds)
        try:
            with conn2.cursor() as cur:
                cur.execute("SELECT 1")
        finally:
            conn2.close()
        return
    with psycopg.connect(url, connect_timeout=seconds, autocommit=True) as conn:
        conn.execute("SELECT 1")


# --------------------------------------------------------------------------------------------
# 2. testcontainers


def from_testcontainers(
    *,
    image: str = TESTCONTAINERS_IMAGE,
    start_timeout: float = DOCKER_START_TIMEOUT_S,
) -> Provisioned:
    """Start ``postgres:16`` in Docker; fails within ``DOCKER_PING_TIMEOUT_S`` without Docker."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError as exc:
        raise ProvisionError(
            "testcontainers/docker is not installed (pip install 'testcontainers[postgres]')"
        ) from exc
    # Ping first with our own short timeout: testcontainers builds its client with docker-py's
    # 60 s default, which a DOCKER_HOST that drops packets would spend in full.
    try:
        client = _run_bounded(
            lambda: docker.from_env(timeout=int(DOCKER_PING_TIMEOUT_S)),
            DOCKER_PING_TIMEOUT_S + 2,
            "Docker ping",
        )
        try:
            client.ping()
        finally:
            client.close()
    except (DockerException, OSError, ProvisionError) as exc:
        raise ProvisionError(f"no Docker engine answered: {_one_line(exc)}") from exc

    try:  # newer testcontainers releases moved the module and warn on the old path
        from testcontainers.community.postgres import PostgresContainer
    except ImportError:
        try:
            from testcontainers.postgres import PostgresContainer
        except ImportError as exc:
            raise ProvisionError(
                "testcontainers is not installed (pip install 'testcontainers[postgres]')"
            ) from exc

    try:
        container = PostgresContainer(image, driver=None)
    except Exception as exc:
        raise ProvisionError(f"testcontainers could not reach Docker: {_one_line(exc)}") from exc
    try:
        # A pull on a slow network could take minutes: bound it. On timeout the daemon thread is
        # abandoned; testcontainers' Ryuk reaper removes the container when this process exits.
        _run_bounded(container.start, start_timeout, f"docker start {image}")
        url = container.get_connection_url()
        check_connection(url)
    except Exception as exc:
        with contextlib.suppress(Exception):
            container.stop()
        raise ProvisionError(f"container {image} did not start: {_one_line(exc)}") from exc
    result = Provisioned(url, "testcontainers", container.stop)
    atexit.register(result.stop)
    return result


# --------------------------------------------------------------------------------------------
# 3. pgserver (PostgreSQL inside a wheel)


def default_data_dir(purpose: str) -> Path:
    """``<repo>/.pgdata/<purpose>``: a folder the project owns (pgserver loosens the permissions
    of its parents when run as root, so it must not live somewhere shared like ``$HOME``)."""
    _check_purpose(purpose)
    return REPO_ROOT / ".pgdata" / purpose


def from_pgserver(purpose: str = "tests", *, data_dir: Path | None = None) -> Provisioned:
    """Start (or reuse) an embedded PostgreSQL 16 from the ``pgserver`` wheel.

    The data folder is kept between runs, so only the first start pays for initdb. The server
    listens on a Unix socket inside that folder, so it never competes for a TCP port.
    """
    try:
        # platformdirs warns at pgserver's import when XDG_RUNTIME_DIR is unset (CI, root shells);
        # it falls back to /tmp/runtime-<uid>, which is fine, so keep -W error runs working.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pgserver.postgres_server import get_server
    except ImportError as exc:
        raise ProvisionError("pgserver is not installed (pip install pgserver)") from exc
    folder = (data_dir if data_dir is not None else default_data_dir(purpose)).resolve()
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = _run_bounded(
            lambda: get_server(folder, cleanup_mode="stop"),
            PGSERVER_START_TIMEOUT_S,
            "pgserver start",
        )
        info = server.get_postmaster_info()
    except Exception as exc:
        raise ProvisionError(
            f"pgserver failed in {folder}: {_one_line(exc)}{_log_tail(folder / 'log')}"
        ) from exc
    if info.socket_dir is not None:
        url = _socket_url("postgres", "postgres", Path(info.socket_dir), info.port)
    else:
        url = server.get_uri()
    check_connection(url)
    # pgserver also stops the server at interpreter exit (cleanup_mode="stop"); cleanup() is
    # idempotent and only stops it when this process holds the last handle.
    return Provisioned(url, "pgserver", server.cleanup)


# --------------------------------------------------------------------------------------------
# 4. The machine's initdb/pg_ctl


def find_postgres_bindir() -> Path | None:
    """A folder holding both ``initdb`` and ``pg_ctl``: PATH, ``pg_config --bindir``, then the
    newest ``/usr/lib/postgresql/*/bin`` (Debian keeps them off PATH)."""
    candidates: list[Path] = []
    for tool in ("initdb", "pg_ctl"):
        found = shutil.which(tool)
        if found:
            # Resolve symlinks so initdb and pg_ctl come from the same major version.
            candidates.append(Path(found).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidates.append(Path(out.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for folder in candidates:
        if all(os.access(folder / tool, os.X_OK) for tool in ("initdb", "pg_ctl")):
            return folder
    return None


def from_initdb(purpose: str = "tests") -> Provisioned:
    """A throwaway cluster from the machine's ``initdb`` in a temp folder, on 127.0.0.1.

    PostgreSQL refuses to run as root, so as root the commands run through ``runuser`` as the
    ``postgres`` (or else ``nobody``) user, who is given the temp folder.
    """
    _check_purpose(purpose)
    bindir = find_postgres_bindir()
    if bindir is None:
        raise ProvisionError(
            "no initdb/pg_ctl found on PATH, via pg_config or in /usr/lib/postgresql/*/bin"
        )
    prefix, owner = _unprivileged_prefix()
    tmp = Path(tempfile.mkdtemp(prefix=f"pgaudit-{purpose}-"))
    try:
        if owner is not None:
            os.chown(tmp, owner[0], owner[1])
        data = tmp / "data"
        _run(
            [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
             "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"],
            timeout=INITDB_TIMEOUT_S,
            what="initdb",
        )  # fmt: skip
        url = _start_initdb_cluster(bindir, prefix, tmp, data)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

    def stop() -> None:
        with contextlib.suppress(Exception):
            _run(
                [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                 "-t", str(PG_CTL_TIMEOUT_S), "stop"],
                timeout=PG_CTL_TIMEOUT_S + 10,
                what="pg_ctl stop",
            )  # fmt: skip
        shutil.rmtree(tmp, ignore_errors=True)

    result = Provisioned(url, "initdb", stop)
    # The temp cluster is useless once this process is gone: do not leave it running.
    atexit.register(result.stop)
    try:
        check_connection(url)
    except BaseException:
        result.stop()
        raise
    return result


def _start_initdb_cluster(bindir: Path, prefix: list[str], tmp: Path, data: Path) -> str:
    # The free port is found by binding and releasing it, so another process may take it before
    # the postmaster binds: retry a couple of times with a fresh port.
    last: Exception | None = None
    for _attempt in range(3):
        port = _free_port()
        try:
            _run(
                [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(tmp / "log"),
                 "-w", "-t", str(PG_CTL_TIMEOUT_S),
                 "-o", f"-h 127.0.0.1 -p {port} -k {shlex.quote(str(tmp))}", "start"],
                timeout=PG_CTL_TIMEOUT_S + 10,
                what="pg_ctl start",
            )  # fmt: skip
        except ProvisionError as exc:
            last = ProvisionError(f"{exc}{_log_tail(tmp / 'log')}")
            continue
        return f"postgresql://postgres@127.0.0.1:{port}/postgres"
    assert last is not None
    raise last


def _unprivileged_prefix() -> tuple[list[str], tuple[int, int] | None]:
    """Command prefix and (uid, gid) to run PostgreSQL binaries as a non-root user."""
    if os.geteuid() != 0:
        return [], None
    import pwd

    runuser = shutil.which("runuser") or (
        "/usr/sbin/runuser" if os.access("/usr/sbin/runuser", os.X_OK) else None
    )
    if runuser is None:
        raise ProvisionError("running as root (which initdb refuses) and runuser is missing")
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return [runuser, "-u", name, "--"], (entry.pw_uid, entry.pw_gid)
    raise ProvisionError("running as root (which initdb refuses) and no postgres/nobody user")


# --------------------------------------------------------------------------------------------
# Django settings from a URL


_URL_KEYS = {"host", "port", "user", "password", "dbname"}


def django_database_settings(url: str) -> dict[str, Any]:
    """Turn a libpq URL into a Django ``DATABASES`` entry.

    Handles ``postgres://`` and ``postgresql://`` (a ``+driver`` suffix is ignored), user and
    password with percent-escapes, IPv6 hosts, socket folders given as ``?host=/dir`` or as a
    percent-encoded host (``postgresql://%2Fvar%2Frun%2Fpostgresql/db``); other query parameters
    (``sslmode``, ``options``, ...) go to ``OPTIONS``, which Django passes on to the driver.
    Parsed by hand rather than with dj-database-url to keep the dependency list short and because
    ``urlsplit().hostname`` lower-cases socket paths.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower().partition("+")[0]
    if scheme not in ("postgres", "postgresql"):
        raise ValueError(
            f"not a PostgreSQL URL: scheme {parts.scheme!r} (expected postgres:// or postgresql://)"
        )
    userinfo, _, hostport = parts.netloc.rpartition("@")
    raw_user, _, raw_password = userinfo.partition(":")
    host, port = _split_hostport(hostport)
    params: dict[str, str] = {}
    for pair in filter(None, parts.query.split("&")):
        key, _, value = pair.partition("=")
        # libpq decodes %XX only; a "+" stays a "+" (unlike urllib's parse_qsl).
        params[unquote(key)] = unquote(value)
    settings: dict[str, Any] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": params.get("dbname") or unquote(parts.path.lstrip("/")),
        "USER": params.get("user", unquote(raw_user)),
        "PASSWORD": params.get("password", unquote(raw_password)),
        "HOST": params.get("host", host),
        "PORT": params.get("port", port),
        "OPTIONS": {key: value for key, value in params.items() if key not in _URL_KEYS},
    }
    # libpq defaults the database to the user name; Django insists on a NAME.
    settings["NAME"] = settings["NAME"] or settings["USER"] or "postgres"
    return settings


def _split_hostport(hostport: str) -> tuple[str, str]:
    if "," in hostport:
        raise ValueError("multi-host PostgreSQL URLs are not supported by Django settings")
    if hostport.startswith("["):  # IPv6 literal: [::1]:5432
        end = hostport.find("]")
        if end < 0:
            raise ValueError(f"unterminated IPv6 host in {hostport!r}")
        host, rest = hostport[1:end], hostport[end + 1 :]
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, sep, port = hostport.rpartition(":")
        if not sep:
            host, port = port, ""
    if port and not port.isdigit():
        raise ValueError(f"bad port {port!r} in PostgreSQL URL")
    return unquote(host), port


def _socket_url(user: str, dbname: str, socket_dir: Path, port: int | None) -> str:
    query = f"host={quote(str(socket_dir), safe='/')}"
    if port is not None and port != 5432:
        query += f"&port={port}"
    return f"postgresql://{quote(user)}@/{quote(dbname)}?{query}"


def redact(url: str) -> str:
    """The URL with any password replaced by ``***`` (for logs and error messages)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.partition(':')[0]}:***@{hostport}"
    query = re.sub(r"(^|&)password=[^&]*", r"\1password=***", parts.query)
    return parts._replace(netloc=netloc, query=query).geturl()


# --------------------------------------------------------------------------------------------
# pgbouncer


def pgbouncer_available() -> str | None:
    """Path of a pgbouncer binary, or None. Debian installs it in /usr/sbin, often off PATH."""
    found = shutil.which("pgbouncer")
    if found:
        return found
    for candidate in (
        "/usr/sbin/pgbouncer",
        "/usr/local/sbin/pgbouncer",
        "/usr/local/bin/pgbouncer",
    ):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


# --------------------------------------------------------------------------------------------
# Small helpers


def _check_purpose(purpose: str) -> None:
    # purpose becomes a folder name: keep it to one safe path component.
    if not _PURPOSE_RE.match(purpose):
        raise ValueError(f"purpose must match {_PURPOSE_RE.pattern}, got {purpose!r}")


def _run(cmd: list[str], *, timeout: float, what: str) -> None:
    try:
        subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.CalledProcessError as exc:
        output = (exc.stderr or exc.stdout or "").strip().splitlines()[-5:]
        raise ProvisionError(f"{what} exited with {exc.returncode}: {' | '.join(output)}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ProvisionError(f"{what} did not finish within {timeout:.0f} s") from exc


def _run_bounded(fn: Callable[[], _T], seconds: float, what: str) -> _T:
    """Run ``fn`` in a daemon thread and give up after ``seconds`` (the thread is abandoned)."""
    result: list[_T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(fn())
        except BaseException as exc:  # re-raised in the caller's thread below
            errors.append(exc)

    thread = threading.Thread(target=target, name=f"pgaudit-{what}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise ProvisionError(f"{what} did not finish within {seconds:.0f} s")
    if errors:
        raise errors[0]
    return result[0]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _version_key(path: Path) -> tuple[int, str]:
    name = path.parent.name
    return (int(name), name) if name.isdigit() else (-1, name)


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        tail = path.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return f" (server log {path}: {' | '.join(tail)})" if tail else ""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 400 else text[:397] + "..."


def _since(started: float) -> str:
    return f"{time.monotonic() - started:.2f} s"


def _log(message: str) -> None:
    print(f"[devtools.postgres] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m devtools.postgres [purpose]``: print the URL, keep the server until Ctrl-C."""
    args = sys.argv[1:] if argv is None else argv
    purpose = args[0] if args else "demo"
    found = provision(purpose)
    print(f"DATABASE_URL={found.url}", flush=True)
    if found.source == "env":
        return 0
    _log(f"server from {found.source} is running; press Ctrl-C to stop it")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        found.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
