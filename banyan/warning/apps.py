from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WarningConfig(AppConfig):
    name = "banyan.warning"
    label = "warning"
    verbose_name = _("Early warning")

    def ready(self) -> None:
        # The home page (people, below warning) shows the warnings of a resident's area.
        from banyan.people.account_views import add_home_section
        from banyan.warning.views import home_warnings

        add_home_section(home_warnings)
