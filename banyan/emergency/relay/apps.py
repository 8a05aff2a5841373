from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RelayConfig(AppConfig):
    name = "banyan.emergency.relay"
    label = "relay"
    verbose_name = _("Warnings to residents")

    def ready(self) -> None:
        # The home page (people, below emergency) shows a resident the warnings relayed to them.
        from banyan.emergency.relay.views import home_relayed
        from banyan.people.account_views import add_home_section

        add_home_section(home_relayed)
