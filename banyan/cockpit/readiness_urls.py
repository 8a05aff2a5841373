"""Included at readiness/: go-live readiness, what a community still lacks (banyan/cockpit/readiness.py)."""

from django.urls import path

from banyan.cockpit import views

app_name = "readiness"

urlpatterns = [
    path("", views.readiness_page, name="readiness"),
]
