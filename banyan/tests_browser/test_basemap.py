"""The offline basemap in Debian's Chromium: with an MBTiles file of the demo community configured, the
cockpit asks Banyan (and nothing else) for its tiles, draws them as 256-pixel images under its own drawing
and shows the file's attribution as text; a resident's report form (a phone page) draws them too; without
a basemap configured no tile is asked for. Screenshots under the test's tmp_path."""

from __future__ import annotations

import io
import math
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from banyan.tests_browser.support import Axe, assert_clean, phone_page, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ZOOMS = range(13, 19)
ATTRIBUTION = "<b>© 测试测绘</b> &amp; OpenStreetMap"


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def community_bounds() -> tuple[float, float, float, float]:
    from banyan.places.models import Region

    demo = Region.objects.get(kind="community", code="330102001001")
    ring = demo.boundary["coordinates"][0]
    lons, lats = [point[0] for point in ring], [point[1] for point in ring]
    return min(lons), min(lats), max(lons), max(lats)


def make_mbtiles(path: Path, bounds: tuple[float, float, float, float]) -> int:
    """Every tile over ``bounds`` at ZOOMS, a pale colour each (TMS rows); the number of tiles."""
    west, south, east, north = bounds
    connection = sqlite3.connect(path)
    connection.executescript(
        "CREATE TABLE metadata (name TEXT, value TEXT);"
        "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);"
    )
    metadata = {
        "name": "demo",
        "format": "png",
        "bounds": f"{west},{south},{east},{north}",
        "minzoom": str(min(ZOOMS)),
        "maxzoom": str(max(ZOOMS)),
        "attribution": ATTRIBUTION,
    }
    connection.executemany("INSERT INTO metadata VALUES (?, ?)", metadata.items())
    count = 0
    for z in ZOOMS:
        left, top = tile_of(west, north, z)
        right, bottom = tile_of(east, south, z)
        for x in range(left, right + 1):
            for y in range(top, bottom + 1):
                buffer = io.BytesIO()
                Image.new("RGB", (256, 256), (230, 220 + (x % 3) * 10, 200 + (y % 3) * 20)).save(
                    buffer, "PNG"
                )
                connection.execute(
                    "INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, 2**z - 1 - y, buffer.getvalue())
                )
                count += 1
    connection.commit()
    connection.close()
    return count


def watch_tiles(page, base_url: str) -> tuple[list[str], list[tuple[str, int]], list[str]]:
    """What the page asks for: tile requests, their answers, and anything asked of another host."""
    asked: list[str] = []
    answered: list[tuple[str, int]] = []
    elsewhere: list[str] = []

    def on_request(request):
        if not request.url.startswith(base_url) and not request.url.startswith("data:"):
            elsewhere.append(request.url)
        elif "/tiles/" in request.url:
            asked.append(request.url)

    page.on("request", on_request)
    page.on(
        "response",
        lambda response: "/tiles/" in response.url and answered.append((response.url, response.status)),
    )
    return asked, answered, elsewhere


def loaded_tiles(page) -> list[int]:
    """The naturalWidth of each basemap tile image the map has loaded."""
    page.wait_for_selector(".basemap-tiles img.leaflet-tile-loaded", timeout=20000)
    return page.eval_on_selector_all(
        ".basemap-tiles img.leaflet-tile-loaded", "images => images.map(image => image.naturalWidth)"
    )


def test_the_maps_draw_the_configured_basemap_and_none_without_one(browser, community, tmp_path, settings):
    base_url = community
    path = tmp_path / "demo.mbtiles"
    assert make_mbtiles(path, community_bounds()) > 6
    settings.BANYAN_BASEMAP = {"FILE": str(path)}
    axe, errors = Axe(), []

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    asked, answered, elsewhere = watch_tiles(page, base_url)
    sign_in(page, base_url, "director")
    page.goto(f"{base_url}/cockpit/")
    page.wait_for_selector("#cockpit[data-ready='1']", state="attached", timeout=20000)
    widths = loaded_tiles(page)
    assert widths and set(widths) == {256}, widths
    assert page.locator("body").get_attribute("data-basemap") == "/tiles/{z}/{x}/{y}"
    page.wait_for_load_state("networkidle")
    assert asked and all(url.startswith(f"{base_url}/tiles/") for url in asked), asked
    assert answered and {status for _url, status in answered} <= {200, 304}, answered
    assert elsewhere == [], f"asked another host: {elsewhere}"
    # The tiles lie under Banyan's drawing, which stays: buildings are still labelled on top.
    assert page.locator(".map-label--building").count() > 0
    attribution = page.locator(".basemap-attribution")
    assert attribution.text_content() == "© 测试测绘 & OpenStreetMap"
    assert attribution.locator("b").count() == 0, "the attribution is text, never markup"
    axe.check(page, "cockpit with a basemap")
    page.screenshot(path=str(tmp_path / "cockpit-basemap.png"))
    context.close()

    # A resident's report form on a phone: the place picker's map draws the same tiles.
    context, page = phone_page(browser, errors)
    sign_in(page, base_url, "resident01")
    page.goto(f"{base_url}/reports/new/")
    widths = loaded_tiles(page)
    assert widths and set(widths) == {256}, widths
    page.screenshot(path=str(tmp_path / "report-form-basemap.png"))
    context.close()

    # No basemap configured: Banyan's drawing alone, and no tile is asked for.
    settings.BANYAN_BASEMAP = {"FILE": ""}
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    asked, answered, elsewhere = watch_tiles(page, base_url)
    sign_in(page, base_url, "director")
    page.goto(f"{base_url}/cockpit/")
    page.wait_for_selector("#cockpit[data-ready='1']", state="attached", timeout=20000)
    page.wait_for_load_state("networkidle")
    assert page.locator("body").get_attribute("data-basemap") is None
    assert page.locator(".map-label--building").count() > 0
    assert asked == [] and page.locator(".leaflet-tile").count() == 0, asked
    assert page.locator(".basemap-attribution").count() == 0
    assert elsewhere == []
    context.close()
    assert_clean(axe, errors, tmp_path)
