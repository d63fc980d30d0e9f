"""as_of(), revert() and for_object() on real captured rows (issue 14)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import connection

import pgaudit_django
from pgaudit_django.history import MaskedFieldError, RevertConflict, RevertError
from pgaudit_django.models import AuditLog
from tests.testapp.models import Article, Customer, Invoice, Tag

pytestmark = pytest.mark.django_db(transaction=True)


def _ts() -> object:
    """The database's clock: entries are stamped by it, not by Python's."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT clock_timestamp()")
        return cursor.fetchone()[0]


def _entries(obj, action=None):
    ct = ContentType.objects.get_for_model(type(obj))
    rows = AuditLog.objects.for_object(obj).filter(content_type=ct)
    if action:
        rows = rows.filter(action=action)
    return list(rows.order_by("timestamp", "id"))


def test_as_of_rebuilds_each_version_with_field_types():
    customer = Customer.objects.create(name="C")
    before = _ts()
    invoice = Invoice.objects.create(customer=customer, number="H-1", amount=Decimal("10.50"))
    after_create = _ts()
    invoice.amount = Decimal("99.99")
    invoice.paid = True
    invoice.save()
    after_update = _ts()
    pk = invoice.pk
    invoice.delete()

    assert pgaudit_django.as_of(Invoice, pk, before) is None
    first = pgaudit_django.as_of(Invoice, pk, after_create)
    assert first is not None
    assert (first.number, first.amount, first.paid) == ("H-1", Decimal("10.50"), False)
    assert isinstance(first.amount, Decimal)
    assert first.customer_id == customer.pk
    second = pgaudit_django.as_of(Invoice, pk, after_update)
    assert (second.amount, second.paid) == (Decimal("99.99"), True)
    assert pgaudit_django.as_of(Invoice, pk, _ts()) is None  # deleted now


def test_as_of_leaves_masked_values_unknown():
    customer = Customer.objects.create(name="M", iban="DE01")
    mid = _ts()
    customer.iban = "DE02"
    customer.save()
    old = pgaudit_django.as_of(Customer, customer.pk, mid)
    assert old.iban is None
    assert old._pgaudit_unknown_fields == ["iban"]
    assert pgaudit_django.as_of(Customer, customer.pk, _ts()).iban == "DE02"  # live value


def test_revert_update_restores_old_values_and_is_audited():
    admin = User.objects.create_user("reverter")
    customer = Customer.objects.create(name="Before", email="a@example.com")
    customer.name = "After"
    customer.save()
    (update,) = _entries(customer, "UPDATE")
    reverted = pgaudit_django.revert(update, reason="typo", user=admin)
    assert reverted == [update.id]
    customer.refresh_from_db()
    assert customer.name == "Before"
    undo = _entries(customer, "UPDATE")[-1]
    assert undo.changes == {"name": {"old": "After", "new": "Before"}}
    assert undo.context.reason == "typo"
    assert undo.context.user_id == admin.pk
    assert undo.context.metadata["reverted_entries"] == [update.id]


def test_revert_conflict_lists_fields_and_entries_unless_forced():
    customer = Customer.objects.create(name="One")
    customer.name = "Two"
    customer.save()
    customer.name = "Three"
    customer.save()
    first, second = _entries(customer, "UPDATE")
    with pytest.raises(RevertConflict) as caught:
        pgaudit_django.revert(first, reason="x")
    assert caught.value.fields == ["name"]
    assert caught.value.later_entries == [second.id]
    assert f"#{second.id}" in str(caught.value) and "name" in str(caught.value)
    customer.refresh_from_db()
    assert customer.name == "Three"  # nothing written
    pgaudit_django.revert(first, reason="x", force=True)
    customer.refresh_from_db()
    assert customer.name == "One"


def test_revert_refuses_masked_fields():
    customer = Customer.objects.create(name="Mask", iban="DE01")
    customer.iban = "DE02"
    customer.save()
    (update,) = _entries(customer, "UPDATE")
    with pytest.raises(MaskedFieldError, match="iban"):
        pgaudit_django.revert(update, reason="x")
    customer.refresh_from_db()
    assert customer.iban == "DE02"


def test_revert_create_deletes_the_row():
    customer = Customer.objects.create(name="Made")
    (create,) = _entries(customer, "CREATE")
    pgaudit_django.revert(create, reason="mistake")
    assert not Customer.objects.filter(pk=customer.pk).exists()


def test_revert_delete_reinserts_same_pk_and_its_m2m_rows():
    article = Article.objects.create(title="Gone")
    gift, sale = Tag.objects.create(name="gift"), Tag.objects.create(name="sale")
    article.tags.add(gift)  # explicit through model
    article.labels.add(sale)  # auto-created through table
    pk = article.pk
    article.delete()
    (delete,) = _entries(Article(pk=pk), "DELETE")
    reverted = pgaudit_django.revert(delete, reason="undelete")
    restored = Article.objects.get(pk=pk)
    assert restored.title == "Gone"
    assert list(restored.tags.all()) == [gift]
    assert list(restored.labels.all()) == [sale]
    assert len(reverted) == 3  # the article and both m2m rows


def test_revert_many_entries_newest_first_and_atomic():
    customer = Customer.objects.create(name="A")
    customer.name = "B"
    customer.save()
    customer.name = "C"
    customer.save()
    updates = AuditLog.objects.filter(id__in=[e.id for e in _entries(customer, "UPDATE")])
    pgaudit_django.revert(updates, reason="both")
    customer.refresh_from_db()
    assert customer.name == "A"

    other = Customer.objects.create(name="X", iban="1")
    other.name, other.iban = "Y", "2"
    other.save()
    mixed = [_entries(customer, "CREATE")[0], _entries(other, "UPDATE")[0]]
    with pytest.raises(MaskedFieldError):
        pgaudit_django.revert(mixed, reason="atomic")
    assert Customer.objects.filter(pk=customer.pk).exists()  # the CREATE undo rolled back


def test_revert_refuses_non_row_entries():
    entry = AuditLog(id=1, action="TRUNCATE")
    with pytest.raises(RevertError, match="TRUNCATE"):
        pgaudit_django.revert(entry, reason="x")


def test_for_object_includes_m2m_rows_from_either_side():
    article = Article.objects.create(title="Both")
    gift = Tag.objects.create(name="gift2")
    article.tags.add(gift)
    article.labels.add(gift)
    from_article = list(AuditLog.objects.for_object(article))
    from_tag = list(AuditLog.objects.for_object(gift))
    m2m = [r for r in from_article if r.changes and "tag_id" in r.changes]
    assert len(m2m) == 2
    assert {r.id for r in m2m} <= {r.id for r in from_tag}
    other = Article.objects.create(title="Other")
    assert not [r for r in AuditLog.objects.for_object(other) if "tag_id" in (r.changes or {})]
