"""Models of the test project: every capture rule is exercised on one of these."""

from __future__ import annotations

from django.db import models

import pgaudit_django


@pgaudit_django.track(exclude=["last_seen"], mask=["iban"])
class Customer(models.Model):
    name = models.CharField(max_length=100)
    email = models.EmailField(blank=True, default="")
    iban = models.CharField(max_length=34, blank=True, default="")
    last_seen = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


@pgaudit_django.track(repr_field="number")
class Invoice(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="invoices")
    number = models.CharField(max_length=20, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    paid = models.BooleanField(default=False)
    issued = models.DateField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    quantity = models.IntegerField(default=1, db_column="qty")


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)


@pgaudit_django.track()
class Article(models.Model):
    title = models.CharField(max_length=200)
    tags = models.ManyToManyField(Tag, through="ArticleTag", blank=True)


@pgaudit_django.track()
class ArticleTag(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)


@pgaudit_django.track()
class Code(models.Model):
    """A natural (changeable) primary key: pk updates must not vanish from the log."""

    code = models.CharField(max_length=20, primary_key=True)
    label = models.CharField(max_length=100, blank=True, default="")


class Untracked(models.Model):
    name = models.CharField(max_length=50)


class Product(models.Model):
    """Tracked through settings-free track() call in the trigger app (as a third-party model)."""

    sku = models.CharField(max_length=20)
    price = models.IntegerField(default=0)
