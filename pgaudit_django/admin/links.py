"""Links from audit rows to the audited objects' admin pages, for objects that still exist.

Existence is checked once per model on the page (``pk IN (…)``), not once per row, so a
100-row page costs as many queries as a 10-row one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from pgaudit_django.admin.diff import model_of
from pgaudit_django.models import AuditLog

URL_ATTR = "pgaudit_object_url"


def _model_admin(site: admin.AdminSite, model: type[Model] | None) -> Any:
    return site._registry.get(model) if model is not None else None


def change_url(site: admin.AdminSite, model: type[Model], object_id: Any) -> str | None:
    opts = model._meta
    try:
        return reverse(
            f"{site.name}:{opts.app_label}_{opts.model_name}_change", args=[quote(object_id)]
        )
    except NoReverseMatch:
        return None


def attach_object_urls(
    request: HttpRequest, site: admin.AdminSite, entries: Iterable[AuditLog]
) -> None:
    """Set ``entry.pgaudit_object_url`` to the object's change page, or None."""
    groups: dict[int, list[tuple[AuditLog, Any]]] = defaultdict(list)
    for entry in entries:
        setattr(entry, URL_ATTR, None)
        if not entry.content_type_id or entry.object_id is None:
            continue
        model = model_of(entry)
        model_admin = _model_admin(site, model)
        if model is None or model_admin is None:
            continue
        try:
            pk = model._meta.pk.to_python(entry.object_id)
        except ValidationError:
            continue
        groups[entry.content_type_id].append((entry, pk))
    for group in groups.values():
        model = model_of(group[0][0])
        assert model is not None
        if not _model_admin(site, model).has_view_or_change_permission(request):
            continue
        pks = {pk for _, pk in group}
        live = set(model._base_manager.filter(pk__in=pks).values_list("pk", flat=True))
        for entry, pk in group:
            if pk in live:
                setattr(entry, URL_ATTR, change_url(site, model, pk))


def object_url(request: HttpRequest, site: admin.AdminSite, entry: AuditLog) -> str | None:
    """One entry's link (the detail page): the same rule as the list, for a single row."""
    attach_object_urls(request, site, [entry])
    return getattr(entry, URL_ATTR, None)
