"""Included at reports/: a resident reports a problem, follows their reports and rates the outcome."""

from django.urls import path

from banyan.response.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.report_list, name="list"),
    path("new/", views.report_new, name="new"),
    path("<int:pk>/", views.report_detail, name="detail"),
    path("<int:pk>/rate/", views.report_rate, name="rate"),
]
