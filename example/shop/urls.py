from django.urls import path

from shop import views

app_name = "shop"
urlpatterns = [
    path("orders/<str:number>/pay/", views.pay_order, name="order-pay"),
    path("customers/export.csv", views.export_customers, name="customer-export"),
    path("checkout/", views.checkout_failure, name="checkout"),
]
