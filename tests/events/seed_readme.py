"""The code snippets of the original library's README (shared/seed), unchanged except that
``audit`` became ``pgaudit_django`` in the imports. test_compat_seed_readme.py runs them."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from tests.testapp.models import Customer as MyModel

# --- "Settings" ------------------------------------------------------------------------------

SETTINGS: dict[str, Any] = {}
exec(  # noqa: S102  (the README's settings block, verbatim)
    """
# Skip auditing for specific models
AUDIT_SKIP_MODELS = [
    'auth.Session',
    'contenttypes.ContentType',
]

# Skip auditing for specific actions
AUDIT_SKIP_ACTIONS = ['VIEW']
""",
    SETTINGS,
)
SETTINGS.pop("__builtins__")

MIDDLEWARE_ADDITIONS = [
    # ... your other middleware
    "pgaudit_django.middleware.AuditMiddleware",
    "pgaudit_django.middleware.SecurityAuditMiddleware",  # Optional: for security monitoring
]


# --- "Manual Logging" ------------------------------------------------------------------------


def manual_logging(request: HttpRequest) -> HttpResponse:
    some_model_instance = MyModel.objects.get(pk=request.GET["pk"])

    from pgaudit_django.utils import log_audit_event, log_system_event, log_data_export  # noqa: I001

    # Log a custom audit event
    log_audit_event(
        user=request.user,
        action="CUSTOM_ACTION",
        content_object=some_model_instance,
        changes={"field": "new_value"},
        reason="Custom reason",
        request=request,
    )

    # Log a system event
    log_system_event(
        event_type="INFO",
        title="Custom Event",
        description="Something important happened",
        user=request.user,
        request=request,
    )

    # Log a data export
    log_data_export(
        user=request.user,
        export_type="User Data",
        file_format="CSV",
        record_count=100,
        file_size=1024,
        filters={"active": True},
        request=request,
    )
    return HttpResponse("logged")


# --- "Using the Audit Mixin" -----------------------------------------------------------------

from pgaudit_django.utils import AuditMixin  # noqa: E402, I001
from django.views.generic import DetailView  # noqa: E402


class MyDetailView(AuditMixin, DetailView):
    model = MyModel

    def get_object(self):
        obj = super().get_object()
        self.log_view_access(self.request, obj)
        return obj

    template_name = "unused.html"

    def render_to_response(self, context: Any, **kwargs: Any) -> HttpResponse:
        return HttpResponse(self.object.name)


# --- "Getting Audit Summaries" ---------------------------------------------------------------


def summaries(request: HttpRequest) -> dict[str, Any]:
    from pgaudit_django.utils import get_audit_summary

    # Get system-wide summary for last 30 days
    summary = get_audit_summary(days=30)
    system_wide = summary

    # Get summary for specific user
    summary = get_audit_summary(user=request.user, days=7)
    return {"system": system_wide, "user": summary}
