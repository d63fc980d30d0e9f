from django.contrib import admin
from django.urls import path

from tests import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("customers/<int:pk>/rename/", views.rename_customer, name="rename-customer"),
    path("customers/<int:pk>/rename-async/", views.rename_customer_async, name="rename-async"),
    path("customers/<int:pk>/rename-auser/", views.rename_customer_auser, name="rename-auser"),
    path("customers/<int:pk>/rename-later/", views.rename_via_header_user, name="rename-later"),
    path("boom/", views.boom, name="boom"),
    path("api/customers/<int:pk>/rename/", views.TokenRename.as_view(), name="api-rename"),
]
