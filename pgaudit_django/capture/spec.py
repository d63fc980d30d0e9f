"""The facts about one audited table that its trigger SQL is generated from."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.db import models

from pgaudit_django import conf
from pgaudit_django.registry import TrackOptions


@dataclass(frozen=True)
class Column:
    attname: str  # the key in ``changes`` (``author_id``, not the ``db_column``)
    column: str  # the name in the table
    masked: bool
    # "text", "bytes" or "json" for columns whose values have no size bound (their values may be
    # too large to copy into the audit row); None for the others.
    unbounded: str | None = None


@dataclass(frozen=True)
class CaptureSpec:
    table: str
    app_label: str  # content type of the concrete model, looked up at run time
    model_name: str
    pk_column: str
    columns: tuple[Column, ...]
    repr_column: str | None
    mask_marker: str
    actions: frozenset[str]
    max_value_bytes: int


def _field(model: type[models.Model], name: str) -> models.Field:
    opts = model._meta
    try:
        return opts.get_field(name)  # type: ignore[return-value]
    except FieldDoesNotExist:
        for f in opts.concrete_fields:
            if f.attname == name or f.column == name:
                return f
        raise


_UNBOUNDED_TYPES = {"TextField": "text", "JSONField": "json", "BinaryField": "bytes"}


def _unbounded_kind(field: models.Field) -> str | None:
    kind = _UNBOUNDED_TYPES.get(field.get_internal_type())
    if kind is None and field.get_internal_type() == "CharField" and field.max_length is None:
        kind = "text"
    return kind


def unknown_fields(model: type[models.Model], options: TrackOptions) -> list[str]:
    many_to_many = {f.name for f in model._meta.many_to_many}
    # Excluding a many-to-many field turns off capture of its auto-created table.
    excluded = [name for name in options.exclude if name not in many_to_many]
    names = list(options.fields or ()) + excluded + list(options.mask)
    if options.repr_field:
        names.append(options.repr_field)
    missing = []
    for name in names:
        try:
            f = _field(model, name)
        except FieldDoesNotExist:
            missing.append(name)
            continue
        if not f.concrete or f.many_to_many:
            missing.append(name)
    return missing


def build_spec(model: type[models.Model], options: TrackOptions) -> CaptureSpec:
    concrete = model._meta.concrete_model or model
    opts = concrete._meta
    wanted = {_field(concrete, n).attname for n in options.fields} if options.fields else None
    excluded = set()
    for name in options.exclude:
        try:
            excluded.add(_field(concrete, name).attname)
        except FieldDoesNotExist:
            continue  # reported by the system check pgaudit.E003
    masked = set()
    for name in options.mask:
        try:
            masked.add(_field(concrete, name).attname)
        except FieldDoesNotExist:
            continue
    pk = opts.pk
    columns = []
    # Local fields only: a multi-table-inheritance child's table holds its own columns and the
    # parent link; the parent's fields live (and are captured, if tracked) in the parent table.
    for f in opts.local_concrete_fields:
        if f.attname in excluded and not f.primary_key:
            continue
        if wanted is not None and f.attname not in wanted and not f.primary_key:
            continue
        columns.append(
            Column(
                attname=f.attname,
                column=str(f.column),
                masked=f.attname in masked,
                unbounded=_unbounded_kind(f),
            )
        )
    repr_column = None
    if options.repr_field:
        try:
            repr_column = _field(concrete, options.repr_field).column
        except FieldDoesNotExist:
            repr_column = None
    settings = conf.get()
    return CaptureSpec(
        table=opts.db_table,
        app_label=opts.app_label,
        model_name=str(opts.model_name),
        pk_column=str(pk.column) if pk is not None else "",
        columns=tuple(columns),
        repr_column=repr_column,
        mask_marker=settings.mask_marker,
        actions=frozenset(conf.CAPTURE_ACTIONS - settings.skip_actions),
        max_value_bytes=settings.max_value_bytes,
    )
