"""Included at response/: the responder's tasks, the incident pages and the responsibility matrix."""

from django.urls import path

from banyan.response import metrics_views, views

app_name = "response"

urlpatterns = [
    path("tasks/", views.task_list, name="task-list"),
    path("incidents/", views.incident_list, name="incident-list"),
    path("incidents/<int:pk>/", views.incident_detail, name="incident-detail"),
    path("incidents/<int:pk>/hand-over/", views.incident_hand_over, name="incident-hand-over"),
    path("incidents/<int:pk>/backup/", views.incident_backup, name="incident-backup"),
    path("incidents/<int:pk>/photos/<int:photo_id>/", views.incident_photo, name="incident-photo"),
    path("incidents/<int:pk>/<slug:step>/", views.incident_step, name="incident-step"),
    path("matrix/", views.matrix, name="matrix"),
    path("matrix/cell/", views.matrix_cell, name="matrix-cell"),
    path("metrics/", metrics_views.metrics_page, name="metrics"),
    path("metrics/export.xlsx", metrics_views.metrics_export, name="metrics-export"),
]
