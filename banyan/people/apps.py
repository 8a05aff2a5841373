from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "banyan.people"
    label = "people"
    verbose_name = _("People")

    def ready(self):
        from banyan.people import login

        login.connect_signals()  # audit entries for sign-in, sign-out and lockouts
