from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PosConfig(AppConfig):
    """The front of house edge: the tablet web app, the /api/v1/ JSON API, tablet websockets.

    It composes the services of restaurant, orders and kitchen (and later payments); no domain
    app imports it.
    """

    name = "pos"
    verbose_name = _("Front of house")
    default_auto_field = "django.db.models.BigAutoField"
