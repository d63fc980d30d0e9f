"""Storage settings are validated with messages that say what to write instead."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from pgaudit_django import conf


def test_defaults(settings):
    for name in ("AUDIT_RETENTION", "AUDIT_PARTITION_INTERVAL", "AUDIT_PARTITION_MONTHS_AHEAD"):
        if hasattr(settings, name):
            delattr(settings, name)
    storage = conf.storage()
    assert storage.partition_interval == "month" and storage.partition_months_ahead == 3
    assert storage.retention == {"default": None, "security": None}
    assert "LOGIN_FAILED" in storage.security_actions and "AUDIT_DDL" in storage.security_actions
    assert storage.allow_truncate_for_tests is True and storage.read_database is None


@pytest.mark.parametrize(
    ("value", "days"),
    [("400d", 400), ("52w", 364), (30, 30), (timedelta(days=5), 5), (" 7D ", 7), (None, None)],
)
def test_ages(value, days):
    assert conf.parse_age("X", value) == days


@pytest.mark.parametrize("value", ["400", "1y", "d", 0, -3, True, 1.5, timedelta(hours=3)])
def test_bad_ages(value):
    with pytest.raises(ImproperlyConfigured):
        conf.parse_age("X", value)


def test_retention_categories(settings):
    settings.AUDIT_RETENTION = {"default": "400d"}
    assert conf.storage().retention == {"default": 400, "security": 400}
    settings.AUDIT_RETENTION = {"default": "400d", "security": None}
    assert conf.storage().retention == {"default": 400, "security": None}
    settings.AUDIT_RETENTION = {"default": "400d", "security": "1825d"}
    assert conf.storage().retention == {"default": 400, "security": 1825}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"default": "400d", "security": "30d"}, "at least"),
        ({"security": "30d"}, "needs"),
        ({"changes": "30d"}, "unknown categories"),
        ("400d", "must be None or a dict"),
    ],
)
def test_bad_retention(settings, value, message):
    settings.AUDIT_RETENTION = value
    with pytest.raises(ImproperlyConfigured, match=message):
        conf.storage()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("AUDIT_PARTITION_INTERVAL", "year", "AUDIT_PARTITION_INTERVAL"),
        ("AUDIT_PARTITION_MONTHS_AHEAD", -1, "0 to 120"),
        ("AUDIT_SECURITY_ACTIONS", ["LOGIN", "DELETE"], "captured actions"),
        ("AUDIT_READ_DATABASE", "replica", "not an alias"),
    ],
)
def test_bad_storage_settings(settings, name, value, message):
    setattr(settings, name, value)
    with pytest.raises(ImproperlyConfigured, match=message):
        conf.storage()
