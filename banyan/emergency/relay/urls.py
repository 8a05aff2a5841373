"""Warnings to residents, under ``/emergency/relay/`` (namespace ``emergency``)."""

from django.urls import path

from banyan.emergency.relay import views

urlpatterns = [
    path("relay/", views.index, name="relay"),
    path("relay/<int:pk>/notice", views.notice, name="relay-notice"),
    path("relay/<int:pk>/knock", views.knock, name="relay-knock"),
    path("relay/subscriptions", views.subscriptions, name="relay-subscriptions"),
    path("relay/received", views.received, name="relay-received"),
]
