"""Attribution (the acting context): what the application knows about the acting user and request, kept in contextvars."""
