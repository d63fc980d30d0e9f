"""No attribution ever leaks: not to later work on a thread, a task, a savepoint or a connection."""

from __future__ import annotations

import asyncio
import concurrent.futures

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test import AsyncClient, Client, RequestFactory

import pgaudit_django
from pgaudit_django.middleware import AuditMiddleware
from pgaudit_django.models import AuditLog
from tests.testapp.models import Customer


def _rows_for(audit, customer):
    return list(AuditLog.objects.for_object(customer).filter(id__gt=audit.since).reverse())


def test_write_after_a_request_on_the_same_thread_is_not_attributed_to_it(audit):
    user = User.objects.create_user("req-user", password="pw")
    customer = Customer.objects.create(name="c")
    client = Client()
    client.force_login(user)
    client.get(f"/customers/{customer.pk}/rename/")
    Customer.objects.filter(pk=customer.pk).update(name="after the request")
    request_update, later_update = _rows_for(audit, customer)[1:]
    assert request_update.user_id == user.pk
    assert later_update.user_id is None and later_update.context.source == "app"


def test_context_block_ends_cleanly_even_on_error(audit, django_user_model):
    user = django_user_model.objects.create(username="ctx")
    customer = Customer.objects.create(name="c")
    with pytest.raises(RuntimeError), pgaudit_django.context(user=user, reason="r"):
        raise RuntimeError
    customer.name = "x"
    customer.save()
    update = _rows_for(audit, customer)[-1]
    assert update.user_id is None and update.context.reason == ""


def test_nested_contexts_add_to_the_outer_one(audit, django_user_model):
    user = django_user_model.objects.create(username="outer")
    with pgaudit_django.context(user=user, reason="outer", ticket="T-1"):
        with pgaudit_django.context(reason="inner", step=2):
            inner = Customer.objects.create(name="inner")
        outer = Customer.objects.create(name="outer")
    ctx_inner = _rows_for(audit, inner)[0].context
    ctx_outer = _rows_for(audit, outer)[0].context
    assert (ctx_inner.user_id, ctx_inner.reason, ctx_inner.metadata) == (
        user.pk,
        "inner",
        {"ticket": "T-1", "step": 2},
    )
    assert (ctx_outer.reason, ctx_outer.metadata) == ("outer", {"ticket": "T-1"})


def test_context_as_decorator_sync_and_async(audit, django_user_model):
    user = django_user_model.objects.create(username="deco")

    @pgaudit_django.context(user=user, reason="sync job")
    def job() -> Customer:
        return Customer.objects.create(name="sync")

    @pgaudit_django.context(user=user, reason="async job")
    async def ajob() -> None:
        return None

    customer = job()
    async_to_sync(ajob)()
    assert _rows_for(audit, customer)[0].context.reason == "sync job"


def test_context_rejects_what_cannot_be_stored():
    with pytest.raises(TypeError, match="JSON-serialisable"):
        pgaudit_django.context(payload=object())
    with pytest.raises(ValueError, match="limit"):
        pgaudit_django.context(blob="x" * 10_000)
    with pytest.raises(TypeError, match="reason"):
        pgaudit_django.context(reason=42)


def test_rolled_back_savepoint_leaves_no_stale_attribution(audit, django_user_model):
    a = django_user_model.objects.create(username="a")
    b = django_user_model.objects.create(username="b")
    with pgaudit_django.context(user=a), transaction.atomic():
        first = Customer.objects.create(name="first")
        try:
            with transaction.atomic(), pgaudit_django.context(user=b):
                Customer.objects.create(name="rolled back")
                raise RuntimeError
        except RuntimeError:
            pass
        last = Customer.objects.create(name="last")
    rows = audit.captured(content_type=ContentType.objects.get_for_model(Customer))
    assert [r.changes["name"]["new"] for r in rows] == ["first", "last"]
    assert {r.user_id for r in rows} == {a.pk}
    assert _rows_for(audit, first)[0].context_id == _rows_for(audit, last)[0].context_id


@pytest.mark.django_db(transaction=True)
def test_thread_pool_worker_reused_after_a_request(audit_tx):
    user = User.objects.create_user("pool", password="pw")
    customer = Customer.objects.create(name="c")

    def view(request):
        Customer.objects.filter(pk=customer.pk).update(name="in request")
        from django.http import HttpResponse

        return HttpResponse()

    def handle_request() -> None:
        request = RequestFactory().get("/x")
        request.user = user
        AuditMiddleware(view)(request)

    def later_job() -> None:
        Customer.objects.filter(pk=customer.pk).update(name="later, same thread")

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(handle_request).result()
        pool.submit(later_job).result()
        pool.submit(lambda: connection.close()).result()  # the worker's own connection
    in_request, later = _rows_for(audit_tx, customer)[1:]
    assert in_request.user_id == user.pk
    assert later.user_id is None and later.context.source == "app"


def test_concurrent_async_requests_each_get_their_own_user(audit):
    users = [User.objects.create_user(f"async{i}", password="pw") for i in range(2)]
    customers = [Customer.objects.create(name=f"c{i}") for i in range(2)]
    clients = []
    for user in users:
        sync_client = Client()
        sync_client.force_login(user)
        client = AsyncClient()
        client.cookies = sync_client.cookies
        clients.append(client)

    async def both() -> None:
        # The first request sleeps before writing, so the second one writes in between.
        await asyncio.gather(
            clients[0].get(f"/customers/{customers[0].pk}/rename-async/?delay=0.2&name=A"),
            clients[1].get(f"/customers/{customers[1].pk}/rename-async/?delay=0&name=B"),
        )

    async_to_sync(both)()
    for user, customer in zip(users, customers, strict=True):
        (update,) = [r for r in _rows_for(audit, customer) if r.action == "UPDATE"]
        assert update.user_id == user.pk
        assert update.context.source == "request"


def test_a_failing_user_lookup_never_fails_the_write(audit):
    class BrokenUser:
        @property
        def is_authenticated(self) -> bool:
            raise RuntimeError("session store down")

    request = RequestFactory().get("/x")
    request.user = BrokenUser()

    def view(request):
        from django.http import HttpResponse

        Customer.objects.create(name="written anyway")
        return HttpResponse()

    assert AuditMiddleware(view)(request).status_code == 200
    (row,) = audit.captured()
    assert row.user_id is None
    assert "session store down" in row.context.metadata["user_error"]
