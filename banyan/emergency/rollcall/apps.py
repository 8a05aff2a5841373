from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RollCallConfig(AppConfig):
    name = "banyan.emergency.rollcall"
    label = "rollcall"
    verbose_name = _("Roll call")
