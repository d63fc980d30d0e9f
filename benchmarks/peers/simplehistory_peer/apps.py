from django.apps import AppConfig


class SimpleHistoryPeerConfig(AppConfig):
    name = "benchmarks.peers.simplehistory_peer"
    label = "simplehistory_peer"
    default_auto_field = "django.db.models.BigAutoField"
