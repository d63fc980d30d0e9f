"""An async view's user is loaded once: the audit payload reuses ``await request.auser()``.

Django keeps two caches on the request: ``request.user`` (a lazy object, filled by a sync
``get_user``) and ``request._acached_user`` (filled by ``await request.auser()``). Reading
``request.user`` after the view awaited ``auser()`` loads the user a second time (issue 18 item 4).
"""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.db import connection
from django.test import AsyncClient, Client
from django.test.utils import CaptureQueriesContext

from pgaudit_django.models import AuditLog
from tests.testapp.models import Customer


def _user_loads(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if 'FROM "auth_user"' in q["sql"]]


@pytest.mark.skipif(
    not hasattr(__import__("django.contrib.auth", fromlist=["aget_user"]), "aget_user"),
    reason="request.auser() exists from Django 5.0",
)
def test_async_view_loads_the_user_once_and_records_it(audit):
    user = User.objects.create_user("auser-once", password="pw")
    customer = Customer.objects.create(name="c")
    sync_client = Client()
    sync_client.force_login(user)
    client = AsyncClient()
    client.cookies = sync_client.cookies
    with CaptureQueriesContext(connection) as queries:
        response = async_to_sync(client.get)(f"/customers/{customer.pk}/rename-auser/")
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.name == "by auser-once"  # the view did resolve its user
    (update,) = AuditLog.objects.for_object(customer).filter(id__gt=audit.since, action="UPDATE")
    assert update.user_id == user.pk and update.context.source == "request"
    assert len(_user_loads(queries)) == 1, _user_loads(queries)
