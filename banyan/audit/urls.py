"""The audit page, included under audit/: the log (``audit:log``), "verify now" and the export."""

from django.urls import path

from banyan.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.audit_log, name="log"),
    path("verify/", views.audit_verify, name="verify"),
    path("export.xlsx", views.audit_export, name="export"),
]
