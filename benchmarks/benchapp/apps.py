from django.apps import AppConfig


class BenchAppConfig(AppConfig):
    """The unaudited baseline model and the model audited by pgaudit_django."""

    name = "benchmarks.benchapp"
    label = "benchapp"
    default_auto_field = "django.db.models.BigAutoField"
