from django.apps import AppConfig


class PghistoryStmtConfig(AppConfig):
    name = "benchmarks.peers.pghistory_stmt"
    label = "pghistory_stmt"
    default_auto_field = "django.db.models.BigAutoField"
