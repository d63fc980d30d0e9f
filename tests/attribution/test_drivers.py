"""The context reaches the trigger whatever the driver, binding mode, alias or call shape."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections
from django.db.backends.postgresql.psycopg_any import is_psycopg3

import pgaudit_django
from pgaudit_django.db.wrapper import PIPELINE, PREFIX, PREFIX_NEXTSET, strategy_for
from pgaudit_django.models import AuditLog
from tests.testapp.models import Customer


def test_strategy_matches_the_driver_under_test(db):
    # scripts/test.sh runs the whole suite once more with PGAUDIT_TEST_DRIVER=psycopg2.
    import os

    expected_driver3 = os.environ.get("PGAUDIT_TEST_DRIVER") != "psycopg2"
    assert is_psycopg3 is expected_driver3
    assert strategy_for(connection) == (PREFIX_NEXTSET if is_psycopg3 else PREFIX)


@pytest.fixture
def server_side_connection(transactional_db) -> Iterator:
    if not is_psycopg3:
        pytest.skip("server_side_binding is a psycopg 3 option")
    from django.db.backends.postgresql.base import DatabaseWrapper

    settings_dict = {
        **connection.settings_dict,
        "OPTIONS": {**connection.settings_dict["OPTIONS"], "server_side_binding": True},
    }
    wrapper = DatabaseWrapper(settings_dict, alias="server_side")
    yield wrapper
    wrapper.close()


def _attributed_updates(customer: Customer) -> list[AuditLog]:
    return list(
        AuditLog.objects.for_object(customer).filter(action="UPDATE").select_related("context")
    )


def test_server_side_binding_execute_and_executemany(server_side_connection):
    user = User.objects.create_user("ssb")
    customer = Customer.objects.create(name="ssb")
    assert strategy_for(server_side_connection) == PIPELINE
    with pgaudit_django.context(user=user), server_side_connection.cursor() as cursor:
        cursor.execute("UPDATE testapp_customer SET name = %s WHERE id = %s", ["one", customer.pk])
        cursor.executemany(
            "UPDATE testapp_customer SET email = %s WHERE id = %s",
            [["a@x", customer.pk], ["b@x", customer.pk]],
        )
        cursor.execute("SELECT name FROM testapp_customer WHERE id = %s", [customer.pk])
        assert cursor.fetchone() == ("one",)
    updates = _attributed_updates(customer)
    assert len(updates) == 3
    assert {u.user_id for u in updates} == {user.pk}


def test_server_side_binding_errors_are_django_errors(server_side_connection):
    from django.db import IntegrityError

    Customer.objects.create(name="dup")
    with pytest.raises(IntegrityError), server_side_connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO testapp_customer (id, name, email, iban) SELECT id, 'x', '', '' "
            "FROM testapp_customer LIMIT 1"
        )


@pytest.mark.django_db(transaction=True)
def test_executemany_in_autocommit_attributes_every_statement():
    user = User.objects.create_user("em")
    customer = Customer.objects.create(name="em")
    with pgaudit_django.context(user=user), connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE testapp_customer SET email = %s WHERE id = %s",
            [[f"{i}@x", customer.pk] for i in range(3)],
        )
    assert [u.user_id for u in _attributed_updates(customer)] == [user.pk] * 3


@pytest.mark.django_db(transaction=True, databases=["default", "other"])
def test_every_database_alias_is_attributed():
    user = User.objects.create_user("alias")
    customer = Customer.objects.create(name="alias")
    with pgaudit_django.context(user=user, reason="via other"):
        Customer.objects.using("other").filter(pk=customer.pk).update(name="from other")
    (update,) = _attributed_updates(customer)
    assert update.user_id == user.pk and update.context.reason == "via other"
    assert connections["other"].connection is not connection.connection


def test_insert_returning_still_returns_the_new_row(db):
    # psycopg 3 positions the cursor on the first result of a multi-statement string; the
    # wrapper must hand Django the INSERT's RETURNING row, not set_config's.
    first = Customer.objects.create(name="r1")
    second = Customer.objects.create(name="r2")
    assert second.pk == first.pk + 1
    created = Customer.objects.bulk_create([Customer(name="r3"), Customer(name="r4")])
    assert [c.pk for c in created] == [second.pk + 1, second.pk + 2]
