"""Audit triggers for models this project does not own (rendered from migrations_templates)."""

import pgaudit_django

pgaudit_django.track("auth.User", exclude=["last_login"])
pgaudit_django.track("testapp.Product")

globals().update(pgaudit_django.declare_trigger_models(__name__))
