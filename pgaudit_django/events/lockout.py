"""Lockout: refuse logins after too many recent failures, exactly, under concurrency.

Checking "fewer than N failures?" and recording a failure are two steps; run without a lock, N
concurrent attempts all pass the check before any failure is recorded ("20 tries get through").
``LockoutBackend`` (auth.py) therefore holds a PostgreSQL advisory *transaction* lock per key
(username, client IP) from the check until the outcome is recorded and committed: attempts for
one key run one at a time, attempts for different keys do not wait for each other. Keys are
locked in sorted order so two attempts sharing both keys cannot deadlock.

Counting: FAILED attempts within the window. Per username, failures before the account's last
successful login do not count (a success proves the password); per IP they always do, or an
attacker could reset their address's counter by logging into an account of their own.
BLOCKED attempts never count, so a lockout ends ``window`` seconds after the failures, however
long an attacker keeps knocking.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connections
from django.db.models import Max, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from pgaudit_django.conf import LockoutPolicy
from pgaudit_django.models import LoginAttempt

# First half of the two-int advisory lock key, so these locks cannot collide with the
# application's own single-bigint advisory locks. "pgal" as four ASCII bytes.
LOCK_NAMESPACE = 0x7067616C
FAILED = "FAILED"
SUCCESS = "SUCCESS"  # LoginAttempt.Status values, as plain str for typing


def username_key(username: str) -> str:
    """Case-insensitive: "Alice" and "ALICE" are one counter (email logins usually are)."""
    return username.strip().lower()


def lock_keys(policy: LockoutPolicy, username: str, ip: str | None) -> list[str]:
    keys = []
    if "username" in policy.by and username_key(username):
        keys.append(f"u:{username_key(username)}")
    if "ip" in policy.by and ip:
        keys.append(f"ip:{ip}")
    return sorted(keys)


def acquire(keys: list[str], using: str) -> None:
    """Advisory transaction locks on ``keys``, in order; released at COMMIT/ROLLBACK.

    One statement per key: a fresh statement after the wait sees everything committed by the
    previous holder (READ COMMITTED takes a snapshot per statement).
    """
    with connections[using].cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOCK_NAMESPACE, key])


def _reached(failures: QuerySet[LoginAttempt], limit: int) -> bool:
    # Sliced: the count stops at the limit, however many failures a flood has stored.
    found: int = failures.filter(status=FAILED).values("id")[:limit].count()
    return found >= limit


def locked_by(
    policy: LockoutPolicy, username: str, ip: str | None, using: str, now: datetime | None = None
) -> str | None:
    """``"username"``/``"ip"`` when that counter has reached the limit, else ``None``."""
    since = (now or timezone.now()) - timedelta(seconds=policy.window)
    attempts = LoginAttempt.objects.using(using)
    key = username_key(username)
    if "username" in policy.by and key:
        # Lower(...) = key uses the (lower(username), timestamp) index.
        mine = attempts.annotate(key=Lower("username")).filter(key=key)
        last_success = mine.filter(status=SUCCESS, timestamp__gte=since).aggregate(
            at=Max("timestamp")
        )["at"]
        failures = mine.filter(timestamp__gte=since)
        if last_success is not None:
            failures = failures.filter(timestamp__gt=last_success)
        if _reached(failures, policy.failures):
            return "username"
    if (
        "ip" in policy.by
        and ip
        and _reached(attempts.filter(ip_address=ip, timestamp__gte=since), policy.failures)
    ):
        return "ip"
    return None
