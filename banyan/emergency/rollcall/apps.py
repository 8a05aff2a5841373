from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RollCallConfig(AppConfig):
    name = "banyan.emergency.rollcall"
    label = "rollcall"
    verbose_name = _("Roll call")

    def ready(self) -> None:
        # A resident asked "are you safe?" answers on their home page (people, below emergency).
        from banyan.emergency.rollcall.views import home_rollcall
        from banyan.people.account_views import add_home_section

        add_home_section(home_rollcall)
        # SMS replies and key presses ("1" safe, "2" need help) from a phone the roll call asked come in
        # through notify's inbound endpoint; the roll call claims them before care's daily check-in.
        from banyan.emergency.rollcall.services import handle_inbound
        from banyan.notify.inbound import add_handler

        add_handler(handle_inbound)
