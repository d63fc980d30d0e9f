"""Every way a row can change is captured: ORM, bulk, queryset, cascade, m2m, raw SQL, psql."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from pgaudit_django.models import AuditLog
from tests.testapp.models import Article, ArticleTag, Code, Customer, Invoice, Product, Tag


def test_save_create_update_delete(audit):
    customer = Customer.objects.create(name="Ada", email="ada@example.com")
    customer.email = "ada@example.org"
    customer.save()
    pk = customer.pk
    customer.delete()

    create, update, delete = audit.captured()
    assert [create.action, update.action, delete.action] == ["CREATE", "UPDATE", "DELETE"]
    assert create.changes["name"] == {"old": None, "new": "Ada"}
    assert create.changes["id"] == {"old": None, "new": pk}
    assert update.changes == {"email": {"old": "ada@example.com", "new": "ada@example.org"}}
    assert delete.changes["email"] == {"old": "ada@example.org", "new": None}
    assert {r.object_id for r in (create, update, delete)} == {str(pk)}
    ct = ContentType.objects.get_for_model(Customer)
    assert {r.content_type_id for r in (create, update, delete)} == {ct.id}
    assert create.table_name is None  # only stored when the content type is unknown


def test_values_keep_their_json_types(audit):
    customer = Customer.objects.create(name="T")
    Invoice.objects.create(
        customer=customer,
        number="N-1",
        amount=Decimal("12.50"),
        paid=True,
        issued=datetime.date(2026, 1, 31),
        data={"lines": [1, 2], "empty": {}},
        quantity=7,
    )
    (row,) = audit.captured(content_type=ContentType.objects.get_for_model(Invoice))
    new = {k: v["new"] for k, v in row.changes.items()}
    assert new["quantity"] == 7 and isinstance(new["quantity"], int)
    assert new["paid"] is True
    assert new["amount"] == 12.5
    assert new["issued"] == "2026-01-31"
    assert new["data"] == {"lines": [1, 2], "empty": {}}
    assert new["customer_id"] == customer.pk  # keyed by attname
    assert "qty" not in row.changes  # db_column mapped back to the attname


def test_no_op_and_excluded_only_updates_write_nothing(audit):
    customer = Customer.objects.create(name="Same")
    Customer.objects.filter(pk=customer.pk).update(name="Same")
    customer.save()
    customer.last_seen = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    customer.save(update_fields=["last_seen"])
    assert audit.actions() == ["CREATE"]
    assert "last_seen" not in audit.captured()[0].changes


def test_update_fields_only_records_what_changed(audit):
    customer = Customer.objects.create(name="A", email="a@x")
    customer.name, customer.email = "B", "b@x"
    customer.save(update_fields=["name"])
    update = audit.captured()[-1]
    assert update.changes == {"name": {"old": "A", "new": "B"}}


def test_masked_field_keeps_the_fact_not_the_value(audit):
    customer = Customer.objects.create(name="M", iban="DE89370400440532013000")
    customer.iban = "FR1420041010050500013M02606"
    customer.save()
    customer.delete()
    create, update, delete = audit.captured()
    assert create.changes["iban"] == {"old": None, "new": "[masked]"}
    assert update.changes == {"iban": {"old": "[masked]", "new": "[masked]"}}
    assert delete.changes["iban"] == {"old": "[masked]", "new": None}
    dumped = str([r.changes for r in audit.all()])
    assert "DE89" not in dumped and "FR14" not in dumped


def test_auth_user_tracked_through_trigger_app_and_password_masked(audit):
    user = User.objects.create_user("grace", password="s3cret-pass")
    user.set_password("another-one")
    user.is_superuser = True
    user.save()
    create, update = audit.captured(content_type=ContentType.objects.get_for_model(User))
    assert create.changes["password"]["new"] == "[masked]"
    assert update.changes["password"] == {"old": "[masked]", "new": "[masked]"}
    assert update.changes["is_superuser"] == {"old": False, "new": True}
    assert "last_login" not in create.changes  # excluded in tests/audit_triggers/models.py
    assert "s3cret" not in str(create.changes) and "md5$" not in str(update.changes)


def test_bulk_create_bulk_update_queryset_update_and_delete(audit):
    customers = Customer.objects.bulk_create([Customer(name=f"b{i}") for i in range(5)])
    for c in customers:
        c.email = f"{c.name}@bulk"
    Customer.objects.bulk_update(customers, ["email"])
    Customer.objects.filter(name__startswith="b").update(name="renamed")
    Customer.objects.filter(name="renamed").delete()
    assert audit.actions() == ["CREATE"] * 5 + ["UPDATE"] * 10 + ["DELETE"] * 5
    ids = {str(c.pk) for c in customers}
    assert {r.object_id for r in audit.captured(action="DELETE")} == ids


def test_cascade_delete_is_captured_on_the_child(audit):
    customer = Customer.objects.create(name="parent")
    Invoice.objects.create(customer=customer, number="C-1")
    Invoice.objects.create(customer=customer, number="C-2")
    customer.delete()
    deletes = audit.captured(action="DELETE")
    invoice_ct = ContentType.objects.get_for_model(Invoice)
    assert sorted(r.object_repr for r in deletes if r.content_type_id == invoice_ct.id) == [
        "C-1",
        "C-2",
    ]


def test_many_to_many_through_model_add_remove_clear(audit):
    article = Article.objects.create(title="m2m")
    a, b = Tag.objects.create(name="a"), Tag.objects.create(name="b")
    article.tags.add(a, b)
    article.tags.remove(a)
    article.tags.clear()
    ct = ContentType.objects.get_for_model(ArticleTag)
    rows = audit.captured(content_type=ct)
    assert [r.action for r in rows] == ["CREATE", "CREATE", "DELETE", "DELETE"]
    assert {r.changes["tag_id"]["new"] for r in rows[:2]} == {a.pk, b.pk}


def test_raw_sql_through_django_cursor(audit):
    customer = Customer.objects.create(name="raw")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE testapp_customer SET name = name || %s WHERE id = %s", ["!", customer.pk]
        )
        # A literal % and no parameters: the context injection must not turn it into a placeholder.
        cursor.execute(f"UPDATE testapp_customer SET email = '100%' WHERE id = {customer.pk}")
    updates = audit.captured(action="UPDATE")
    assert [u.changes for u in updates] == [
        {"name": {"old": "raw", "new": "raw!"}},
        {"email": {"old": "", "new": "100%"}},
    ]


def test_change_from_a_non_django_connection(audit_tx, raw_connect):
    customer = Customer.objects.create(name="psql")
    conn = raw_connect(application_name="psql-session")
    conn.execute("UPDATE testapp_customer SET name = 'dba' WHERE id = %s", [customer.pk])
    update = audit_tx.captured(action="UPDATE")[0]
    assert update.changes == {"name": {"old": "psql", "new": "dba"}}
    assert update.context.source == "database"
    assert update.context.application_name == "psql-session"
    assert update.context.db_role == "postgres"
    assert update.user_id is None


def test_primary_key_change_is_recorded_not_lost(audit):
    Code.objects.create(code="OLD", label="x")
    Code.objects.filter(code="OLD").update(code="NEW")
    create, *updates = audit.captured()
    assert create.action == "CREATE"
    assert sorted(
        (u.object_id, u.changes["code"]["old"], u.changes["code"]["new"]) for u in updates
    ) == [
        ("NEW", None, "NEW"),
        ("OLD", "OLD", None),
    ]


def test_truncate_is_recorded(audit):
    Product.objects.create(sku="p1")
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE testapp_product")
    assert audit.actions(content_type=ContentType.objects.get_for_model(Product)) == [
        "CREATE",
        "TRUNCATE",
    ]


def test_object_repr_from_repr_field_and_for_object_history(audit):
    customer = Customer.objects.create(name="H")
    invoice = Invoice.objects.create(customer=customer, number="R-1")
    invoice.paid = True
    invoice.save()
    history = list(AuditLog.objects.for_object(invoice))
    assert [h.action for h in history] == ["UPDATE", "CREATE"]  # newest first
    assert {h.object_repr for h in history} == {"R-1"}
    assert str(history[0]).startswith("UPDATE R-1")


def test_untracked_model_writes_nothing(audit):
    from tests.testapp.models import Untracked

    Untracked.objects.create(name="u")
    assert audit.captured() == []


@pytest.mark.parametrize("many", [False, True])
def test_executemany_is_captured(audit, many):
    customer = Customer.objects.create(name="em")
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE testapp_customer SET email = %s WHERE id = %s",
            [["1@x", customer.pk], ["2@x", customer.pk]],
        )
    assert [u.changes["email"]["new"] for u in audit.captured(action="UPDATE")] == ["1@x", "2@x"]


def test_auto_created_many_to_many_table_is_captured(audit):
    article = Article.objects.create(title="labels")
    a, b = Tag.objects.create(name="la"), Tag.objects.create(name="lb")
    article.labels.add(a, b)
    article.labels.remove(a)
    article.labels.clear()
    rows = [r for r in audit.captured() if r.table_name == "testapp_article_labels"]
    assert [r.action for r in rows] == ["CREATE", "CREATE", "DELETE", "DELETE"]
    assert {r.changes["article_id"]["new"] for r in rows[:2]} == {article.pk}
    assert [r.changes["tag_id"]["old"] for r in rows[2:]] == [a.pk, b.pk]


def test_group_membership_of_users_is_captured(audit):
    from django.contrib.auth.models import Group

    user = User.objects.create_user("member")
    admins = Group.objects.create(name="admins")
    user.groups.add(admins)
    (row,) = [r for r in audit.captured() if r.table_name == "auth_user_groups"]
    assert row.action == "CREATE"
    assert (row.changes["user_id"]["new"], row.changes["group_id"]["new"]) == (user.pk, admins.pk)


def test_status_command_lists_every_trigger_installed(db):
    from pgaudit_django.capture.status import trigger_status

    rows = trigger_status()
    assert {r.status for r in rows} == {"INSTALLED"}
    names = {(r.label, r.trigger) for r in rows}
    assert ("testapp.Article", "pgaudit_m2m_ins_labels") in names
    assert ("auth.User", "pgaudit_m2m_ins_groups") in names
    assert ("testapp.Customer", "pgaudit_update") in names


def test_multi_table_inheritance_child_is_captured_from_its_own_table(audit):
    from tests.testapp.models import Car

    car = Car.objects.create(name="beetle", doors=2)
    car.doors = 4
    car.name = "beetle 2"  # a parent column: the parent (untracked) table changes
    car.save()
    create, update = audit.captured(content_type=ContentType.objects.get_for_model(Car))
    assert create.changes == {
        "vehicle_ptr_id": {"old": None, "new": car.pk},
        "doors": {"old": None, "new": 2},
    }
    assert update.changes == {"doors": {"old": 2, "new": 4}}
