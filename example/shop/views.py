"""Views the demo tour calls through Django's test client, exactly as a browser would."""

from __future__ import annotations

import csv
import io

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST

from pgaudit_django.utils import log_data_export
from shop.models import Customer, Order


@login_required
@require_POST
def pay_order(request: HttpRequest, number: str) -> HttpResponse:
    # A plain save(): the trigger records it, and AuditMiddleware attributes it to the logged-in
    # user, this request's IP, route and request id. No audit code in the view.
    order = get_object_or_404(Order, number=number)
    order.status = Order.Status.PAID
    order.save(update_fields=["status"])
    return HttpResponse(f"order {order.number} paid\n", content_type="text/plain")


@login_required
def export_customers(request: HttpRequest) -> HttpResponse:
    rows = Customer.objects.order_by("pk").values_list("pk", "name", "email")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "name", "email"])
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    body = buffer.getvalue().encode()
    # Exports leave the application: record who took what (one DataExport row).
    log_data_export(
        user=request.user,
        export_type="Customers",
        file_format="CSV",
        record_count=count,
        file_size=len(body),
        filters={"ordering": "pk"},
        request=request,
    )
    response = HttpResponse(body, content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="customers.csv"'
    return response


def checkout_failure(request: HttpRequest) -> HttpResponse:
    # An unhandled exception: AuditMiddleware records it as an ERROR system event.
    raise RuntimeError("payment provider timed out")
