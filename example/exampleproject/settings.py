"""Settings of the example shop: pgaudit_django set up the way the README tells users to.

Not for production: DEBUG is on, the secret key is public and the server listens on loopback.
"""

from __future__ import annotations

import os
from pathlib import Path

from exampleproject.database import database_url, parse_url

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-project-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"  # runserver serves the admin's CSS only then
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # pgaudit_django installs its triggers through django-pgtrigger's migrations.
    "pgtrigger",
    "pgaudit_django",
    "shop",
    # Created with `manage.py pgaudit_init audit_triggers`: hosts the triggers of auth.User, a
    # model this project does not own. After the apps whose models it tracks.
    "audit_triggers",
]
AUDIT_TRIGGERS_APP = "audit_triggers"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # After AuthenticationMiddleware: the user is read when a write happens, not on the way in.
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "pgaudit_django.middleware.AuditMiddleware",
    "pgaudit_django.middleware.SecurityAuditMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "exampleproject.urls"
WSGI_APPLICATION = "exampleproject.wsgi.application"

DATABASES = {"default": parse_url(database_url())}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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

AUTH_PASSWORD_VALIDATORS: list[dict[str, str]] = []  # the demo's admin password is "admin"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
