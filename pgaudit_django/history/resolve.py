"""From an audit row to the model, field and primary key it describes."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import models

from pgaudit_django import conf
from pgaudit_django.models import AuditLog
from pgaudit_django.registry import get_registration


def object_id_for(pk: Any) -> str:  # noqa: ANN401 - any primary key value
    """How capture stores a primary key in ``object_id`` (single-column keys only)."""
    if isinstance(pk, (tuple, list)):
        raise NotImplementedError(
            "Composite primary keys are not supported by as_of()/revert() yet."
        )
    return str(pk)


def model_for(entry: AuditLog) -> type[models.Model] | None:
    """The model of a captured row: its content type, else the table (auto-created m2m)."""
    if entry.content_type_id:
        model: type[models.Model] | None
        model = ContentType.objects.get_for_id(entry.content_type_id).model_class()
        return model
    if entry.table_name:
        for model in apps.get_models(include_auto_created=True):
            if model._meta.db_table == entry.table_name:
                return model
    return None


def field_by_attname(model: type[models.Model], attname: str) -> models.Field | None:
    for field in model._meta.concrete_fields:
        if attname in (field.attname, field.column):
            return field
    return None


def to_python(model: type[models.Model], attname: str, value: Any) -> Any:  # noqa: ANN401
    """A stored JSON value as the field's Python value (works on floats or Decimals)."""
    field = field_by_attname(model, attname)
    if field is None or value is None:
        return value
    if isinstance(field, models.ForeignKey):
        field = field.target_field
    return field.to_python(value)


def masked_fields(model: type[models.Model], changes: dict[str, Any], side: str) -> list[str]:
    """Fields whose ``side`` ("old"/"new") value is the mask marker."""
    marker = conf.get().mask_marker
    registration = get_registration(model)
    declared = set(registration.options.mask) if registration else set()
    found = []
    for attname, pair in changes.items():
        value = pair.get(side) if isinstance(pair, dict) else None
        field = field_by_attname(model, attname)
        names = {attname, field.name if field else attname}
        if value == marker and (not declared or names & declared):
            found.append(attname)
    return found


def through_links(model: type[models.Model]) -> list[tuple[type[models.Model], str]]:
    """(through model, FK column to ``model``) for every m2m table that references it."""
    concrete = model._meta.concrete_model
    links: list[tuple[type[models.Model], str]] = []
    seen: set[tuple[str, str]] = set()
    for candidate in apps.get_models(include_auto_created=True):
        for m2m in candidate._meta.local_many_to_many:
            through = m2m.remote_field.through
            if not isinstance(through, type):
                continue
            for fk in through._meta.concrete_fields:
                related = getattr(fk, "related_model", None)
                if (
                    isinstance(fk, models.ForeignKey)
                    and related is not None
                    and (related._meta.concrete_model is concrete)
                ):
                    key = (through._meta.label, fk.attname)
                    if key not in seen:
                        seen.add(key)
                        links.append((through, fk.attname))
    return links
