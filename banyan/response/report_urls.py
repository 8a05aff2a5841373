"""Included at reports/: a resident reports a problem, follows their reports and rates the outcome."""

from django.urls import path

from banyan.response import report_views

app_name = "reports"

urlpatterns = [
    path("", report_views.report_list, name="list"),
    path("new/", report_views.report_new, name="new"),
    path("<int:pk>/", report_views.report_detail, name="detail"),
    path("<int:pk>/rate/", report_views.report_rate, name="rate"),
]
