"""Included under notify/: the live stream of the signed-in user's notifications (SSE)."""

from django.urls import path

from banyan.notify import views

app_name = "notify"

urlpatterns = [
    path("stream", views.stream, name="stream"),
]
