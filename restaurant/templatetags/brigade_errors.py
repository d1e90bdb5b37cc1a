"""`{% error_codes %}`: the API's error codes (restaurant.errors.ErrorCode) as the
`<script id="brigade-errors" type="application/json">` table the pages' JavaScript reads
(static/js/errors.js), so the front end names codes from the registry, not literals."""

from django import template
from django.utils.html import json_script

from restaurant.errors import code_table

register = template.Library()


@register.simple_tag
def error_codes():
    return json_script(code_table(), "brigade-errors")
