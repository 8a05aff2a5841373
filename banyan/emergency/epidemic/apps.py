from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EpidemicConfig(AppConfig):
    name = "banyan.emergency.epidemic"
    label = "epidemic"
    verbose_name = _("Epidemic mode")

    def ready(self) -> None:
        # An isolating resident asked "are you OK today?" answers on their home page (people, below
        # emergency), by SMS or by a key press; the roll call's handler (added before, settings'
        # order) is asked first, care's daily check-in (the default handler) last.
        from banyan.emergency.epidemic.services import handle_inbound
        from banyan.emergency.epidemic.views import home_checkin
        from banyan.notify.inbound import add_handler
        from banyan.people.account_views import add_home_section

        add_home_section(home_checkin)
        add_handler(handle_inbound)
