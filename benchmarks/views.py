"""The read-only page of the read benchmark."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from benchmarks.benchapp.models import Plain

SELECTS_PER_REQUEST = 50


def fifty_selects(request: HttpRequest) -> HttpResponse:
    """50 primary-key SELECTs and no write: what a typical detail or list page does."""
    total = 0
    for pk in range(1, SELECTS_PER_REQUEST + 1):
        qty = Plain._default_manager.filter(pk=pk).values_list("qty", flat=True).first()
        total += qty or 0
    return HttpResponse(str(total))
