"""The benchmark model's fields, shared by every audited/unaudited copy of it.

Five columns of the common kinds (text, integer, numeric, boolean, timestamp) plus the primary
key: small enough that per-row overheads show, typical enough that the numbers transfer.
"""

from __future__ import annotations

from django.db import models


class BenchItem(models.Model):
    name = models.CharField(max_length=100)
    qty = models.IntegerField(default=0)
    price = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    active = models.BooleanField(default=True)
    updated = models.DateTimeField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name
