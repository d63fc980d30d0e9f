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

    def __str__(self) -> str:
        return self.number


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)

    def __str__(self) -> str:
        return self.name


@pgaudit_django.track()
class Article(models.Model):
    title = models.CharField(max_length=200)
    tags = models.ManyToManyField(Tag, through="ArticleTag", blank=True)
    # An auto-created through table: captured by triggers hosted on Article.
    labels = models.ManyToManyField(Tag, blank=True, related_name="labelled_articles")

    def __str__(self) -> str:
        return self.title


@pgaudit_django.track()
class ArticleTag(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)

    def __str__(self) -> str:
        return f"{self.article_id}:{self.tag_id}"


@pgaudit_django.track()
class Code(models.Model):
    """A natural (changeable) primary key: pk updates must not vanish from the log."""

    code = models.CharField(max_length=20, primary_key=True)
    label = models.CharField(max_length=100, blank=True, default="")

    def __str__(self) -> str:
        return self.code


class Untracked(models.Model):
    name = models.CharField(max_length=50)

    def __str__(self) -> str:
        return self.name


class Product(models.Model):
    """Tracked by a track() call in the trigger app, the way a third-party model is."""

    sku = models.CharField(max_length=20)
    price = models.IntegerField(default=0)

    def __str__(self) -> str:
        return self.sku


class Vehicle(models.Model):
    """Parent of a multi-table-inheritance child; not tracked itself."""

    name = models.CharField(max_length=50)

    def __str__(self) -> str:
        return self.name


@pgaudit_django.track()
class Car(Vehicle):
    """A tracked multi-table-inheritance child: its trigger sees only its own table's columns."""

    doors = models.IntegerField(default=4)


@pgaudit_django.track()
class Document(models.Model):
    """Unbounded values: too large ones are recorded by size and digest (AUDIT_MAX_VALUE_BYTES)."""

    title = models.CharField(max_length=100)
    body = models.TextField(blank=True, default="")
    blob = models.BinaryField(null=True, blank=True)
    data = models.JSONField(null=True, blank=True)

    def __str__(self) -> str:
        return self.title
