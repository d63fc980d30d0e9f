"""Django settings of the benchmark project (``python -m benchmarks`` sets the environment).

Read from the environment, because ``benchmarks.__main__`` decides them before Django starts:

* ``PGAUDIT_BENCH_SERVER_URL``: the PostgreSQL server (any database on it);
* ``PGAUDIT_BENCH_DB_NAME``: the benchmark's own database on that server (created by the runner);
* ``PGAUDIT_BENCH_PEERS``: comma-separated peer apps to install (``pghistory``, ``auditlog``,
  ``simple_history``); empty for our own models only;
* ``PGAUDIT_BENCH_MIGRATIONS``: a throw-away folder the runner writes migrations into.

The benchmark apps keep no migrations in the repository on purpose: migrations embed the trigger
SQL, and a committed copy would keep measuring yesterday's triggers after ``capture/sql.py``
changed. The runner runs ``makemigrations`` into a temporary folder and then ``migrate``, which
is exactly what a user of the library does.
"""

from __future__ import annotations

import os
import sys

from devtools.postgres import django_database_settings

_server_url = os.environ.get(
    "PGAUDIT_BENCH_SERVER_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
_db_name = os.environ.get("PGAUDIT_BENCH_DB_NAME", "bench_pgaudit")
PEERS = tuple(p for p in os.environ.get("PGAUDIT_BENCH_PEERS", "").split(",") if p)
_migrations_dir = os.environ.get("PGAUDIT_BENCH_MIGRATIONS", "")
MIGRATIONS_PACKAGE = "pgaudit_bench_migrations"

SECRET_KEY = "pgaudit-benchmarks-not-secret"
DEBUG = False  # DEBUG=True would keep every query in memory and slow the ORM down
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "benchmarks.urls"
ALLOWED_HOSTS = ["*"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DATABASES = {
    "default": {
        **django_database_settings(_server_url),
        "NAME": _db_name,
        # Persistent connection: the plan-stability workload is about a session's cached plans,
        # and a web process keeps its connection too.
        "CONN_MAX_AGE": None,
    }
}

# Peer packages are optional; each peer's models live in its own app, installed only on request.
# peer -> (its own Django apps, our benchmark apps holding the peer's copy of the model)
_PEER_APPS: dict[str, tuple[list[str], list[str]]] = {
    "pghistory": (["pghistory"], ["pghistory_row", "pghistory_stmt"]),
    "auditlog": (["auditlog"], ["auditlog_peer"]),
    "simple_history": (["simple_history"], ["simplehistory_peer"]),
}
LOCAL_APPS = ["benchapp"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "pgtrigger",
    "pgaudit_django",
    "benchmarks.benchapp",
]
for _peer in PEERS:
    _theirs, _ours = _PEER_APPS[_peer]
    INSTALLED_APPS += _theirs + [f"benchmarks.peers.{label}" for label in _ours]
    LOCAL_APPS += _ours

if _migrations_dir:
    sys.path.insert(0, _migrations_dir)
    MIGRATION_MODULES = {label: f"{MIGRATIONS_PACKAGE}.{label}" for label in LOCAL_APPS}

# The baseline request of the read benchmark: sessions and authentication, as in most projects.
# The runner adds AuditMiddleware (or a peer's middleware) per variant with override_settings.
BASE_MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
MIDDLEWARE = [*BASE_MIDDLEWARE, "pgaudit_django.middleware.AuditMiddleware"]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
STATIC_URL = "/static/"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING_CONFIG = None  # keep the benchmark's output to its own table
