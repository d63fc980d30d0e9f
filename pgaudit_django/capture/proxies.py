"""Triggers for models the project does not own, hosted by proxy models in the trigger app.

django-pgtrigger installs triggers through migrations of the app that declares them. A proxy
model of ``auth.User`` declared in the project's own trigger app (``AUDIT_TRIGGERS_APP``,
created by ``manage.py pgaudit_init``) carries the triggers; ``makemigrations`` writes them
into that app's migrations and they are installed on the concrete table.
"""

from __future__ import annotations

from django.apps import apps
from django.db import models

from pgaudit_django import conf, registry
from pgaudit_django.capture.triggers import attach_triggers

trigger_app_loaded = False


def proxy_name(model: type[models.Model]) -> str:
    """Stable across runs (migrations must not churn): app label + model name + "Audit"."""
    opts = model._meta
    return f"{opts.app_label.title().replace('_', '')}{opts.object_name}Audit"


def _loaded_models() -> list[type[models.Model]]:
    """Models imported so far. ``apps.get_models()`` cannot be used here: the trigger app's
    models module runs while the registry is still loading models (apps listed after the
    trigger app are not imported yet; the system check pgaudit.W005 reports them)."""
    loaded = []
    for app_config in apps.get_app_configs():
        for model in (app_config.models or {}).values():
            if not model._meta.auto_created and not model._meta.swapped:
                loaded.append(model)
    return loaded


def is_auditable(model: type[models.Model]) -> bool:
    """What "__all__" covers: concrete, managed models outside the audit machinery itself."""
    opts = model._meta
    if opts.proxy or not opts.managed or opts.auto_created or opts.swapped:
        return False
    if opts.app_label in conf.ALWAYS_SKIPPED_APPS:
        return False
    return opts.label_lower not in {label.lower() for label in conf.get().skip_models}


def _settings_models() -> list[tuple[type[models.Model], registry.TrackOptions]]:
    settings = conf.get()
    chosen: list[tuple[type[models.Model], registry.TrackOptions]] = []
    if settings.models == conf.ALL_MODELS:
        for model in _loaded_models():
            if is_auditable(model):
                chosen.append((model, registry.TrackOptions()))
    else:
        for label in settings.models:
            registry.track(label)
    return chosen


def declare_trigger_models(module_name: str) -> dict[str, type[models.Model]]:
    """Create a proxy model per externally registered model; call from the trigger app's models.py.

    Returns the proxies by class name so the module can expose them (``globals().update(...)``).
    """
    global trigger_app_loaded
    app_config = apps.get_containing_app_config(module_name)
    if app_config is None:
        raise RuntimeError(f"{module_name} is not inside an installed app.")
    # Explicit track() calls first: they carry options; "__all__" then fills in the rest.
    registry.resolve_pending(lambda label: apps.get_model(label, require_ready=False))
    for model, options in _settings_models():
        if registry.get_registration(model) is None:
            registry._add(model, options, via="external")
    registry.resolve_pending(lambda label: apps.get_model(label, require_ready=False))

    for registration in registry.registrations():
        if registration.via != "external" or registration.proxy is not None:
            continue
        name = proxy_name(registration.model)
        meta = type("Meta", (), {"proxy": True, "app_label": app_config.label})
        proxy = type(name, (registration.model,), {"__module__": module_name, "Meta": meta})
        attach_triggers(proxy, registration.model)
        registration.proxy = proxy
    trigger_app_loaded = True
    return {r.proxy.__name__: r.proxy for r in registry.registrations() if r.proxy is not None}
