"""Included at the site root: the staff alert pages under alerts/, the warnings that concern a person's
area at warnings/ (every signed-in role), the Atom feed under cap/."""

from django.urls import path

from banyan.warning import rule_views, views

app_name = "warning"

urlpatterns = [
    path("alerts/", views.alert_list, name="alert-list"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert-detail"),
    path("alerts/<int:pk>/acknowledge/", views.alert_acknowledge, name="alert-acknowledge"),
    path("alerts/<int:pk>/resolve/", views.alert_resolve, name="alert-resolve"),
    path("alerts/<int:pk>/call/", views.alert_call, name="alert-call"),
    path("alerts/official/<int:pk>/", views.official_warning_detail, name="official-warning-detail"),
    path("warnings/", views.warnings_page, name="warnings"),
    path("cap/alerts.atom", views.alerts_atom, name="alerts-atom"),
    path("rules/", rule_views.rule_list, name="rule-list"),
    path("rules/new/", rule_views.rule_new, name="rule-new"),
    path("rules/<int:pk>/", rule_views.rule_detail, name="rule-detail"),
]
