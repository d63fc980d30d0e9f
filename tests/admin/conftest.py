"""Fixtures of the admin tests: users with and without audit permissions, audited data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client

import pgaudit_django
from tests.testapp.models import Customer, Invoice

PASSWORD = "pw-for-tests"
REQUEST_ID = "req-story-0001"
STORY_IP = "203.0.113.7"


def make_user(
    username: str, *, staff: bool = True, superuser: bool = False, perms: tuple = ()
) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", PASSWORD)
    user.is_staff, user.is_superuser = staff, superuser
    user.save()
    for codename in perms:
        app_label, _, code = codename.partition(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=code)
        )
    return User.objects.get(pk=user.pk)  # fresh: no cached permissions


def client_for(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def superuser(db: None) -> User:
    return make_user("root", superuser=True)


@pytest.fixture
def admin_client_(superuser: User) -> Client:
    return client_for(superuser)


@pytest.fixture
def viewer(db: None) -> User:
    """Staff allowed to read the audit log and the test models, nothing else."""
    return make_user(
        "viewer",
        perms=("pgaudit.view_auditlog", "testapp.view_customer", "testapp.view_invoice"),
    )


@pytest.fixture
def viewer_client(viewer: User) -> Client:
    return client_for(viewer)


@pytest.fixture
def staff_client(db: None) -> Client:
    """Staff without any permission."""
    return client_for(make_user("plainstaff"))


@dataclass
class Story:
    """Two users editing customers and invoices, a bulk update, a raw SQL update, a deletion."""

    alice: User
    bob: User
    ada: Customer
    grace: Customer
    invoices: list[Invoice]
    deleted_invoice_pk: int


def build_story() -> Story:
    alice = make_user("alice", perms=("pgaudit.view_auditlog",))
    bob = make_user("bob")
    with pgaudit_django.context(user=alice, reason="onboarding"):
        ada = Customer.objects.create(
            name="Ada Lovelace", email="ada@example.com", iban="DE89370400440532013000"
        )
        grace = Customer.objects.create(name="Grace Hopper", email="grace@example.com")
        invoices = [
            Invoice.objects.create(customer=ada, number=f"INV-{n:03d}", amount=100 * n)
            for n in range(1, 4)
        ]
    with pgaudit_django.context(user=bob):
        ada.email = "ada@analytical.engine"
        ada.iban = "FR1420041010050500013M02606"
        ada.save()
        Invoice.objects.filter(customer=ada).update(paid=True)  # bulk update
    # A change made by a request: IP address, user agent and request id are recorded.
    web = Client(REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="Mozilla/5.0 (X11) StoryBrowser")
    web.force_login(bob)
    web.get(
        f"/customers/{grace.pk}/rename/", {"name": "Grace M. Hopper"}, HTTP_X_REQUEST_ID=REQUEST_ID
    )
    with connection.cursor() as cursor:  # raw SQL, no user context
        cursor.execute(
            "UPDATE testapp_customer SET name = 'Grace B. Hopper' WHERE id = %s", [grace.pk]
        )
    deleted = invoices.pop()
    deleted_pk = deleted.pk
    with pgaudit_django.context(user=bob, reason="duplicate"):
        deleted.delete()
    ada.refresh_from_db()
    grace.refresh_from_db()
    return Story(alice, bob, ada, grace, invoices, deleted_pk)


@pytest.fixture
def story(db: None) -> Story:
    return build_story()


def set_reltuples(table: str, value: float) -> None:
    """Pretend the planner's statistics say ``value`` rows (rolled back with the test)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE pg_class SET reltuples = %s WHERE oid IN ("
            " SELECT relid FROM pg_partition_tree(%s::regclass) WHERE isleaf"
            " UNION ALL SELECT %s::regclass)",
            [value, table, table],
        )


def content(response: Any) -> str:
    return response.content.decode()
