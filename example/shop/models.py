"""A small shop whose models are audited by PostgreSQL triggers.

``@pgaudit_django.track()`` puts the audit triggers into each model's ``Meta.triggers``;
``makemigrations`` wrote them into ``shop/migrations`` and ``migrate`` installs them.
"""

from __future__ import annotations

from django.db import models

import pgaudit_django


# The IBAN is masked: the trail records that it was set or changed, never the number itself.
@pgaudit_django.track(mask=["iban"])
class Customer(models.Model):
    name = models.CharField(max_length=100)
    email = models.EmailField(blank=True, default="")
    iban = models.CharField("IBAN", max_length=34, blank=True, default="")

    def __str__(self) -> str:
        return self.name


@pgaudit_django.track()
class Product(models.Model):
    sku = models.CharField("SKU", max_length=20, unique=True)
    name = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=10, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


# repr_field: the trigger stores the order number as the row's description, so the trail stays
# readable after the order is deleted, without a query per row.
@pgaudit_django.track(repr_field="number")
class Order(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        PAID = "paid", "Paid"
        SHIPPED = "shipped", "Shipped"
        REFUNDED = "refunded", "Refunded"

    number = models.CharField(max_length=20, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    total = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    note = models.CharField(max_length=200, blank=True, default="")

    def __str__(self) -> str:
        return self.number
