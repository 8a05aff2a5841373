"""The grid editor in Debian's Chromium, in Chinese: a grid drawn by clicks on the map and saved (the
buildings standing in it move to it), then a proposal of grids by target size accepted; axe-core on the
page at 1280 px, and at 360 px in normal and elder mode, where nothing scrolls sideways."""

from __future__ import annotations

import pytest

from banyan.tests_browser.support import (
    Axe,
    assert_clean,
    check_phone_page,
    desktop,
    phone_page,
    sign_in,
    turn_on_elder_mode,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LON, LAT = 121.0, 31.0
DX = 1 / (111_320 * 0.857167)  # a metre of longitude at 31°
DY = 1 / 111_320


def at(x: float, y: float) -> tuple[float, float]:
    """(longitude, latitude) of a point x m east and y m north of (LON, LAT)."""
    return LON + x * DX, LAT + y * DY


def box(x0: float, y0: float, x1: float, y1: float) -> dict:
    ring = [at(x0, y0), at(x1, y0), at(x1, y1), at(x0, y1), at(x0, y0)]
    return {"type": "Polygon", "coordinates": [[list(point) for point in ring]]}


def make_town():
    """A community 400 m × 300 m with one grid on its western half and four buildings, two in each half
    (committed: the server sees them)."""
    from banyan.places.models import Building, Region

    street = Region.objects.filter(kind="street").order_by("code").first()
    town = Region(
        parent=street, kind="community", code="T-BR", name_zh="画图社区", boundary=box(0, 0, 400, 300)
    )
    town.path = "/pending/"
    town.save()
    town.path = Region.path_for(street, town.pk)
    town.save(update_fields=["path"])
    west = Region(parent=town, kind="grid", code="T-BR-W", name_zh="西网格", boundary=box(0, 0, 200, 300))
    west.path = "/pending/"
    west.save()
    west.path = Region.path_for(town, west.pk)
    west.save(update_fields=["path"])
    for n, (x, y) in enumerate([(60, 80), (120, 220), (280, 80), (340, 220)], start=1):
        lon, lat = at(x, y)
        Building.objects.create(
            grid=west,
            code=f"T-BR-B{n}",
            name=f"{n}幢",
            kind="low_rise",
            floors=6,
            longitude=lon,
            latitude=lat,
        )
    return town


def click_at(page, x: float, y: float, *, double: bool = False) -> None:
    """Click the map at the point x m east and y m north of the town's corner."""
    lon, lat = at(x, y)
    point = page.evaluate(
        "([lat, lon]) => { const map = document.querySelector('#grid-map').gridEditorMap;"
        " const p = map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lat, lon],
    )
    frame = page.locator("#grid-map").bounding_box()
    target = (frame["x"] + point[0], frame["y"] + point[1])
    if double:
        page.mouse.dblclick(*target)
    else:
        page.mouse.click(*target)


def test_a_grid_drawn_by_clicks_is_saved_and_a_proposal_accepted(browser, community, tmp_path):
    from banyan.places.models import Building, Region

    base_url = community
    town = make_town()
    url = f"{base_url}/places/{town.code}/grids/"
    axe = Axe()
    console_errors: list[str] = []
    context, page = desktop(browser, console_errors)
    sign_in(page, base_url, "admin")
    page.goto(url)
    assert page.locator("h1").inner_text().startswith("网格")
    page.wait_for_selector("#grid-map .leaflet-interactive")
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    axe.check(page, "the grid editor")

    # Draw the eastern half: three corners clicked, the fourth double-clicked (which finishes).
    page.click("[data-draw-start]")
    click_at(page, 205, 5)
    click_at(page, 395, 5)
    click_at(page, 395, 295)
    page.click("[data-draw-undo]")  # a corner taken back, and clicked again
    click_at(page, 395, 295)
    click_at(page, 205, 295, double=True)
    page.wait_for_selector("[data-new-grid]:not([hidden])")
    page.fill("[data-new-code]", "T-BR-E")
    page.fill("[data-new-name-zh]", "东网格")
    page.fill("[data-new-name-en]", "East")
    page.click("[data-new-add]")
    assert "保存网格" in page.locator("[data-draw-status]").inner_text()
    assert page.locator("tr[data-grid-row='T-BR-E']").count() == 1
    page.click("[data-save-grids]")
    page.wait_for_url(url)
    assert "网格已保存" in page.locator(".messages").inner_text()

    east = Region.objects.get(code="T-BR-E")
    assert (east.parent_id, east.kind, east.name_en) == (town.pk, "grid", "East")
    assert sorted(Building.objects.filter(grid=east).values_list("code", flat=True)) == ["T-BR-B3", "T-BR-B4"]

    # Propose grids of about one building each and accept the proposal.
    page.fill("#id_target", "1")
    page.select_option("#id_measure", "buildings")
    page.click("form.propose-form button[type=submit]")
    page.wait_for_selector("[data-proposal-table]")
    assert page.locator("[data-proposal-table] tbody tr").count() == 4
    axe.check(page, "a proposal")
    page.click("[data-accept-proposal]")
    page.wait_for_url(url)
    assert "网格已保存" in page.locator(".messages").inner_text()
    grids = Region.objects.filter(parent=town, kind="grid")
    assert grids.count() == 4
    assert {Building.objects.filter(grid=grid).count() for grid in grids} == {1}
    assert {"T-BR-W", "T-BR-E"} <= set(grids.values_list("code", flat=True))
    context.close()

    context, page = phone_page(browser, console_errors)
    sign_in(page, base_url, "admin")
    page.goto(url)
    page.wait_for_selector("#grid-map .leaflet-interactive")
    check_phone_page(page, axe, tmp_path, "grid editor", "normal")
    turn_on_elder_mode(page, url)
    page.wait_for_selector("#grid-map .leaflet-interactive")
    check_phone_page(page, axe, tmp_path, "grid editor", "elder")
    # Elder mode's fields are big enough for a finger: the target size and the grids' names too.
    heights = page.evaluate(
        "() => [...document.querySelectorAll('#id_target, .grid-table input[type=text]')]"
        ".map(field => field.getBoundingClientRect().height)"
    )
    assert len(heights) >= 3 and min(heights) >= 44, heights
    context.close()
    assert_clean(axe, console_errors, tmp_path)
