"""The /api/v1/ JSON API: the operations of pos/api/app.py, described by /api/v1/openapi.json.

Every route here is in the OpenAPI document with the same methods (tests/pos/test_api_openapi.py
checks both ways). Anything else under /api/v1/ is a JSON 404.
"""

from django.urls import re_path, register_converter

from pos.api import app
from pos.api.core import IdConverter, unknown_endpoint

app_name = "api"

register_converter(IdConverter, "api_id")

urlpatterns = [
    *app.urls(),
    re_path(r"^[\s\S]*$", unknown_endpoint, name="unknown"),  # any path, newlines too
]
