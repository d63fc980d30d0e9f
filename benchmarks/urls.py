from django.contrib import admin
from django.urls import path

from benchmarks import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("reads/", views.fifty_selects, name="bench-reads"),
]
