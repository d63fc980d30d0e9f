"""Settings of the test project: a real PostgreSQL, never SQLite.

The database comes from PGAUDIT_DATABASE_URL / DATABASE_URL when set, else from
devtools.postgres.provision() (testcontainers, embedded pgserver, or the machine's initdb).
PGAUDIT_TEST_DRIVER=psycopg2 runs the suite under psycopg2 (it hides psycopg 3 from Django).
"""

from __future__ import annotations

import os
import sys

if os.environ.get("PGAUDIT_TEST_DRIVER") == "psycopg2":
    # Django prefers psycopg 3 whenever it imports; make it fall back to psycopg2.
    sys.modules["psycopg"] = None  # type: ignore[assignment]

from devtools.postgres import django_database_settings, provision  # noqa: E402

_url = os.environ.get("PGAUDIT_DATABASE_URL") or os.environ.get("DATABASE_URL")
if not _url:
    _provisioned = provision("tests")
    _url = _provisioned.url
    os.environ["PGAUDIT_DATABASE_URL"] = _url  # child processes (pgbouncer tests) reuse it

SECRET_KEY = "pgaudit-tests-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
ALLOWED_HOSTS = ["*"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DATABASES = {
    "default": {**django_database_settings(_url), "CONN_MAX_AGE": 0},
}
# Separate names let several runs share one server (e.g. the Django 4.2 and 5.2 runs).
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("PGAUDIT_TEST_DB_NAME", "test_pgaudit")}
# A second alias on the same server: attribution must work on every alias, not only "default".
DATABASES["other"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "pgtrigger",
    "pgaudit_django",
    "tests.testapp",
    "tests.audit_triggers",
]
AUDIT_TRIGGERS_APP = "audit_triggers"

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "pgaudit_django.middleware.AuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
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
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests
