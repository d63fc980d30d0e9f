"""Admins of the test project: tracked models with the audit-history button."""

from __future__ import annotations

from django.contrib import admin

from pgaudit_django.admin import AuditHistoryMixin
from tests.testapp.models import Article, Customer, Invoice


@admin.register(Customer)
class CustomerAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("name", "email")
    audit_history_children = [("testapp.Invoice", "customer_id")]


@admin.register(Invoice)
class InvoiceAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("number", "customer", "amount", "paid")
    list_select_related = ("customer",)


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    """Without the mixin: audit rows still link here, and no history button appears."""

    list_display = ("title",)
