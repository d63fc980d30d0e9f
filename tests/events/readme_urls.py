from __future__ import annotations

from django.urls import path

from tests.events import seed_readme

urlpatterns = [
    path("manual/", seed_readme.manual_logging, name="readme-manual"),
    path("things/<int:pk>/", seed_readme.MyDetailView.as_view(), name="readme-detail"),
]
