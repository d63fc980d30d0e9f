"""Optional country/city for login attempts, from a local source only.

A login must never wait on the network, so the only built-in source is a MaxMind database
file read with ``geoip2`` (``AUDIT_GEOIP_DATABASE = "/path/GeoLite2-City.mmdb"``, extra
``pgaudit-django[geoip]``). ``AUDIT_GEOIP_LOOKUP = "myproject.geo.lookup"`` plugs in any other
callable ``(ip: str) -> (country, city) | None``; it is the project's job to keep it local.
Nothing is configured by default. Every failure means "unknown", never a failed login.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from pgaudit_django import conf
from pgaudit_django.request_info import clean_text

logger = logging.getLogger("pgaudit_django.events")

Location = tuple[str, str]
FIELD_LIMIT = 100  # LoginAttempt.country / .city
NO_LOCATION: Location = ("", "")


def _is_public(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_global
    except ValueError:
        return False


def _geoip2_lookup(path: str) -> Callable[[str], Location | None]:
    try:
        import geoip2.database
        import geoip2.errors
    except ImportError as exc:
        raise ImproperlyConfigured(
            "AUDIT_GEOIP_DATABASE needs the geoip2 package: pip install 'pgaudit-django[geoip]'."
        ) from exc
    reader = geoip2.database.Reader(path)  # memory-maps the file; thread-safe for reads

    def lookup(ip: str) -> Location | None:
        try:
            # city() needs a City database; a Country database only answers country().
            if "City" in reader.metadata().database_type:
                found = reader.city(ip)
                return found.country.iso_code or "", found.city.name or ""
            return reader.country(ip).country.iso_code or "", ""
        except geoip2.errors.AddressNotFoundError:
            return None

    return lookup


@functools.cache
def _configured() -> Callable[[str], Any] | None:
    settings = conf.events()
    if settings.geoip_lookup:
        return import_string(settings.geoip_lookup)  # type: ignore[no-any-return]
    if settings.geoip_database:
        return _geoip2_lookup(settings.geoip_database)
    return None


def locate(ip: str | None) -> Location:
    """(country, city) for a public address, or empty strings."""
    if not ip or not _is_public(ip):
        return NO_LOCATION
    try:
        lookup = _configured()
        found = lookup(ip) if lookup is not None else None
    except Exception:
        logger.warning("pgaudit_django: geo lookup failed for a login attempt.", exc_info=True)
        return NO_LOCATION
    if not found:
        return NO_LOCATION
    country, city = found
    return clean_text(country or "", FIELD_LIMIT), clean_text(city or "", FIELD_LIMIT)


@receiver(setting_changed)
def _reset(setting: str, **kwargs: Any) -> None:
    if setting in {"AUDIT_GEOIP_DATABASE", "AUDIT_GEOIP_LOOKUP"}:
        _configured.cache_clear()
