"""Included at reports/: a resident reports a problem, follows their reports, rates the outcome or says
it is not solved, says "me too" on a report nearby, and contacts their grid worker."""

from django.urls import path

from banyan.response.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.report_list, name="list"),
    path("new/", views.report_new, name="new"),
    path("contact/", views.contact, name="contact"),
    path("support/<int:incident_id>/", views.report_support, name="support"),
    path("<int:pk>/", views.report_detail, name="detail"),
    path("<int:pk>/rate/", views.report_rate, name="rate"),
    path("<int:pk>/not-solved/", views.report_reopen, name="reopen"),
    path("<int:pk>/photos/<int:photo_id>/", views.report_photo, name="photo"),
]
