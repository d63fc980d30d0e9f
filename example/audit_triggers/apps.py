from django.apps import AppConfig


class AuditTriggersConfig(AppConfig):
    """Hosts the audit triggers of models this project does not own (pgaudit_django)."""

    name = "audit_triggers"
    label = "audit_triggers"
    default_auto_field = "django.db.models.BigAutoField"
