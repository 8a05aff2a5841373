"""The offline basemap's tiles and what the maps need to know about them (banyan/places/tiles.py).

``/tiles/{z}/{x}/{y}`` — one tile of the configured file, for anyone signed in (staff pages and the
residents' and responders' phone pages alike): its bytes with the file's content type, kept by the
browser for a week and revalidated by ETag; 404 with an empty body where the file has no tile (or no
basemap is configured); 400 for a zoom, column or row that is not a tile of the world.
``/tiles/meta.json`` — ``{"format", "minzoom", "maxzoom", "bounds": [w, s, e, n], "attribution", "name"}``.
"""

from __future__ import annotations

import hashlib

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from banyan.places import tiles

CACHE_SECONDS = 7 * 24 * 3600


def _number(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 10 else None


@login_required
@require_GET
def tile(request: HttpRequest, z: str, x: str, y: str) -> HttpResponse:
    zoom, column, row = _number(z), _number(x), _number(y)
    if zoom is None or column is None or row is None or not tiles.is_valid_tile(zoom, column, row):
        message = _("No such tile: the zoom is 0 to %(most)s, the column and the row 0 to 2^zoom − 1.")
        return HttpResponse(
            message % {"most": tiles.MAX_ZOOM} + "\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    tileset = tiles.basemap()
    data = tileset.tile(zoom, column, row) if tileset is not None and tileset.info.is_raster else None
    if data is None:
        return HttpResponse(status=404)
    etag = '"' + hashlib.blake2b(data, digest_size=16).hexdigest() + '"'
    response = get_conditional_response(request, etag=etag) or HttpResponse(
        data, content_type=tileset.info.content_type if tileset else None
    )
    response["ETag"] = etag
    patch_cache_control(response, private=True, max_age=CACHE_SECONDS)
    return response


@login_required
@require_GET
def meta(request: HttpRequest) -> HttpResponse:
    tileset = tiles.basemap()
    if tileset is None or not tileset.info.is_raster:
        return JsonResponse({"detail": _("No basemap is configured.")}, status=404)
    response = JsonResponse(tileset.info.as_json())
    patch_cache_control(response, private=True, max_age=300)
    return response
