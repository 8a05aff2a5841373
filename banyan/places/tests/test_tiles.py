"""The offline basemap: tiles read from real MBTiles (SQLite, TMS rows) and PMTiles (pmtiles' own
writer) files made here, served at /tiles/{z}/{x}/{y} with meta.json, and the system checks that refuse
a missing, unreadable or vector file."""

from __future__ import annotations

import gzip
import io
import json
import sqlite3
from pathlib import Path

import pytest
from PIL import Image
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import write as write_pmtiles

from banyan.places import tiles
from banyan.places.checks import check_basemap

ZOOMS = (1, 2, 3)
BOUNDS = (120.1, 30.2, 120.2, 30.3)
ATTRIBUTION = '<a href="https://www.openstreetmap.org/copyright">© OpenStreetMap</a> &amp; 测绘局'


def png(z: int, x: int, y: int) -> bytes:
    """A 256×256 PNG whose colour says which tile it is (XYZ numbering)."""
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (z * 40, x * 30, y * 30)).save(buffer, "PNG")
    return buffer.getvalue()


def every_tile():
    for z in ZOOMS:
        for x in range(2**z):
            for y in range(2**z):
                yield z, x, y


def make_mbtiles(path: Path, *, tile_format: str = "png", skip=(), attribution: str = ATTRIBUTION) -> Path:
    connection = sqlite3.connect(path)
    connection.executescript(
        "CREATE TABLE metadata (name TEXT, value TEXT);"
        "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);"
    )
    metadata = {
        "name": "测试社区",
        "format": tile_format,
        "bounds": ",".join(str(value) for value in BOUNDS),
        "minzoom": str(min(ZOOMS)),
        "maxzoom": str(max(ZOOMS)),
        "attribution": attribution,
    }
    connection.executemany("INSERT INTO metadata VALUES (?, ?)", metadata.items())
    for z, x, y in every_tile():
        if (z, x, y) in skip:
            continue
        data = png(z, x, y) if tile_format == "png" else gzip.compress(b"\x1a\x00")
        connection.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, 2**z - 1 - y, data))  # TMS rows
    connection.commit()
    connection.close()
    return path


def make_pmtiles(path: Path, *, tile_type: TileType = TileType.PNG, skip=()) -> Path:
    with write_pmtiles(str(path)) as writer:
        for z, x, y in sorted(every_tile(), key=lambda tile: zxy_to_tileid(*tile)):
            if (z, x, y) not in skip:
                writer.write_tile(zxy_to_tileid(z, x, y), png(z, x, y))
        writer.finalize(
            {
                "tile_type": tile_type,
                "tile_compression": Compression.NONE,
                "min_lon_e7": int(BOUNDS[0] * 1e7),
                "min_lat_e7": int(BOUNDS[1] * 1e7),
                "max_lon_e7": int(BOUNDS[2] * 1e7),
                "max_lat_e7": int(BOUNDS[3] * 1e7),
                "center_zoom": 2,
                "center_lon_e7": int(120.15e7),
                "center_lat_e7": int(30.25e7),
            },
            {"name": "测试社区", "attribution": ATTRIBUTION},
        )
    return path


@pytest.fixture(params=["mbtiles", "pmtiles"])
def basemap_file(request, tmp_path, settings):
    """A configured basemap of each format, missing tile 3/2/5."""
    path = tmp_path / f"community.{request.param}"
    make = make_mbtiles if request.param == "mbtiles" else make_pmtiles
    make(path, skip={(3, 2, 5)})
    settings.BANYAN_BASEMAP = {"FILE": str(path)}
    return path


def test_each_tile_is_served_as_stored_with_rows_counted_from_the_top(basemap_file, signed_in):
    client = signed_in("resident01")
    for z, x, y in [(1, 0, 0), (1, 1, 0), (2, 1, 3), (2, 3, 0), (3, 7, 1)]:
        response = client.get(f"/tiles/{z}/{x}/{y}")
        assert response.status_code == 200, (z, x, y)
        assert response["Content-Type"] == "image/png"
        assert response.content == png(z, x, y), f"tile {z}/{x}/{y} is another tile's"
        assert Image.open(io.BytesIO(response.content)).getpixel((0, 0)) == (z * 40, x * 30, y * 30)


def test_a_tile_is_kept_by_the_browser_and_revalidated(basemap_file, signed_in):
    client = signed_in("grid01")
    response = client.get("/tiles/2/1/2")
    assert "private" in response["Cache-Control"]
    assert "max-age=604800" in response["Cache-Control"]
    etag = response["ETag"]
    assert etag.startswith('"') and len(etag) == 34
    again = client.get("/tiles/2/1/2", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other = client.get("/tiles/2/1/1", headers={"If-None-Match": etag})
    assert other.status_code == 200 and other["ETag"] != etag


def test_a_missing_tile_is_404_with_an_empty_body(basemap_file, signed_in):
    client = signed_in("director")
    for missing in ("/tiles/3/2/5", "/tiles/4/0/0", "/tiles/0/0/0"):
        response = client.get(missing)
        assert (response.status_code, response.content) == (404, b""), missing


@pytest.mark.parametrize(
    "address",
    ["/tiles/2/4/0", "/tiles/2/0/4", "/tiles/31/0/0", "/tiles/a/0/0", "/tiles/1/-1/0", "/tiles/2/1/1.png"],
)
def test_a_tile_outside_the_world_is_400(basemap_file, signed_in, address):
    response = signed_in("director").get(address)
    assert response.status_code == 400, address
    assert "zoom" in response.content.decode()


def test_meta_says_where_and_at_which_zooms_the_tiles_are(basemap_file, signed_in):
    response = signed_in("resident01").get("/tiles/meta.json")
    assert response.status_code == 200
    assert response.json() == {
        "format": "png",
        "minzoom": 1,
        "maxzoom": 3,
        "bounds": pytest.approx(list(BOUNDS)),
        "attribution": "© OpenStreetMap & 测绘局",  # the markup taken out: the maps show it as text
        "name": "测试社区",
    }


def test_the_tiles_are_for_people_signed_in(basemap_file, client):
    for address in ("/tiles/1/0/0", "/tiles/meta.json"):
        response = client.get(address)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), address


def test_pages_name_the_tiles_only_when_a_basemap_is_configured(settings, tmp_path, signed_in, client):
    settings.BANYAN_BASEMAP = {"FILE": ""}
    director = signed_in("director")
    assert b"data-basemap" not in director.get("/").content
    assert director.get("/tiles/1/0/0").status_code == 404
    assert director.get("/tiles/meta.json").status_code == 404
    settings.BANYAN_BASEMAP = {"FILE": str(make_mbtiles(tmp_path / "community.mbtiles"))}
    assert b' data-basemap="/tiles/{z}/{x}/{y}"' in director.get("/").content
    assert b"basemap.js" in director.get("/").content
    assert b"data-basemap" not in client.get("/login/").content  # no tiles for someone not signed in


def test_a_replaced_file_is_read_afresh(settings, tmp_path, signed_in):
    path = make_mbtiles(tmp_path / "community.mbtiles", skip={(1, 0, 0)})
    settings.BANYAN_BASEMAP = {"FILE": str(path)}
    client = signed_in("director")
    assert client.get("/tiles/1/0/0").status_code == 404
    assert tiles.basemap() is tiles.basemap(), "opened once"
    path.unlink()
    make_mbtiles(path, attribution="© 本地测绘")
    assert client.get("/tiles/1/0/0").content == png(1, 0, 0)
    assert client.get("/tiles/meta.json").json()["attribution"] == "© 本地测绘"


def test_gzip_compressed_pmtiles_are_served_plain(settings, tmp_path, signed_in):
    path = tmp_path / "gzip.pmtiles"
    with write_pmtiles(str(path)) as writer:
        writer.write_tile(zxy_to_tileid(1, 1, 1), gzip.compress(png(1, 1, 1)))
        writer.finalize({"tile_type": TileType.PNG, "tile_compression": Compression.GZIP}, {})
    settings.BANYAN_BASEMAP = {"FILE": str(path)}
    assert signed_in("director").get("/tiles/1/1/1").content == png(1, 1, 1)


# --- the system checks -------------------------------------------------------------------------


def check_errors(settings, path) -> list[tuple[str, str, str]]:
    settings.BANYAN_BASEMAP = {"FILE": str(path)}
    return [(error.id or "", error.msg, error.hint or "") for error in check_basemap()]


def test_no_basemap_and_a_raster_file_pass_the_checks(settings, tmp_path):
    settings.BANYAN_BASEMAP = {"FILE": ""}
    assert check_basemap() == []
    assert check_errors(settings, make_mbtiles(tmp_path / "a.mbtiles")) == []
    assert check_errors(settings, make_pmtiles(tmp_path / "a.pmtiles")) == []


def test_a_missing_file_is_named(settings, tmp_path):
    [(code, message, hint)] = check_errors(settings, tmp_path / "nowhere.pmtiles")
    assert code == "places.E001"
    assert message == f"BANYAN_BASEMAP_FILE names {tmp_path / 'nowhere.pmtiles'}, which does not exist."
    assert ".mbtiles or .pmtiles" in hint


@pytest.mark.parametrize(
    "content",
    [b"", b"not a tile file at all", b"SQLite format 3\x00" + b"\x00" * 100, b"PMTiles\x03" + b"\x00" * 20],
    ids=["empty", "text", "broken sqlite", "broken pmtiles"],
)
def test_an_unreadable_file_is_named(settings, tmp_path, content):
    path = tmp_path / "community.mbtiles"
    path.write_bytes(content)
    [(code, message, hint)] = check_errors(settings, path)
    assert code == "places.E002"
    assert message.startswith(f"BANYAN_BASEMAP_FILE: {path}: ")
    assert "MBTiles or PMTiles" in message + hint


def test_an_mbtiles_file_without_its_tables_is_unreadable(settings, tmp_path):
    path = tmp_path / "empty.mbtiles"
    sqlite3.connect(path).execute("CREATE TABLE other (x)").connection.commit()
    [(code, message, _hint)] = check_errors(settings, path)
    assert code == "places.E002" and "not a readable MBTiles file" in message


@pytest.mark.parametrize("kind", ["mbtiles", "pmtiles"])
def test_a_vector_tile_file_is_refused_naming_what_is_accepted(settings, tmp_path, kind, signed_in):
    path = tmp_path / f"vector.{kind}"
    if kind == "mbtiles":
        make_mbtiles(path, tile_format="pbf")
    else:
        make_pmtiles(path, tile_type=TileType.MVT)
    [(code, message, hint)] = check_errors(settings, path)
    assert code == "places.E003"
    assert message == f"BANYAN_BASEMAP_FILE: {path} holds vector tiles (pbf), which the maps cannot draw."
    assert hint == "Use a file of raster tiles: png, jpg, webp."
    # Served anyway (a server started without the checks), nothing is drawn from it.
    assert signed_in("director").get("/tiles/1/0/0").status_code == 404
    assert signed_in("director").get("/tiles/meta.json").status_code == 404


def test_the_check_runs_with_the_others(settings, tmp_path):
    from django.core import checks

    settings.BANYAN_BASEMAP = {"FILE": str(tmp_path / "nowhere.mbtiles")}
    assert "places.E001" in [message.id for message in checks.run_checks()]


def test_the_format_is_told_from_the_tiles_when_the_metadata_does_not_say(tmp_path):
    path = make_mbtiles(tmp_path / "a.mbtiles")
    connection = sqlite3.connect(path)
    connection.execute("DELETE FROM metadata")
    connection.commit()
    connection.close()
    info = tiles.open_tileset(path).info
    assert (info.format, info.minzoom, info.maxzoom, info.bounds, info.attribution) == (
        "png",
        1,
        3,
        tiles.WORLD,
        "",
    )
    assert json.loads(json.dumps(info.as_json()))["name"] == "a"


def test_an_mbtiles_file_converted_to_pmtiles_serves_the_same_tiles(settings, tmp_path, signed_in):
    """As the README makes a PMTiles file: ``pmtiles-convert community.mbtiles community.pmtiles``."""
    from pmtiles.convert import mbtiles_to_pmtiles

    source = make_mbtiles(tmp_path / "community.mbtiles")
    target = tmp_path / "community.pmtiles"
    mbtiles_to_pmtiles(str(source), str(target), max(ZOOMS))
    settings.BANYAN_BASEMAP = {"FILE": str(target)}
    client = signed_in("director")
    for z, x, y in every_tile():
        assert client.get(f"/tiles/{z}/{x}/{y}").content == png(z, x, y), (z, x, y)
    assert client.get("/tiles/meta.json").json()["bounds"] == pytest.approx(list(BOUNDS))


def test_a_damaged_tile_directory_is_404_not_500(settings, tmp_path, signed_in, caplog):
    path = make_pmtiles(tmp_path / "damaged.pmtiles")
    header = tiles.PMTiles(path).header
    data = bytearray(path.read_bytes())
    start = header["root_offset"]
    data[start : start + header["root_length"]] = b"\x00" * header["root_length"]  # no longer gzip
    path.write_bytes(bytes(data))
    settings.BANYAN_BASEMAP = {"FILE": str(path)}
    response = signed_in("director").get("/tiles/1/0/0")
    assert (response.status_code, response.content) == (404, b"")
    assert "tile 1/0/0 unreadable" in caplog.text
