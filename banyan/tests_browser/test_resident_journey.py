"""The resident's journey in Debian's Chromium, in Chinese, on a 360 px phone and at 200 % zoom of a
1366 × 768 laptop (683 px of page), in normal and elder mode: the home page's large buttons and her
area's warnings, the warnings page, a closed report with what was done before the rating and its place
on the map, the report form's first-aid advice following the category, and contacting the grid worker.
Every page is checked with axe-core (no "serious" or "critical" violation) and must not scroll sideways.
Elder mode chosen on the phone is still on at the next sign-in (kept on the account).

Database: as in test_browser.py (a transactional database, the server in a thread beside the test).
"""

from __future__ import annotations

import io

import pytest

from banyan.tests_browser.support import (
    Axe,
    assert_clean,
    check_phone_page,
    click_in_header,
    no_horizontal_scroll,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def seed_journey() -> dict:
    """An area alert in resident01's grid, a government warning in force, and resident01's flooding
    report resolved by grid01 (a note and a photo) and closed by the director; committed."""
    import datetime as dt

    from banyan.core import clock
    from banyan.people.models import User
    from banyan.response import services as incidents
    from banyan.response.reports import services as reports
    from banyan.sensing.tests.conftest import make_device
    from banyan.warning import services
    from banyan.warning.cap import build_cap
    from banyan.warning.models import OfficialWarning, Rule
    from banyan.warning.tests.conftest import event, make_rule
    from banyan.warning.tests.test_cap import make_alert, make_info

    resident, grid01, director = (
        User.objects.get(username=name) for name in ("resident01", "grid01", "director")
    )
    device = make_device(grid=grid01.region, kind="water_level")
    rule = make_rule(community=device.community, name="地下车库积水", grade="orange")
    Rule.objects.filter(pk=rule.pk).update(incident_category="flooding")
    rule.refresh_from_db()
    services.apply_events([event("Raised", rule, device.code, grade="orange")])
    now = clock.now()
    times = {"effective": now, "expires": now + dt.timedelta(hours=6)}
    cap = make_alert(
        identifier=f"CMA-resident-{now:%H%M%S}",
        sent=now,
        infos=(make_info("zh-CN", **times), make_info("en", **times)),
    )
    warning, _created = services.import_official_warning(actor="test", data=build_cap(cap))
    # its area: over resident01's community
    community = grid01.region.parent
    area = {"description": community.name_zh, "polygons": [community.boundary], "circles": [], "geocodes": []}
    OfficialWarning.objects.filter(pk=warning.pk).update(areas=[area])
    report = reports.submit_report(actor=resident, category="flooding", home=True, description="楼道进水")
    incident = report.incident
    incidents.act(actor=director, incident=incident, move="assign", assignee=grid01)
    incidents.act(actor=grid01, incident=incident, move="accept")
    incidents.act(
        actor=grid01, incident=incident, move="resolve", note="已疏通排水口，楼道已清扫。", photos=[jpeg()]
    )
    incidents.act(actor=director, incident=incident, move="close")
    return {"report": report}


def test_the_residents_pages_on_a_phone_and_at_200_percent(browser, community, tmp_path):
    base_url = community
    seeded = seed_journey()
    report_url = f"{base_url}/reports/{seeded['report'].pk}/"
    axe = Axe()
    console_errors: list[str] = []

    phone = browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, locale="zh-CN"
    )
    page = phone.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    sign_in(page, base_url, "resident01")
    for mode in ("normal", "elder"):
        page.goto(f"{base_url}/")
        if mode == "elder":
            if page.locator(".menu-toggle").is_visible():  # the phone's collapsed header
                page.click(".menu-toggle")
            click_in_header(page, "form[action='/elder-mode/'] button")
            page.wait_for_url(f"{base_url}/")
            assert page.locator("body").get_attribute("class") == "elder"
        labels = page.locator("a.home-action span").all_inner_texts()
        assert labels == ["求助", "上报问题", "我的上报", "联系网格员"]
        assert page.locator(".home-warnings li.alert-card").count() >= 2
        assert (page.locator("table.pyramid").count() == 0) == (mode == "elder"), "no charts in elder mode"
        check_phone_page(page, axe, tmp_path, "resident home", mode)

        page.goto(f"{base_url}/warnings/")
        assert "积水上涨" in page.locator("main").inner_text()
        check_phone_page(page, axe, tmp_path, "warnings", mode)

        page.goto(report_url)
        page.wait_for_selector("#report-map.leaflet-container")
        assert page.locator("#report-map").is_visible()
        done, rate = page.locator("#resolution").bounding_box(), page.locator("#rate").bounding_box()
        assert done["y"] + done["height"] <= rate["y"] + 1, "what was done comes before the rating"
        assert page.locator("#resolution img").count() == 1
        assert page.locator("input[name='latitude'], input[name='longitude']").count() == 0
        check_phone_page(page, axe, tmp_path, "closed report", mode)

        page.goto(f"{base_url}/reports/new/?category=fall_medical&place=home")
        assert page.locator("[data-first-aid='fall_medical']").is_visible()
        assert "先拨打 120" in page.locator("[data-first-aid='fall_medical']").inner_text()
        page.click("label[for='id_category_1']")  # gas: its advice replaces the fall's
        assert page.locator("input#id_category_1").get_attribute("value") == "gas"
        assert page.locator("[data-first-aid='gas']").is_visible()
        assert not page.locator("[data-first-aid='fall_medical']").is_visible()
        assert page.locator("input[name='latitude']").get_attribute("type") == "hidden"
        check_phone_page(page, axe, tmp_path, "report form", mode)

        page.goto(f"{base_url}/reports/contact/")
        check_phone_page(page, axe, tmp_path, "contact the grid worker", mode)
    phone.close()

    # 200 % zoom of a 1366 × 768 laptop; signed in again, elder mode is still on (kept on the account).
    laptop = browser.new_context(
        viewport={"width": 683, "height": 384}, device_scale_factor=2, locale="zh-CN"
    )
    page = laptop.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    sign_in(page, base_url, "resident01")
    assert page.locator("body").get_attribute("class") == "elder"
    for name, url in (
        ("home", "/"),
        ("warnings", "/warnings/"),
        ("my reports", "/reports/"),
        ("closed report", report_url.removeprefix(base_url)),
        ("report form", "/reports/new/"),
        ("contact", "/reports/contact/"),
    ):
        page.goto(f"{base_url}{url}")
        scroll_width, inner_width = no_horizontal_scroll(page)
        page.screenshot(path=str(tmp_path / f"{name.replace(' ', '-')}-200pct-elder.png"), full_page=True)
        assert scroll_width <= inner_width, f"{name} at 200 %: scrollWidth {scroll_width} > {inner_width}"
    laptop.close()
    assert_clean(axe, console_errors, tmp_path)
