"""The /api/v1/ JSON API (pos/api/views.py); described by /api/v1/openapi.json."""


app_name = "api"

urlpatterns: list = []
