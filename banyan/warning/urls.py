from django.urls import path

from banyan.warning import views

app_name = "warning"

urlpatterns = [
    path("alerts.atom", views.alerts_atom, name="alerts-atom"),
]
