"""The roll call's pages, under ``/emergency/`` (namespace ``emergency``)."""

from django.urls import path

from banyan.emergency.rollcall import views

urlpatterns = [
    path("<int:pk>/rollcall/", views.roll_call, name="rollcall"),
    path("<int:pk>/rollcall/start", views.start, name="rollcall-start"),
    path("rollcall/<int:pk>/answer", views.answer, name="rollcall-answer"),
    path("rollcall/<int:pk>/safe", views.record_safe, name="rollcall-safe"),
]
