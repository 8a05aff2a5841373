from django.urls import include, path

from banyan.people import carer_views, token_views, unit_views, views

app_name = "people"

urlpatterns = [
    path("households/<int:pk>/", views.household_detail, name="household-detail"),
    path("residents/<int:pk>/", views.resident_detail, name="resident-detail"),
    path("residents/<int:pk>/reveal/", views.resident_reveal, name="resident-reveal"),
    path("residents/<int:pk>/carers/", carer_views.carer_circle, name="carer-circle"),
    path("carers/<int:pk>/link/", carer_views.carer_link, name="carer-link"),
    path("carers/<int:pk>/consent/", carer_views.carer_grant, name="carer-grant"),
    path("carer-consents/<int:pk>/withdraw/", carer_views.carer_withdraw, name="carer-withdraw"),
    path("me/", views.my_data, name="my-data"),
    path("me/reveal/", views.my_data_reveal, name="my-data-reveal"),
    path("me/export/", views.my_data_export, name="my-data-export"),
    path("me/corrections/", views.my_correction_new, name="my-correction-new"),
    path("corrections/", views.correction_list, name="correction-list"),
    path("corrections/<int:pk>/", views.correction_detail, name="correction-detail"),
    path("corrections/<int:pk>/accept/", views.correction_accept, name="correction-accept"),
    path("corrections/<int:pk>/reject/", views.correction_reject, name="correction-reject"),
    path("tokens/", token_views.token_list, name="token-list"),
    path("tokens/<int:pk>/revoke/", token_views.token_revoke, name="token-revoke"),
    path("ledgers/import/", views.ledger_import, name="ledger-import"),
    path("ledgers/template.csv", views.ledger_template, name="ledger-template"),
    path("ledgers/export/", views.ledger_export, name="ledger-export"),
    path("ledgers/export/reveal/", views.ledger_export_reveal, name="ledger-export-reveal"),
    path("units/import/", unit_views.unit_import_view, name="units-import"),
    path("units/generate/", unit_views.unit_generate_view, name="units-generate"),
    path("users/", include("banyan.people.admin_urls")),
]
