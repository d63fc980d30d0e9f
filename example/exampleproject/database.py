"""Where the example project's PostgreSQL comes from.

1. ``DATABASE_URL`` when it is set (``postgres://user:password@host:5432/name``; a socket folder
   can be given as ``?host=/path``).
2. Otherwise an embedded PostgreSQL 16 from the ``pgserver`` wheel: no system install, no
   Docker. Its data lives in a folder the demo owns (``PGAUDIT_DEMO_DATA_DIR``, default
   ``<repository>/.pgdata/demo`` in a checkout, ``example/.pgdata/demo`` elsewhere) and is kept
   between runs; the server is stopped when the process exits, also on Ctrl-C and SIGTERM.

This module must work from an installed wheel, where the repository's ``devtools`` package
(which also knows how to fall back to the machine's ``initdb``) is absent: it uses ``devtools``
when importable and ``pgserver`` directly otherwise.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import unquote, urlsplit

EXAMPLE_DIR = Path(__file__).resolve().parent.parent
# The repository root when the example runs from a checkout (it then has devtools/ next to it).
REPO_DIR = EXAMPLE_DIR.parent
_QUERY_KEYS = {"host", "port", "user", "password", "dbname"}

# Set once a server is running: the URL and how long it took, for the demo's progress output.
started_url: str | None = None
start_seconds: float | None = None
source: str = "DATABASE_URL"


def say(message: str) -> None:
    # stderr: settings are imported by every manage.py command, whose stdout may be piped.
    print(f"[example] {message}", file=sys.stderr, flush=True)


def parse_url(url: str) -> dict[str, Any]:
    """A Django ``DATABASES`` entry from a ``postgres://`` URL (hand-written: no extra dependency).

    Query parameters other than host/port/user/password/dbname (``sslmode=require``, ...) are
    handed to the driver through ``OPTIONS``.
    """
    parts = urlsplit(url)
    if parts.scheme.split("+")[0] not in ("postgres", "postgresql"):
        raise ValueError(f"DATABASE_URL must start with postgres:// or postgresql://, got {url!r}")
    query = {}
    for pair in filter(None, parts.query.split("&")):
        key, _, value = pair.partition("=")
        query[unquote(key)] = unquote(value)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    if hostport.startswith("["):  # [::1]:5432
        host, _, port = hostport[1:].partition("]")
        port = port.lstrip(":")
    else:
        host, _, port = hostport.partition(":")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": query.get("dbname") or unquote(parts.path.lstrip("/")) or "postgres",
        "USER": query.get("user", unquote(user)),
        "PASSWORD": query.get("password", unquote(password)),
        "HOST": query.get("host", unquote(host)),
        "PORT": query.get("port", port),
        "OPTIONS": {k: v for k, v in query.items() if k not in _QUERY_KEYS},
    }


def redact(url: str) -> str:
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if at and ":" in userinfo and userinfo.partition(":")[2]:
        return parts._replace(netloc=f"{userinfo.partition(':')[0]}:***@{hostport}").geturl()
    return url


def data_dir() -> Path:
    configured = os.environ.get("PGAUDIT_DEMO_DATA_DIR")
    if configured:
        return Path(configured).expanduser().resolve()
    if (REPO_DIR / "devtools" / "postgres.py").is_file():
        return REPO_DIR / ".pgdata" / "demo"  # gitignored in the repository
    return EXAMPLE_DIR / ".pgdata" / "demo"


def _stop_on_signals() -> None:
    """Turn SIGTERM/SIGHUP into a normal exit so that atexit stops the embedded server.

    Ctrl-C already raises KeyboardInterrupt, which unwinds into atexit; SIGTERM (``kill``,
    ``docker stop``, a closing terminal sends SIGHUP) would otherwise end the process without
    running atexit and leave the server running.
    """
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be installed from the main thread

    def leave(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if signum is not None and signal.getsignal(signum) in (signal.SIG_DFL, None):
            signal.signal(signum, leave)


def _start_with_devtools(folder: Path) -> tuple[str, Callable[[], None]] | None:
    try:
        from devtools.postgres import provision
    except ImportError:
        return None
    found = provision("demo", data_dir=folder, sources=("pgserver", "initdb"))
    global source
    source = f"devtools ({found.source})"
    return found.url, found.stop


def _start_with_pgserver(folder: Path) -> tuple[str, Callable[[], None]]:
    try:
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset (root shells, CI): harmless.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver
    except ImportError:
        raise SystemExit(
            "No database: DATABASE_URL is not set and the embedded server needs the pgserver "
            "package.\n  pip install pgserver     # or: export DATABASE_URL=postgres://..."
        ) from None
    folder.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(folder, cleanup_mode="stop")
    global source
    source = "pgserver"
    return server.get_uri(), server.cleanup


def database_url() -> str:
    """``DATABASE_URL``, or the URL of a freshly started (or still running) embedded server."""
    global started_url, start_seconds
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    if started_url is not None:
        return started_url
    folder = data_dir()
    say(f"DATABASE_URL is not set: starting an embedded PostgreSQL (pgserver) in {folder}")
    began = time.monotonic()
    started = _start_with_devtools(folder) or _start_with_pgserver(folder)
    started_url, stop = started
    start_seconds = time.monotonic() - began

    def shutdown() -> None:
        # pgserver registers its own atexit hook too; both are idempotent. The server only
        # stops when no other process (a second manage.py) still holds a handle on it.
        stop()
        if (folder / "postmaster.pid").exists():
            say("embedded PostgreSQL left running: another process is still using it")
        else:
            say("embedded PostgreSQL stopped")

    atexit.register(shutdown)
    _stop_on_signals()
    say(f"embedded PostgreSQL ready in {start_seconds:.1f} s ({source}): {started_url}")
    return started_url
