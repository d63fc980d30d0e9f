"""Attribution: who is acting and from which request, kept in contextvars."""
