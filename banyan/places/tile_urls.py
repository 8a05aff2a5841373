"""Included at tiles/: the offline basemap (banyan/places/tile_views.py)."""

from django.urls import path

from banyan.places import tile_views

app_name = "tiles"

urlpatterns = [
    path("meta.json", tile_views.meta, name="meta"),
    path("<str:z>/<str:x>/<str:y>", tile_views.tile, name="tile"),
]
