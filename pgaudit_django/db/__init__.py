"""Carrying the acting context to PostgreSQL on each write statement."""
