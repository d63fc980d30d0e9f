from __future__ import annotations

from django.contrib import admin

from pgaudit_django.admin import AuditHistoryMixin
from shop.models import Customer, Order, Product

# AuditHistoryMixin adds an "Audit history" button and page to each object: every change to the
# row, including bulk updates and raw SQL, with who made it and from where.


@admin.register(Customer)
class CustomerAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("name", "email")
    search_fields = ("name", "email")


@admin.register(Product)
class ProductAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("sku", "name", "price")


@admin.register(Order)
class OrderAdmin(AuditHistoryMixin, admin.ModelAdmin):
    list_display = ("number", "customer", "status", "total")
    list_filter = ("status",)
