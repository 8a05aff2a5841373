"""Shelters and supplies in Debian's Chromium, in Chinese: the director opens the community centre's shelter
for an active emergency, finds a resident by name and checks them in (occupancy shown), checks them out;
hands water out to a household found by its building and flat; the shelter list, a shelter's desk, the
supplies (low ones first) and a stock's page at 1366 px and at 360 px in normal and elder mode, where
nothing scrolls sideways; axe-core on every page. Database and server: see test_browser.py."""

from __future__ import annotations

import pytest

from banyan.tests_browser.support import (
    Axe,
    assert_clean,
    check_phone_page,
    desktop,
    no_horizontal_scroll,
    sign_in,
    turn_on_elder_mode,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def shelters_and_an_emergency():
    """The demo community's shelters and supplies, an active typhoon emergency, and a resident of G01 with
    their household; committed."""
    from banyan.core import clock
    from banyan.emergency.choices import EmergencyStatus, HazardKind, Trigger
    from banyan.emergency.models import Emergency
    from banyan.emergency.shelters import services
    from banyan.emergency.shelters.models import Shelter, Stock
    from banyan.people.models import Resident, User

    director = User.objects.get(username="director")
    community = director.region
    services.install_shelters(community)
    now = clock.now()
    emergency = Emergency.objects.create(
        community=community,
        hazard=HazardKind.TYPHOON,
        level=2,
        status=EmergencyStatus.ACTIVE,
        title="台风橙色预警应急响应",
        trigger=Trigger.MANUAL,
        activated_at=now,
        activated_by=director,
        created_at=now,
    )
    shelter = Shelter.objects.get(community=community, facility__kind="community_centre")
    stock = Stock.objects.get(community=community, place__kind="community_centre", kind="water")
    grid01 = User.objects.get(username="grid01")
    resident = Resident.objects.restrict(grid01).select_related("household__unit__building").order_by("id")[0]
    return emergency, shelter, stock, resident


def test_shelters_and_supplies_in_chinese_on_desktop_and_phone(browser, community, tmp_path):
    base_url = community
    emergency, shelter, stock, resident = shelters_and_an_emergency()
    axe = Axe()
    console_errors: list[str] = []
    context, page = desktop(browser, console_errors)
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, base_url, "director")
    page.goto(f"{base_url}/emergency/shelters/{shelter.pk}/")
    assert "已关闭" in page.locator("[data-occupancy]").inner_text()
    axe.check(page, "closed shelter")
    page.select_option("#open-emergency", str(emergency.pk))
    page.click("button[data-open]")
    page.wait_for_url(f"**/emergency/shelters/{shelter.pk}/")
    assert "开放中" in page.locator("[data-occupancy]").inner_text()
    page.fill("#id_q", resident.name)
    page.click("form[role='search'] button")
    page.click(f"button[data-check-in='{resident.pk}']")
    page.wait_for_url(f"**/emergency/shelters/{shelter.pk}/")
    assert "已登记入住" in page.locator(".message").first.inner_text()
    assert "在场 1 人" in page.locator("[data-occupancy]").inner_text()
    assert resident.name in page.locator("[data-stays]").inner_text()
    assert no_horizontal_scroll(page)[0] <= 1366
    axe.check(page, "shelter with a resident in")
    page.goto(f"{base_url}/emergency/shelters/")
    assert page.locator(f"tr[data-shelter='{shelter.pk}'][data-open]").count() == 1
    axe.check(page, "shelters")

    unit = resident.household.unit
    page.goto(f"{base_url}/emergency/supplies/{stock.pk}/")
    page.fill("#unit-search", f"{unit.building.name} {unit.number}")
    page.click("form[role='search'] button")
    page.fill("#distribute-quantity", "3")
    page.click("button[data-distribute]")
    page.wait_for_url(f"**/emergency/supplies/{stock.pk}/")
    assert "已记录" in page.locator(".message").first.inner_text()
    assert page.locator("tr[data-kind='distributed']").count() == 1
    axe.check(page, "stock")
    page.goto(f"{base_url}/emergency/supplies/")
    axe.check(page, "supplies")
    context.close()

    phone = browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, locale="zh-CN"
    )
    page = phone.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    sign_in(page, base_url, "director")
    for mode in ("normal", "elder"):
        page.goto(f"{base_url}/emergency/shelters/")
        if mode == "elder":
            turn_on_elder_mode(page, "**/emergency/shelters/")
        for name, path in (
            ("shelters", "/emergency/shelters/"),
            ("shelter desk", f"/emergency/shelters/{shelter.pk}/"),
            ("supplies", "/emergency/supplies/"),
            ("stock", f"/emergency/supplies/{stock.pk}/?unit={unit.number}"),
        ):
            page.goto(f"{base_url}{path}")
            check_phone_page(page, axe, tmp_path, name, mode)
    page.goto(f"{base_url}/emergency/shelters/{shelter.pk}/")
    page.locator("button[data-check-out]").first.click()
    page.wait_for_url(f"**/emergency/shelters/{shelter.pk}/")
    assert "已办理离开" in page.locator(".message").first.inner_text()
    phone.close()
    assert_clean(axe, console_errors, tmp_path)
