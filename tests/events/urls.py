from __future__ import annotations

from django.contrib import admin
from django.urls import path

from tests.events import support

urlpatterns = [
    path("admin/", admin.site.urls),
    path("ok/", support.ok, name="ok"),
    path("ok-async/", support.ok_async, name="ok-async"),
    path("create/", support.create_customer, name="create"),
    path("whoami/", support.whoami, name="whoami"),
    path("boom/", support.boom, name="boom"),
    path("boom-async/", support.boom_async, name="boom-async"),
    path("missing/", support.not_found, name="missing"),
    path("denied/", support.denied, name="denied"),
    path("slow/", support.slow, name="slow"),
    path("slow-async/", support.slow_async, name="slow-async"),
    path("write-then-audit/", support.write_then_audit, name="write-then-audit"),
    path("login/", support.login_view, name="login"),
    path("logout/", support.logout_view, name="logout"),
    path("customers/<int:pk>/", support.CustomerDetail.as_view(), name="customer-detail"),
]
