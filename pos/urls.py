"""The tablet web app at /pos/ (pos/views.py)."""

from django.urls import path

from pos import views

app_name = "pos"

urlpatterns = [
    path("", views.tablet, name="tablet"),
    path("pair/", views.pair_as_manager, name="pair"),
]
