from django.urls import path

from banyan.people import views

app_name = "people"

urlpatterns = [
    path("households/<int:pk>/", views.household_detail, name="household-detail"),
    path("residents/<int:pk>/", views.resident_detail, name="resident-detail"),
    path("residents/<int:pk>/reveal/", views.resident_reveal, name="resident-reveal"),
    path("ledgers/import/", views.ledger_import, name="ledger-import"),
    path("ledgers/template.csv", views.ledger_template, name="ledger-template"),
    path("ledgers/export/", views.ledger_export, name="ledger-export"),
    path("ledgers/export/reveal/", views.ledger_export_reveal, name="ledger-export-reveal"),
]
