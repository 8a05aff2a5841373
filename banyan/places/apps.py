from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlacesConfig(AppConfig):
    name = "banyan.places"
    label = "places"
    verbose_name = _("Places")

    def ready(self) -> None:
        from django.core import checks

        from banyan.places.checks import check_basemap

        checks.register(check_basemap)
