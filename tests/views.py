"""Views used by the attribution tests."""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tests.testapp.models import Customer


def rename_customer(request: HttpRequest, pk: int) -> HttpResponse:
    Customer.objects.filter(pk=pk).update(name=request.GET.get("name", "renamed"))
    return HttpResponse("ok")


async def rename_customer_async(request: HttpRequest, pk: int) -> HttpResponse:
    # Yield to the loop between resolving the user and writing, so concurrent requests interleave.
    await asyncio.sleep(float(request.GET.get("delay", "0")))
    await sync_to_async(Customer.objects.filter(pk=pk).update)(name=request.GET.get("name", "x"))
    return HttpResponse("ok")


async def rename_customer_auser(request: HttpRequest, pk: int) -> HttpResponse:
    """An async view that resolves its user the async way before writing."""
    user = await request.auser()
    name = f"by {user.get_username()}" if user.is_authenticated else "anonymous"
    await sync_to_async(Customer.objects.filter(pk=pk).update)(name=name)
    return HttpResponse("ok")


def rename_via_header_user(request: HttpRequest, pk: int) -> HttpResponse:
    """Authenticates inside the view, the way DRF token authentication does."""
    username = request.headers.get("X-Test-User")
    if username:
        request.user = get_user_model().objects.get(username=username)
    Customer.objects.filter(pk=pk).update(name="set-by-view-user")
    return HttpResponse("ok")


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom")


class TokenRename(APIView):
    """Django REST Framework sets request.user inside the view (token authentication)."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    def post(self, request: Request, pk: int) -> Response:
        Customer.objects.filter(pk=pk).update(name=request.data.get("name", "drf"))
        return Response({"ok": True})
