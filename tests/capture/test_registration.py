"""Registration: decorator, call, settings; bad input fails loudly at startup."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

import pgaudit_django
from pgaudit_django import registry
from pgaudit_django.capture import proxies
from pgaudit_django.checks import check_configuration
from pgaudit_django.registry import TrackOptions
from tests.testapp.models import Customer, Untracked


def _ids(messages) -> set[str]:
    return {m.id for m in messages}


def test_project_configuration_is_clean():
    assert check_configuration() == []


@override_settings(AUDIT_MODELS="__all__", AUDIT_SKIP_MODELS=["testapp.Untracked"])
def test_all_models_minus_skips():
    chosen = {model._meta.label for model, _ in proxies._settings_models()}
    assert "testapp.Customer" in chosen and "auth.User" in chosen
    assert "testapp.Untracked" not in chosen
    assert not any(label.startswith(("pgaudit.", "pgtrigger.")) for label in chosen)
    assert not any("Audit" in label for label in chosen)  # never the proxies themselves


def test_default_skips_apply_to_all_models():
    with override_settings(AUDIT_MODELS="__all__"):
        chosen = {model._meta.label for model, _ in proxies._settings_models()}
    assert "sessions.Session" not in chosen and "contenttypes.ContentType" not in chosen


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("AUDIT_MODELS", "shop.Order", "list of strings"),
        ("AUDIT_SKIP_MODELS", [1], "strings only"),
        ("AUDIT_SLOW_REQUEST_SECONDS", -1, "positive"),
        ("AUDIT_TRIGGERS_APP", "not an identifier", "app label"),
        ("AUDIT_MASK_MARKER", "x'); DROP TABLE x; --", "without quotes"),
    ],
)
def test_bad_settings_are_reported_by_the_system_check(name, value, message):
    with override_settings(**{name: value}):
        (error,) = check_configuration()
    assert error.id == "pgaudit.E001" and message in error.msg


def test_unknown_label_is_a_clear_error():
    registry.track("nope.Missing")
    try:
        with pytest.raises(ImproperlyConfigured, match="cannot track 'nope.Missing'"):
            registry.resolve_pending(apps.get_model)
    finally:
        registry._pending_labels.pop("nope.Missing", None)


def test_unknown_field_in_options_is_reported():
    registry._add(Untracked, TrackOptions(exclude=("nope",), mask=("name",)), via="external")
    try:
        errors = check_configuration()
    finally:
        registry._unregister_for_tests("testapp.Untracked")
    assert "pgaudit.E003" in _ids(errors)
    assert "nope" in next(e.msg for e in errors if e.id == "pgaudit.E003")


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_non_postgresql_database_is_reported():
    from django.conf import settings

    databases = {**settings.DATABASES, "legacy": {"ENGINE": "django.db.backends.sqlite3"}}
    with override_settings(DATABASES=databases):
        assert "pgaudit.W002" in _ids(check_configuration())


def test_registering_a_model_twice_differently_is_refused():
    with pytest.raises(ImproperlyConfigured, match="twice"):
        registry._add(Customer, TrackOptions(), via="external")


def test_bad_track_arguments():
    with pytest.raises(TypeError, match="list of field names"):
        pgaudit_django.track(exclude="name")
    with pytest.raises(TypeError, match="model class"):
        pgaudit_django.track(42)  # type: ignore[arg-type]
    with pytest.raises(ImproperlyConfigured, match="app_label.ModelName"):
        pgaudit_django.track("no_dot")
    with pytest.raises(TypeError, match="decorates Django model classes"):
        pgaudit_django.track()(object)


def _manage(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings_all_models"}
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )


@pytest.mark.slow
def test_all_models_setting_loads_and_plans_triggers_for_the_rest():
    """A real start-up with "__all__": proxies for every model not tracked otherwise."""
    check = _manage("check")
    assert check.returncode == 0, check.stderr
    plan = _manage("makemigrations", "audit_triggers", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert "Create proxy model TestappTagAudit" in plan.stdout
    assert "Create proxy model AuthGroupAudit" in plan.stdout
    assert "Token" not in plan.stdout  # live API credentials are skipped by default
    assert "Untracked" not in plan.stdout  # skipped in settings
    assert "SessionAudit" not in plan.stdout and "CustomerAudit" not in plan.stdout
