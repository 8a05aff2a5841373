"""Included at cockpit/: a community's screen, the street view, and the live stream."""

from django.urls import path

from banyan.cockpit import views

app_name = "cockpit"

urlpatterns = [
    path("", views.cockpit, name="cockpit"),
    path("street/", views.street, name="street"),
    path("stream", views.stream, name="stream"),
]
