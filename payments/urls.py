"""Pages under /payments/ (restaurant/urls.py includes them)."""

from django.urls import path

from payments import views

app_name = "payments"

urlpatterns = [
    path("stripe/webhook/", views.stripe_webhook, name="stripe-webhook"),
    path("readers/", views.simulated_readers, name="readers"),
    path("readers/<int:reader_id>/tap/", views.simulated_reader_tap, name="reader-tap"),
]
