"""The test project with AUDIT_MODELS = "__all__" (used by a subprocess test of app loading)."""

from tests.settings import *  # noqa: F403

AUDIT_MODELS = "__all__"
AUDIT_SKIP_MODELS = [
    "sessions.Session",
    "authtoken.Token",
    "contenttypes.ContentType",
    "admin.LogEntry",
    "auth.Permission",
    "testapp.Untracked",
]
