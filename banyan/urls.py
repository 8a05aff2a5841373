from django.urls import include, path

from banyan.api import api
from banyan.core import views as core_views

urlpatterns = [
    path("healthz", core_views.healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("banyan.core.urls")),
    path("", include("banyan.people.account_urls")),
    path("places/", include("banyan.people.place_urls")),
    path("people/", include("banyan.people.urls")),
    path("", include("banyan.warning.urls")),
    path("devices/", include("banyan.sensing.urls")),
    path("notify/", include("banyan.notify.urls")),
    path("response/", include("banyan.response.urls")),
    path("open311/v2/", include("banyan.response.open311.urls")),
    path("reports/", include("banyan.response.reports.urls")),
    path("care/", include("banyan.care.urls")),
    path("emergency/", include("banyan.emergency.urls")),
    path("cockpit/", include("banyan.cockpit.urls")),
    path("readiness/", include("banyan.cockpit.readiness_urls")),
    path("audit/", include("banyan.audit.urls")),
    path("tiles/", include("banyan.places.tile_urls")),
]
