"""Which models are audited, and how.

Three ways in, one registry:

* ``@pgaudit_django.track(...)`` on a model class the project owns: the triggers go into that
  model's ``Meta.triggers`` and ``makemigrations`` writes them into the model's own app.
* ``pgaudit_django.track(User, ...)`` / ``track("auth.User", ...)`` for a model the project does not
  own, and ``AUDIT_MODELS`` in settings: the triggers are attached to a proxy model declared in
  the project's trigger app (``AUDIT_TRIGGERS_APP``, rendered from ``migrations_templates/``), so
  the migrations live in an app the project controls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar, overload

from django.core.exceptions import ImproperlyConfigured
from django.db import models

ModelT = TypeVar("ModelT", bound=type[models.Model])


@dataclass(frozen=True)
class TrackOptions:
    """What the user asked for: field names as written on the model (name or attname)."""

    fields: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    mask: tuple[str, ...] = ()
    repr_field: str | None = None


@dataclass
class Registration:
    model: type[models.Model]
    options: TrackOptions
    # "decorator": triggers on the model itself; "external": on a proxy in the trigger app.
    via: str
    proxy: type[models.Model] | None = field(default=None)

    @property
    def label(self) -> str:
        return self.model._meta.label


# Keyed by concrete model label: a table is captured by exactly one set of triggers.
_registrations: dict[str, Registration] = {}
# Labels given as strings before their models were importable; resolved by the trigger app.
_pending_labels: dict[str, TrackOptions] = {}


def _as_tuple(name: str, value: Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        raise TypeError(f"track({name}=...) takes a list of field names, not the string {value!r}.")
    items = tuple(value)
    for item in items:
        if not isinstance(item, str):
            raise TypeError(f"track({name}=...) takes field names, got {item!r}.")
    return items


def _options(
    fields: Iterable[str] | None,
    exclude: Iterable[str] | None,
    mask: Iterable[str] | None,
    repr_field: str | None,
) -> TrackOptions:
    return TrackOptions(
        fields=_as_tuple("fields", fields) if fields is not None else None,
        exclude=_as_tuple("exclude", exclude),
        mask=_as_tuple("mask", mask),
        repr_field=repr_field,
    )


def _add(model: type[models.Model], options: TrackOptions, via: str) -> Registration:
    if model._meta.abstract:
        raise ImproperlyConfigured(f"{model.__name__} is abstract: track its concrete subclasses.")
    if model._meta.proxy:
        model = model._meta.concrete_model  # type: ignore[assignment]
    # Decided here, on the real class: makemigrations compiles triggers against historical
    # models, which no longer subclass AbstractBaseUser.
    extra_mask = tuple(name for name in default_mask(model) if name not in options.mask)
    if extra_mask:
        options = replace(options, mask=options.mask + extra_mask)
    label = model._meta.label
    existing = _registrations.get(label)
    if existing is not None:
        if existing.options == options and existing.via == via:
            return existing
        raise ImproperlyConfigured(
            f"{label} is registered for auditing twice ({existing.via} and {via}); "
            "register each model once."
        )
    registration = Registration(model=model, options=options, via=via)
    _registrations[label] = registration
    return registration


@overload
def track(
    model: None = None,
    *,
    fields: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    mask: Iterable[str] | None = None,
    repr_field: str | None = None,
) -> Callable[[ModelT], ModelT]: ...


@overload
def track(
    model: type[models.Model] | str,
    *,
    fields: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    mask: Iterable[str] | None = None,
    repr_field: str | None = None,
) -> None: ...


def track(
    model: type[models.Model] | str | None = None,
    *,
    fields: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    mask: Iterable[str] | None = None,
    repr_field: str | None = None,
) -> Callable[[ModelT], ModelT] | None:
    """Register a model for trigger-based auditing.

    As a decorator (``@track()``) on a model the project owns, or called with a model class or an
    ``"app_label.Model"`` label for models it does not own (those need the trigger app).
    """
    options = _options(fields, exclude, mask, repr_field)
    if model is None:

        def decorate(cls: ModelT) -> ModelT:
            if not (isinstance(cls, type) and issubclass(cls, models.Model)):
                raise TypeError(f"@track() decorates Django model classes, not {cls!r}.")
            registration = _add(cls, options, via="decorator")
            from pgaudit_django.capture.triggers import attach_triggers

            attach_triggers(registration.model, registration.model)
            return cls

        return decorate
    if isinstance(model, str):
        if model.count(".") != 1:
            raise ImproperlyConfigured(
                f"track({model!r}): expected a label like 'app_label.ModelName'."
            )
        _pending_labels[model] = options
        return None
    if isinstance(model, type) and issubclass(model, models.Model):
        _add(model, options, via="external")
        return None
    raise TypeError(f"track() takes a model class or an 'app_label.Model' label, got {model!r}.")


def default_mask(model: type[models.Model]) -> tuple[str, ...]:
    """Password hashes are never written to the audit table, whatever the user configured."""
    # Imported here: importing auth models at package import time needs a ready app registry.
    from django.contrib.auth.base_user import AbstractBaseUser

    if issubclass(model, AbstractBaseUser):
        return ("password",)
    return ()


def registrations() -> list[Registration]:
    return list(_registrations.values())


def get_registration(model: type[models.Model]) -> Registration | None:
    concrete = model._meta.concrete_model or model
    return _registrations.get(concrete._meta.label)


def pending_labels() -> dict[str, TrackOptions]:
    return dict(_pending_labels)


def resolve_pending(get_model: Callable[[str], type[models.Model]]) -> list[Registration]:
    """Turn string labels into registrations; unknown labels raise a clear error."""
    resolved = []
    for label, options in list(_pending_labels.items()):
        try:
            model = get_model(label)
        except LookupError as exc:
            raise ImproperlyConfigured(
                f"pgaudit_django: cannot track {label!r}: no such model ({exc}). "
                "Check the label and that its app is in INSTALLED_APPS before the trigger app."
            ) from exc
        resolved.append(_add(model, options, via="external"))
        del _pending_labels[label]
    return resolved


def _unregister_for_tests(label: str) -> Any:
    return _registrations.pop(label, None)
