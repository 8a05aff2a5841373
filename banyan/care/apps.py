from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "banyan.care"
    label = "care"
    verbose_name = _("Everyday care")

    def ready(self) -> None:
        # The home page (people, below care) shows a resident the "I'm fine" button, and those who make
        # care plans how many are missing or overdue.
        from banyan.care.views import home_care_plans, home_checkin
        from banyan.people.account_views import add_home_section

        add_home_section(home_checkin)
        # Replies to the daily check-in (SMS "1"/"2", a key pressed during the call) come in through
        # notify's inbound endpoint; care says what they mean.
        from banyan.care.daily import handle_inbound
        from banyan.notify.inbound import set_handler

        set_handler(handle_inbound)
        add_home_section(home_care_plans)
        # A family carer's "The people I look after", with a button to check in for them.
        from banyan.care.circle_views import home_cared_for

        add_home_section(home_cared_for)
