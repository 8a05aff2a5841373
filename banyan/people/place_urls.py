"""The pages under /places/ (their views are people's: they show who lives where)."""

from django.urls import path

from banyan.people import import_views
from banyan.people import place_views as views

app_name = "places"

urlpatterns = [
    path("grids/", views.grid_list, name="grid-list"),
    path("grids/<int:pk>/", views.grid_detail, name="grid-detail"),
    path("buildings/<int:pk>/", views.building_detail, name="building-detail"),
    path("<str:code>/grids/", views.grid_editor, name="grid-editor"),
    path("import/", import_views.places_import, name="import"),
]
