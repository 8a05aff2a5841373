from django.apps import AppConfig


class ResponseConfig(AppConfig):
    name = "banyan.response"
    label = "response"
    verbose_name = "Response"

    def ready(self) -> None:
        # An alert and its incident are one story: warning (below response) shows an alert's incident
        # and settles it when the alert is resolved through what response hands it here.
        from banyan.response.services import ALERT_INCIDENTS
        from banyan.warning.services import provide_incidents

        provide_incidents(ALERT_INCIDENTS)
