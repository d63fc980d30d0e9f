"""Search on indexed columns only, each term matched exactly.

A ``LIKE '%term%'`` over ``changes`` or ``object_repr`` reads the whole log (django-auditlog's
search at 4 M rows); here the term is looked up as

* an object id, within the known content types (the (content type, object id) index: a leading
  ``content_type_id = ANY(…)`` lets the b-tree be probed once per type);
* a username (the user table, then the log's user index);
* a request id (the context table's request-id index, then the log's context index);
* an IP address (the context table, then the log's context index).

Request ids and IP addresses go through ``contexts.py`` (newest 1,000 contexts, rows by id).
"""

from __future__ import annotations

import ipaddress

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from pgaudit_django.admin.contexts import context_ids, rows_of_contexts
from pgaudit_django.models import AuditContext, AuditLog

MAX_USERS = 50


def audit_search_q(term: str, using: str = "default") -> Q:
    """The rows matching ``term`` as an object id, a username, a request id or an IP address.

    Only the kinds that match something go into the query (an object id is probed with one
    index lookup first): OR-ing a branch that matches nothing still makes PostgreSQL expect
    many rows, and it then walks the whole table backwards in timestamp order instead of
    reading the few matches from their index.
    """
    term = term.strip()
    branches: list[Q] = []

    content_types = list(ContentType.objects.using(using).values_list("pk", flat=True))
    by_object = Q(content_type_id__in=content_types, object_id=term)
    if AuditLog.objects.using(using).filter(by_object).exists():
        branches.append(by_object)

    user_model = get_user_model()
    users = list(
        user_model._default_manager.using(using)
        .filter(**{f"{user_model.USERNAME_FIELD}__iexact": term})
        .values_list("pk", flat=True)[:MAX_USERS]
    )
    if users:
        branches.append(Q(user_id__in=users))

    contexts = AuditContext.objects.using(using)
    # Two lookups, not one OR: each can use its own index.
    ids = context_ids(contexts.filter(request_id=term).exclude(request_id=""))
    ip = _ip(term)
    if ip is not None:
        ids += context_ids(contexts.filter(ip_address=ip))
    if ids:
        branches.append(rows_of_contexts(ids, using))

    if not branches:
        return Q(pk__in=[])
    found = branches[0]
    for branch in branches[1:]:
        found |= branch
    return found


def _ip(term: str) -> str | None:
    try:
        return str(ipaddress.ip_address(term))
    except ValueError:
        return None
