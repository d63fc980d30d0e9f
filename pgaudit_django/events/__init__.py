"""ORM-side events: logins, exports, system and security events, manual events, summaries.

``connect()`` is called by the app config's ``ready()``.
"""

from __future__ import annotations


def connect() -> None:
    """Connect the auth signal receivers (idempotent) and register the system checks."""
    from django.contrib.auth import signals

    from pgaudit_django.events import auth, checks  # noqa: F401  (checks registers itself)

    signals.user_logged_in.connect(auth.on_logged_in, dispatch_uid="pgaudit_django.logged_in")
    signals.user_logged_out.connect(auth.on_logged_out, dispatch_uid="pgaudit_django.logged_out")
    signals.user_login_failed.connect(
        auth.on_login_failed, dispatch_uid="pgaudit_django.login_failed"
    )
