"""Views, backends and hooks used by the event tests (routed by tests/events/urls.py)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.views.generic import DetailView

from pgaudit_django.utils import AuditMixin, log_system_event
from tests.testapp.models import Customer


def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


async def ok_async(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def create_customer(request: HttpRequest) -> HttpResponse:
    Customer.objects.create(name=request.GET.get("name", "created-by-view"))
    return HttpResponse("created")


def whoami(request: HttpRequest) -> HttpResponse:
    return HttpResponse(request.user.get_username() if request.user.is_authenticated else "-")


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("kaboom in a view")  # line checked by test_system_events


def not_found(request: HttpRequest) -> HttpResponse:
    raise Http404("nothing here")


def denied(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("no")


def slow(request: HttpRequest) -> HttpResponse:
    time.sleep(float(request.GET.get("s", "0.15")))
    return HttpResponse("slow")


async def slow_async(request: HttpRequest) -> HttpResponse:
    await asyncio.sleep(float(request.GET.get("s", "0.15")))
    return HttpResponse("slow")


def write_then_audit(request: HttpRequest) -> HttpResponse:
    """A business write, an audit event (which a test makes fail), then another write."""
    Customer.objects.create(name="before-audit")
    event = log_system_event(event_type="INFO", title=request.GET.get("title", "fine"))
    Customer.objects.create(name="after-audit")
    return HttpResponse("event" if event is not None else "no-event")


def login_view(request: HttpRequest) -> HttpResponse:
    user = authenticate(
        request, username=request.POST.get("username"), password=request.POST.get("password")
    )
    if user is None:
        return HttpResponse("denied", status=401)
    login(request, user)
    return HttpResponse("welcome")


def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponse("bye")


class CustomerDetail(AuditMixin, DetailView):  # type: ignore[type-arg]
    model = Customer

    def get_object(self, queryset: Any = None) -> Any:
        obj = super().get_object(queryset)
        self.log_view_access(self.request, obj)
        return obj

    def render_to_response(self, context: dict[str, Any], **kwargs: Any) -> HttpResponse:
        return HttpResponse(context["object"].name)


class EmailBackend(ModelBackend):
    """A project backend that logs users in by email (USERNAME_FIELD stays "username")."""

    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, email: str | None = None, password: str | None = None
    ) -> Any:
        if email is None or password is None:
            return None
        user = get_user_model()._default_manager.filter(email__iexact=email).first()
        if user is not None and user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


def geo_lookup(ip: str) -> tuple[str, str] | None:
    return ("NL", "Amsterdam")  # must never be asked about non-public addresses


def geo_lookup_public(ip: str) -> tuple[str, str] | None:
    return ("US", "Mountain View") if ip == "8.8.8.8" else None


def geo_lookup_broken(ip: str) -> tuple[str, str]:
    raise OSError("geo database unreadable")


class SlowHasher(PBKDF2PasswordHasher):
    """Slow enough (tens of ms) that concurrent login attempts genuinely overlap."""

    algorithm = "pbkdf2_sha256_test"
    iterations = 60_000


async def boom_async(request: HttpRequest) -> HttpResponse:
    raise ValueError("async kaboom")
