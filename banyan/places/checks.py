"""System checks of the places app (``banyan check``, and before ``banyan serve`` starts).

The offline basemap (``BANYAN_BASEMAP_FILE``): a configured file must exist, be readable as MBTiles or
PMTiles, and hold raster tiles the maps can draw (png, jpg, webp), not vector tiles.
"""

from __future__ import annotations

from typing import Any

from django.core import checks

from banyan.places import tiles


def check_basemap(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    path = tiles.configured_path()
    if path is None:
        return []
    where = "BANYAN_BASEMAP_FILE"
    if not path.exists():
        return [
            checks.Error(
                f"{where} names {path}, which does not exist.",
                hint="Give the path of an .mbtiles or .pmtiles file of raster tiles, or unset it.",
                id="places.E001",
            )
        ]
    try:
        tileset = tiles.open_tileset(path)
    except tiles.BasemapError as exc:
        return [
            checks.Error(
                f"{where}: {exc}",
                hint="Banyan reads an MBTiles or PMTiles file it may read (check the file's permissions).",
                id="places.E002",
            )
        ]
    if not tileset.info.is_raster:
        kind = "vector tiles" if tileset.info.format in tiles.VECTOR_FORMATS else "tiles"
        return [
            checks.Error(
                f"{where}: {path} holds {kind} ({tileset.info.format}), which the maps cannot draw.",
                hint=f"Use a file of raster tiles: {tiles.ACCEPTED}.",
                id="places.E003",
            )
        ]
    return []
