from django.apps import AppConfig


class AuditlogPeerConfig(AppConfig):
    name = "benchmarks.peers.auditlog_peer"
    label = "auditlog_peer"
    default_auto_field = "django.db.models.BigAutoField"
