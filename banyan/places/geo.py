"""GeoJSON checks and small geometry helpers (shapely), WGS84 longitude/latitude."""

from __future__ import annotations

import math

from django.core.exceptions import ValidationError
from shapely.geometry import shape
from shapely.validation import explain_validity

EARTH_RADIUS_M = 6_371_008.8


def validate_polygon(value, *, field: str) -> None:
    if not isinstance(value, dict) or value.get("type") != "Polygon":
        raise ValidationError({field: 'Expected a GeoJSON object {"type": "Polygon", "coordinates": [...]}.'})
    try:
        geometry = shape(value)
    except (ValueError, TypeError, IndexError, AttributeError) as exc:
        raise ValidationError({field: f"Not a valid GeoJSON Polygon: {exc}."}) from None
    if geometry.is_empty or not geometry.is_valid:
        raise ValidationError({field: f"Invalid polygon: {explain_validity(geometry)}."})
    minx, miny, maxx, maxy = geometry.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise ValidationError(
            {field: "Coordinates must be WGS84 longitude (−180…180) and latitude (−90…90)."}
        )


def rectangle(lon: float, lat: float, width_m: float, height_m: float) -> dict:
    """A GeoJSON Polygon: a rectangle centred on (lon, lat), sizes in metres."""
    dlat = (height_m / 2) / 111_320
    dlon = (width_m / 2) / (111_320 * math.cos(math.radians(lat)))
    ring = [
        [round(lon - dlon, 7), round(lat - dlat, 7)],
        [round(lon + dlon, 7), round(lat - dlat, 7)],
        [round(lon + dlon, 7), round(lat + dlat, 7)],
        [round(lon - dlon, 7), round(lat + dlat, 7)],
        [round(lon - dlon, 7), round(lat - dlat, 7)],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def polygon_area_m2(polygon: dict) -> float:
    """Approximate area of a small WGS84 polygon in m² (local equirectangular projection)."""
    ring = polygon["coordinates"][0]
    lat0 = math.radians(sum(p[1] for p in ring) / len(ring))
    xs = [math.radians(p[0]) * EARTH_RADIUS_M * math.cos(lat0) for p in ring]
    ys = [math.radians(p[1]) * EARTH_RADIUS_M for p in ring]
    twice = sum(xs[i] * ys[i + 1] - xs[i + 1] * ys[i] for i in range(len(ring) - 1))
    return abs(twice) / 2
