from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TimebankConfig(AppConfig):
    name = "banyan.community.timebank"
    label = "timebank"
    verbose_name = _("Time bank")
