"""Included under notify/: the signed-in user's inbox, and the live stream of their notifications (SSE)."""

from django.urls import path

from banyan.notify import views

app_name = "notify"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("seen/", views.acknowledge_all, name="acknowledge-all"),
    path("<int:pk>/seen/", views.acknowledge, name="acknowledge"),
    path("stream", views.stream, name="stream"),
]
