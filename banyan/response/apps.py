from django.apps import AppConfig


class ResponseConfig(AppConfig):
    name = "banyan.response"
    label = "response"
    verbose_name = "Response"
