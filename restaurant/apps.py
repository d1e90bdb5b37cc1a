from django.apps import AppConfig


class RestaurantConfig(AppConfig):
    name = "restaurant"
    verbose_name = "Venue"
    default_auto_field = "django.db.models.BigAutoField"
