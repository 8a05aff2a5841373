"""The coordinate conversions against the published reference points (shared/standards/coordinates.md)."""

import pytest

from banyan.places import crs
from banyan.places.geo import haversine_m


def test_wgs84_to_gcj02_matches_the_published_points_to_1e_9_degrees():
    for (lat, lon), (glat, glon) in [
        ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
        ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
    ]:
        got_lon, got_lat = crs.wgs84_to_gcj02(lon, lat)
        assert got_lat == pytest.approx(glat, abs=1e-9)
        assert got_lon == pytest.approx(glon, abs=1e-9)


def test_gcj02_to_wgs84_returns_the_survey_point_within_a_centimetre():
    for (lat, lon), (glat, glon) in [
        ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
        ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
    ]:
        assert haversine_m(*crs.gcj02_to_wgs84(glon, glat), lon, lat) < 0.01


def test_bd09_to_wgs84_agrees_with_eviltransforms_points_but_for_its_constant():
    # eviltransform's BD-09 points were made with sin(y·π) and cos(x·π) where Baidu's formula (and
    # gcoord, matched to 1e-8° below) has x_pi = π·3000/180, and with its approximate GCJ-02 inverse:
    # 10.5 m and 41 m apart at these two points. Ours is Baidu's constant and an exact inverse.
    for (lat, lon), (wlat, wlon) in [
        ((29.199786, 120.019809), (29.196131605295484, 120.00877901149691)),
        ((29.210504, 120.036455), (29.206795749156136, 120.0253853970846)),
    ]:
        assert haversine_m(*crs.bd09_to_wgs84(lon, lat), wlon, wlat) < 45


def test_gcj02_back_to_wgs84_and_to_bd09_match_gcoord():
    lon, lat = crs.gcj02_to_wgs84(123, 45)
    assert (lat, lon) == (pytest.approx(44.99804071, abs=1e-5), pytest.approx(122.99395597, abs=1e-5))
    lon, lat = crs.gcj02_to_bd09(123, 45)
    assert (lat, lon) == (pytest.approx(45.00636899, abs=1e-7), pytest.approx(123.00636499, abs=1e-7))


def test_the_inverse_undoes_the_forward_transform_to_a_centimetre():
    lon, lat = 120.1551, 30.2741  # Hangzhou
    back = crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(lon, lat))
    assert back == (pytest.approx(lon, abs=1e-7), pytest.approx(lat, abs=1e-7))
    assert haversine_m(*crs.bd09_to_wgs84(*crs.wgs84_to_bd09(lon, lat)), lon, lat) < 0.01


def test_outside_china_nothing_moves():
    assert crs.wgs84_to_gcj02(0, 0) == (0, 0)
    assert crs.gcj02_to_wgs84(24.94, 60.17) == (24.94, 60.17)  # Helsinki
    assert crs.to_wgs84("wgs84")(121.5, 31.2) == (121.5, 31.2)
    with pytest.raises(ValueError, match="gcj02"):
        crs.to_wgs84("epsg:3857")
