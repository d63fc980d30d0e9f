from django.apps import AppConfig


class PghistoryRowConfig(AppConfig):
    name = "benchmarks.peers.pghistory_row"
    label = "pghistory_row"
    default_auto_field = "django.db.models.BigAutoField"
