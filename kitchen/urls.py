"""Kitchen pages under /kitchen/ (restaurant/urls.py includes them)."""

from django.urls import path

from kitchen import views

app_name = "kitchen"

urlpatterns = [
    path("printouts/", views.printouts, name="printouts"),
]
