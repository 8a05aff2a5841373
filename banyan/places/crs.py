"""WGS-84, GCJ-02 and BD-09: the coordinate systems of survey data and of Chinese map providers.

Banyan stores WGS-84 (GPS, OpenStreetMap, surveys). Amap/AutoNavi, Tencent and Google's China tiles
give GCJ-02, Baidu gives BD-09: WGS-84 shifted by a published obfuscation of up to several hundred
metres inside China, and left unchanged outside it. The forward transform (WGS-84 → GCJ-02) is the
published formula; its inverse has no closed form and is found by fixed-point iteration to well under
a centimetre. BD-09 is a closed-form rotation of GCJ-02, inverted the same way. Tested against the
reference points in ``shared/standards/coordinates.md`` (banyan/places/tests/test_crs.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable

# Krasovsky 1940, as the GCJ-02 formula uses it.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0

WGS84 = "wgs84"
GCJ02 = "gcj02"
BD09 = "bd09"
SYSTEMS = (WGS84, GCJ02, BD09)


def outside_china(lon: float, lat: float) -> bool:
    """The rough rectangle the obfuscation applies to (as every converter uses it)."""
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _gcj_offset(lon: float, lat: float) -> tuple[float, float]:
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * math.cos(radlat) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    if outside_china(lon, lat):
        return lon, lat
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """The WGS-84 point whose GCJ-02 is (lon, lat): iterate the forward transform to < 1e-9°."""
    if outside_china(lon, lat):
        return lon, lat
    wlon, wlat = lon, lat
    for _ in range(30):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        dlon, dlat = glon - lon, glat - lat
        wlon, wlat = wlon - dlon, wlat - dlat
        if abs(dlon) < 1e-10 and abs(dlat) < 1e-10:
            break
    return wlon, wlat


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    x, y = lon - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.cos(theta), z * math.sin(theta)


def bd09_to_gcj02_exact(lon: float, lat: float) -> tuple[float, float]:
    """The GCJ-02 point whose BD-09 is (lon, lat): the closed form refined by fixed-point iteration."""
    glon, glat = bd09_to_gcj02(lon, lat)
    for _ in range(10):
        blon, blat = gcj02_to_bd09(glon, glat)
        dlon, dlat = blon - lon, blat - lat
        glon, glat = glon - dlon, glat - dlat
        if abs(dlon) < 1e-10 and abs(dlat) < 1e-10:
            break
    return glon, glat


def bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    if outside_china(lon, lat):
        return lon, lat
    return gcj02_to_wgs84(*bd09_to_gcj02_exact(lon, lat))


def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    if outside_china(lon, lat):
        return lon, lat
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def to_wgs84(system: str) -> Callable[[float, float], tuple[float, float]]:
    """The (lon, lat) → WGS-84 function for coordinates given in ``system``."""
    if system == GCJ02:
        return gcj02_to_wgs84
    if system == BD09:
        return bd09_to_wgs84
    if system == WGS84:
        return lambda lon, lat: (lon, lat)
    raise ValueError(f"unknown coordinate system {system!r}; expected one of {', '.join(SYSTEMS)}")
