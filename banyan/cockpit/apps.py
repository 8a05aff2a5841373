from django.apps import AppConfig


class CockpitConfig(AppConfig):
    name = "banyan.cockpit"
    label = "cockpit"
    verbose_name = "Cockpit"
