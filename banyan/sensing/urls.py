"""The device pages, included under devices/ (banyan/urls.py)."""

from django.urls import path

from banyan.sensing import views

app_name = "sensing"

urlpatterns = [
    path("", views.device_list, name="device-list"),
    path("new/", views.device_new, name="device-new"),
    path("import/", views.device_import_view, name="device-import"),
    path("installer-list.xlsx", views.installer_list_xlsx, name="device-installer-xlsx"),
    path("installer-list.csv", views.installer_list_csv, name="device-installer-csv"),
    path("<int:pk>/", views.device_detail, name="device-detail"),
    path("<int:pk>/status/", views.device_status, name="device-status"),
]
