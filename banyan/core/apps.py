from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "banyan.core"
    label = "core"
    verbose_name = _("Banyan core")

    def ready(self):
        from banyan.core import login

        login.connect_signals()

        from banyan.core import middleware

        middleware.connect_signals()  # the session's start and last request, at sign-in
