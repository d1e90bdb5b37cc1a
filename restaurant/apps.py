from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RestaurantConfig(AppConfig):
    name = "restaurant"
    verbose_name = _("Venue")
    default_auto_field = "django.db.models.BigAutoField"
