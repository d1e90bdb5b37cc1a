from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView


def healthz(request):
    return JsonResponse({"status": "ok"})


admin.site.site_header = _("Brigade")
admin.site.site_title = _("Brigade back office")
admin.site.index_title = _("Back office")

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("pos.api.urls")),
    path("pos/", include("pos.urls")),
    path("kitchen/", include("kitchen.urls")),
    path("kds/", include("kitchen.kds_urls")),
    path("payments/", include("payments.urls")),
]
