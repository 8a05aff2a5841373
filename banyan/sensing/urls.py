"""The device pages, included under devices/ (banyan/urls.py)."""

from django.urls import path

from banyan.sensing import views

app_name = "sensing"

urlpatterns = [
    path("", views.device_list, name="device-list"),
    path("new/", views.device_new, name="device-new"),
    path("<int:pk>/", views.device_detail, name="device-detail"),
    path("<int:pk>/status/", views.device_status, name="device-status"),
]
