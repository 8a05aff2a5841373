"""The street view in Debian's Chromium, in Chinese, as the street officer and as the community director,
on a 1366×768 laptop and a 360×740 phone whose clock is UTC: the communities named on the map (and
their grids, zoomed in), the table not cut off on the right (on the phone it scrolls inside its own
box), "更新于" in China time, the server's; elder mode; axe-core. The community's cockpit numbers its
buildings and names its grids on the map. Screenshots under the test's tmp_path."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings

from banyan.tests_browser.support import Axe, assert_clean, click_in_header, no_horizontal_scroll, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZES = ((1366, 768), (360, 740))


def open_street(browser, base_url: str, username: str, width: int, height: int, errors: list[str]):
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale="zh-CN",
        timezone_id="UTC",  # the browser's clock is not the community's
        is_mobile=width < 600,
    )
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, base_url, username)
    response = page.goto(f"{base_url}/cockpit/street/")
    assert response.status == 200, (username, response.status)
    page.wait_for_selector("#street[data-ready='1']", state="attached", timeout=20000)
    return context, page


def shown_time_is_the_servers_china_time(page) -> None:
    from banyan.core import clock

    zone = ZoneInfo(settings.TIME_ZONE)
    stamp = page.locator("[data-updated] time")
    sent = dt.datetime.fromisoformat(stamp.get_attribute("datetime")).astimezone(zone)
    text = stamp.text_content()
    assert text == sent.strftime("%H:%M:%S"), (text, sent.isoformat())
    assert page.locator("[data-updated]").text_content().startswith("更新于 ")
    now = clock.now().astimezone(zone)
    shown = dt.datetime.combine(now.date(), dt.time.fromisoformat(text), tzinfo=zone)
    gap = min(abs(now - shown + dt.timedelta(days=d)) for d in (-1, 0, 1))
    assert gap < dt.timedelta(minutes=2), f"shown {text}, the server's China time is {now:%H:%M:%S}"


def test_the_street_view_as_the_street_officer_and_the_director(browser, community, tmp_path):
    from banyan.places.models import Region

    base_url = community
    axe, errors = Axe(), []
    demo = Region.objects.get(kind="community", code="330102001001")
    street = demo.parent
    grids = list(Region.objects.filter(parent=demo, kind="grid").values_list("name_zh", flat=True))
    communities = Region.objects.filter(kind="community", path__startswith=street.path).count()
    for username in ("street01", "director"):
        for width, height in SIZES:
            name = f"street view as {username} at {width}×{height}"
            context, page = open_street(browser, base_url, username, width, height, errors)
            labels = page.locator(".map-label--community .map-label__name").all_text_contents()
            assert demo.name_zh in labels, (name, labels)
            if width > 600:
                grid_labels = page.locator(".map-label--grid").all_text_contents()
                assert set(grids) <= set(grid_labels), (name, grid_labels)
            rows = page.locator("[data-communities] tbody tr")
            assert rows.count() == (1 if username == "director" else communities), name
            assert rows.first.locator("a").text_content() == demo.name_zh
            table = page.locator("[data-communities]").bounding_box()
            scroller = page.locator(".street-table .table-scroll").bounding_box()
            assert scroller["x"] + scroller["width"] <= width, f"{name}: the table's box is cut off"
            if width > 600:
                assert table["x"] + table["width"] <= width, f"{name}: the table is cut off on the right"
            scroll_width, _ = no_horizontal_scroll(page)
            assert scroll_width <= width, f"{name}: the page scrolls sideways ({scroll_width} px)"
            heading = page.locator("#street-map-title").text_content()
            if username == "director":
                assert page.locator(".street-scope").is_visible()
                assert street.name_zh not in heading
            else:
                assert street.name_zh in heading
            shown_time_is_the_servers_china_time(page)
            axe.check(page, name)
            page.screenshot(path=str(tmp_path / f"street-{username}-{width}.png"), full_page=True)
            context.close()

    # The community's own map numbers its buildings ("3幢") and names its grids.
    context, page = open_street(browser, base_url, "director", 1366, 768, errors)
    page.goto(f"{base_url}/cockpit/")
    page.wait_for_selector("#cockpit[data-ready='1']", state="attached", timeout=20000)
    buildings = page.locator(".map-label--building").all_text_contents()
    assert {"1幢", "3幢"} <= set(buildings), buildings
    assert set(grids) <= set(page.locator(".map-label--grid").all_text_contents())
    axe.check(page, "cockpit with labels at 1366×768")
    page.screenshot(path=str(tmp_path / "cockpit-labels-1366.png"))
    context.close()

    # Elder mode (large type): still no sideways scroll of the page, the table scrolls in its own box.
    for width, height in SIZES:
        context, page = open_street(browser, base_url, "director", width, height, errors)
        if "elder" not in (page.locator("body").get_attribute("class") or ""):
            click_in_header(page, "form[action='/elder-mode/'] button")
            page.wait_for_selector("#street[data-ready='1']", state="attached", timeout=20000)
        assert "elder" in page.locator("body").get_attribute("class")
        name = f"street view in elder mode at {width}×{height}"
        scroll_width, _ = no_horizontal_scroll(page)
        assert scroll_width <= width, f"{name}: the page scrolls sideways ({scroll_width} px)"
        scroller = page.locator(".street-table .table-scroll").bounding_box()
        assert scroller["x"] + scroller["width"] <= width, f"{name}: the table's box is cut off"
        assert demo.name_zh in page.locator(".map-label--community .map-label__name").all_text_contents()
        assert page.locator(".street-scope").is_visible(), "elder mode hides small print, not this"
        axe.check(page, name)
        page.screenshot(path=str(tmp_path / f"street-elder-{width}.png"), full_page=True)
        context.close()
    assert_clean(axe, errors, tmp_path)
