"""The scripted tour: every way a write or an event reaches the audit trail, one step each.

Each step does what an application, a user or an attacker would do — through the ORM, through
Django's test client (the full middleware stack, as a browser would), or through a second,
non-Django database connection — and contains no audit code of its own beyond what the README
shows (``pgaudit_django.context``, ``log_data_export``).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F
from django.db.models.functions import Upper
from django.test import Client

import pgaudit_django
from shop.models import Customer, Order, Product

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"

# Documentation address ranges (RFC 5737): clearly not real clients.
BROWSER_IP = "192.0.2.10"
OTHER_IP = "203.0.113.9"
SCANNER_IP = "198.51.100.23"
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) demo-browser/1.0"
SCANNER_UA = "sqlmap/1.8.2#stable (https://sqlmap.org)"


@dataclass(frozen=True)
class Step:
    title: str
    explanation: str
    run: Callable[[], str | None]  # returns a note to print with the step, if any


@contextlib.contextmanager
def quiet(logger_name: str) -> Iterator[None]:
    """Keep Django's own request logging (404 warnings, 500 tracebacks) out of the tour output."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def ensure_admin() -> tuple[Any, bool]:
    """The demo's superuser (created once; its password reset to the printed one)."""
    user_model = get_user_model()
    with pgaudit_django.context(reason="demo setup: admin user"):
        user = user_model.objects.filter(username=ADMIN_USERNAME).first()
        created = user is None
        if user is None:
            user = user_model.objects.create_superuser(
                ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD
            )
        elif not user.check_password(ADMIN_PASSWORD) or not user.is_superuser:
            user.set_password(ADMIN_PASSWORD)
            user.is_staff = user.is_superuser = user.is_active = True
            user.save()
    return user, created


class Tour:
    def __init__(self, admin: Any) -> None:
        self.admin = admin
        # Fresh order numbers and SKUs per run: the embedded database is kept between runs.
        self.run = secrets.token_hex(3).upper()
        self.browser = Client(REMOTE_ADDR=BROWSER_IP, HTTP_USER_AGENT=BROWSER_UA)
        self.browser.raise_request_exception = False
        self.order_number = f"{self.run}-1"
        self.skus = [f"{self.run}-{n}" for n in ("MUG", "TEE", "CAP")]

    def steps(self) -> list[Step]:
        return [
            Step(
                "ORM create, update, delete inside pgaudit_django.context(user=admin)",
                "plain save()/delete() calls; the context names the user and a reason",
                self.orm_in_context,
            ),
            Step(
                "successful login through the admin login form",
                f"POST /admin/login/ from {BROWSER_IP}",
                self.login_ok,
            ),
            Step(
                "ORM update inside a request (AuditMiddleware)",
                f"POST /shop/orders/{self.order_number}/pay/ as the logged-in admin",
                self.pay_through_request,
            ),
            Step(
                "bulk_create(): three products in one INSERT",
                "one statement, one trigger run, one audit row per product",
                self.bulk_create,
            ),
            Step(
                "QuerySet.update(): +10 % on those products",
                "no model instances, no signals; the statement-level trigger still sees each row",
                self.queryset_update,
            ),
            Step(
                "raw SQL from a second, non-Django connection",
                "psycopg directly, application_name 'billing-cron', no application context",
                self.raw_sql,
            ),
            Step(
                "failed login (wrong password)",
                f"POST /admin/login/ from {OTHER_IP}",
                self.login_failed,
            ),
            Step(
                "data export: GET /shop/customers/export.csv",
                "the view calls pgaudit_django.utils.log_data_export()",
                self.export,
            ),
            Step(
                "an unhandled exception: GET /shop/checkout/ raises",
                "answered with a 500; AuditMiddleware records the error",
                self.exception,
            ),
            Step(
                "a security probe: GET /.env?id=1' OR '1'='1 with sqlmap's user agent",
                f"from {SCANNER_IP}; SecurityAuditMiddleware flags it (throttled per client)",
                self.probe,
            ),
            Step(
                "a deliberate bypass: pgaudit_django.disabled(reason=...)",
                "the changes inside are not captured, but the block itself is recorded",
                self.disabled_block,
            ),
        ]

    # -- steps ------------------------------------------------------------------------------

    def orm_in_context(self) -> None:
        with pgaudit_django.context(user=self.admin, reason="phone order from Alice"):
            alice = Customer.objects.create(
                name="Alice Martin", email="alice@example.com", iban="DE89370400440532013000"
            )
            order = Order.objects.create(
                number=self.order_number, customer=alice, total=Decimal("42.00")
            )
            order.note = "gift wrap"
            order.save()
            alice.iban = "FR1420041010050500013M02606"  # masked: the change shows, the value not
            alice.save()
            draft = Order.objects.create(number=f"{self.run}-2", customer=alice)
            draft.delete()

    def login_ok(self) -> str:
        response = self.browser.post(
            "/admin/login/?next=/admin/",
            {"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD},
        )
        if response.status_code != 302:
            raise RuntimeError(f"admin login failed: HTTP {response.status_code}")
        return "HTTP 302 to /admin/ (logged in)"

    def pay_through_request(self) -> str:
        response = self.browser.post(f"/shop/orders/{self.order_number}/pay/")
        return f"HTTP {response.status_code}: {response.content.decode().strip()}"

    def bulk_create(self) -> None:
        with pgaudit_django.context(user=self.admin, reason="catalogue import"):
            Product.objects.bulk_create(
                [
                    Product(sku=self.skus[0], name="Mug", price=Decimal("9.90")),
                    Product(sku=self.skus[1], name="T-shirt", price=Decimal("19.00")),
                    Product(sku=self.skus[2], name="Cap", price=Decimal("15.50")),
                ]
            )

    def queryset_update(self) -> str:
        with pgaudit_django.context(user=self.admin, reason="price increase"):
            count = Product.objects.filter(sku__in=self.skus).update(
                price=F("price") * Decimal("1.10")
            )
        return f"{count} rows updated by one UPDATE statement"

    def raw_sql(self) -> str:
        import psycopg
        from psycopg.conninfo import make_conninfo

        # The same server and database as Django's connection, but a connection of its own:
        # nothing of Django (no wrapper, no context) is involved.
        params = connection.get_connection_params()
        dsn = {
            key: params.get(key) or params.get("database" if key == "dbname" else key)
            for key in ("host", "port", "user", "password", "dbname")
        }
        conninfo = make_conninfo(**{key: value for key, value in dsn.items() if value})
        with psycopg.connect(conninfo, application_name="billing-cron", autocommit=True) as raw:
            cursor = raw.execute(
                "UPDATE shop_order SET status = 'refunded', note = 'refunded by billing-cron' "
                "WHERE number = %s",
                [self.order_number],
            )
            return f"{cursor.rowcount} row updated outside Django"

    def login_failed(self) -> str:
        intruder = Client(REMOTE_ADDR=OTHER_IP, HTTP_USER_AGENT="python-requests/2.32.3")
        response = intruder.post(
            "/admin/login/", {"username": ADMIN_USERNAME, "password": "letmein"}
        )
        return f"HTTP {response.status_code}: login form shown again"

    def export(self) -> str:
        response = self.browser.get("/shop/customers/export.csv")
        lines = response.content.decode().count("\n")
        return f"HTTP {response.status_code}: {lines - 1} customers as CSV"

    def exception(self) -> str:
        with quiet("django.request"):
            response = self.browser.get("/shop/checkout/")
        return f"HTTP {response.status_code}"

    def probe(self) -> str:
        scanner = Client(REMOTE_ADDR=SCANNER_IP, HTTP_USER_AGENT=SCANNER_UA)
        with quiet("django.request"):
            response = scanner.get("/.env?id=1%27%20OR%20%271%27%3D%271")
        return f"HTTP {response.status_code}"

    def disabled_block(self) -> str:
        with pgaudit_django.disabled(reason="demo: upper-case product names"):
            count = Product.objects.filter(sku__in=self.skus).update(name=Upper("name"))
        return f"{count} rows written without capture"
