"""Template context of the places app: the offline basemap's address for the maps."""

from django.http import HttpRequest
from django.urls import reverse

from banyan.places import tiles


def basemap(request: HttpRequest) -> dict[str, str]:
    """``basemap_url`` (``/tiles/{z}/{x}/{y}``) for the base layout's ``<body data-basemap>`` when a
    basemap file is configured and someone is signed in (the tiles are for them only); the maps draw it
    through banyan/core/static/banyan/js/basemap.js."""
    if tiles.configured_path() is None or not getattr(
        getattr(request, "user", None), "is_authenticated", False
    ):
        return {}
    return {"basemap_url": reverse("tiles:meta").removesuffix("meta.json") + "{z}/{x}/{y}"}
