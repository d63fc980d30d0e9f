"""Audit triggers for models this project does not own.

pgaudit_django declares one proxy model per tracked model here; `manage.py makemigrations`
writes their triggers into this app's migrations and `manage.py migrate` installs them on the
real tables. Keep this app after the apps whose models it tracks in INSTALLED_APPS.

Register third-party models below (or list them in settings.AUDIT_MODELS), e.g.:

    pgaudit_django.track("auth.User", mask=["password"])
"""

import pgaudit_django

# last_login changes on every login; the login itself is recorded as a LoginAttempt.
pgaudit_django.track("auth.User", exclude=["last_login"], repr_field="username")

globals().update(pgaudit_django.declare_trigger_models(__name__))
