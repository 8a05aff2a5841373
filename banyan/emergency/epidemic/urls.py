"""Epidemic mode's pages, under ``/emergency/`` (namespace ``emergency``)."""

from django.urls import path

from banyan.emergency.epidemic import views

urlpatterns = [
    path("<int:pk>/epidemic/", views.epidemic, name="epidemic"),
    path("<int:pk>/epidemic/status", views.set_status, name="epidemic-status"),
    path("<int:pk>/epidemic/delivery", views.request_delivery, name="epidemic-delivery"),
    path("epidemic/checkins/<int:pk>/answer", views.answer, name="epidemic-answer"),
]
