from django.apps import AppConfig


class SimConfig(AppConfig):
    name = "banyan.sim"
    label = "sim"
    verbose_name = "Simulation"
