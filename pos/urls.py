"""The tablet web app at /pos/ (pos/views.py)."""

app_name = "pos"

urlpatterns: list = []
