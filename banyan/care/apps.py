from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "banyan.care"
    label = "care"
    verbose_name = _("Everyday care")

    def ready(self) -> None:
        # The resident's home page (people, below care) shows the "I'm fine" button.
        from banyan.care.views import home_checkin
        from banyan.people.account_views import add_home_section

        add_home_section(home_checkin)
