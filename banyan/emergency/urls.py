"""The emergency pages, under ``/emergency/``: each part of the app keeps its own address list."""

from django.urls import include, path

app_name = "emergency"

urlpatterns = [
    path("", include("banyan.emergency.urls_board")),
    path("", include("banyan.emergency.urls_plans")),
    path("", include("banyan.emergency.rollcall.urls")),
    path("", include("banyan.emergency.shelters.urls")),
    path("", include("banyan.emergency.relay.urls")),
    path("", include("banyan.emergency.epidemic.urls")),
]
