"""django-pgtrigger's own commands leave audit capture exactly as it was (issue 12, defect 1).

Before the audit triggers left pgtrigger's registry, ``pgtrigger install`` (and ``prune``, and
``PGTRIGGER_INSTALL_ON_MIGRATE`` with its default prune) dropped every many-to-many audit
trigger: they were registered on the declaring model but installed on the through table, so
pgtrigger took them for orphans. Afterwards ``labels.add()`` wrote no audit row.
"""

from __future__ import annotations

import pgtrigger
import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command

from pgaudit_django.capture.status import trigger_status
from tests.testapp.models import Article, Customer, Tag

COMMANDS = [("install",), ("prune",), ("ls",), ("disable",), ("enable",), ("uninstall",)]


def _capture_of_every_kind_works(audit) -> None:
    """Own-table INSERT/UPDATE/DELETE, an auto-created m2m table, a trigger-app proxy (User)."""
    customer = Customer.objects.create(name="a")
    customer.name = "b"
    customer.save()
    article = Article.objects.create(title="t")
    tag = Tag.objects.create(name="x")
    article.labels.add(tag)
    article.labels.remove(tag)
    user = User.objects.create(username="pgtrigger-commands")
    user.groups.add(Group.objects.create(name="g"))
    customer.delete()
    tables = [(r.action, r.table_name or r.content_type.model) for r in audit.captured()]
    assert ("CREATE", "customer") in tables
    assert ("UPDATE", "customer") in tables
    assert ("DELETE", "customer") in tables
    assert ("CREATE", "testapp_article_labels") in tables
    assert ("DELETE", "testapp_article_labels") in tables
    assert ("CREATE", "user") in tables
    assert ("CREATE", "auth_user_groups") in tables


def _run_pgtrigger(*command: str) -> None:
    try:
        call_command("pgtrigger", *command, verbosity=0)
    except ValueError as exc:
        # django-pgtrigger's ``ls`` computes a column width with max() over its registry and
        # fails when the registry is empty, as it is in a project whose only triggers are
        # audit triggers (docs/registering.md says so; ``pgaudit_status`` lists them).
        if command != ("ls",) or "empty" not in str(exc) or pgtrigger.registered():
            raise


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_pgtrigger_command_leaves_capture_intact(audit, command):
    _run_pgtrigger(*command)
    assert {r.status for r in trigger_status()} == {"INSTALLED"}
    assert all(r.enabled for r in trigger_status())
    _capture_of_every_kind_works(audit)


def test_every_pgtrigger_command_in_a_row_then_capture(audit):
    for command in ("install", "prune", "disable", "uninstall", "install", "enable", "ls"):
        _run_pgtrigger(command)
    rows = trigger_status()
    assert [r for r in rows if r.status != "INSTALLED" or not r.enabled] == []
    _capture_of_every_kind_works(audit)


def test_audit_triggers_are_not_in_pgtrigger_registry(db):
    """They are not pgtrigger's to manage (``pgaudit_status`` lists them), so none of its
    commands can act on them."""
    assert [t for _, t in pgtrigger.registered() if t.name.startswith("pgaudit")] == []
