"""The responder's phone and a fall/SOS alert in Debian's Chromium (issue 12): a task card with its
buttons, its walk and the route drawn on its map (under the strict CSP, no console error); "on scene"
from far away asks why, keeps the reported place and flags the arrival; the SOS alert shows the
person, household and emergency contact, and "reveal to call" turns the numbers into call links.
axe-core at 360 px (normal and elder mode) and at 1366 px, in Chinese. Database and server: see
test_browser.py."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.tests_browser.support import (
    Axe,
    assert_clean,
    check_phone_page,
    click_in_header,
    desktop,
    no_horizontal_scroll,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

METRES_PER_DEGREE = 111_195


def seed_task(worker):
    """An orange flooding incident with a description at the first building of the worker's grid,
    assigned to them, committed so that the server thread sees it."""
    from banyan.people.models import User
    from banyan.places.models import Building
    from banyan.response import services

    director = User.objects.get(username="director")
    building = Building.objects.filter(grid=worker.region).order_by("code").first()
    incident = services.open_incident(
        actor=director,
        category="flooding",
        source="staff",
        building=building,
        description="地下车库入口积水约20厘米，请带沙袋。",
        dispatch_now=False,
    )
    return services.act(actor=director, incident=incident, move="assign", assignee=worker)


def seed_sos(worker):
    """An 83-year-old living alone in the worker's grid, her son as emergency contact, and the red SOS
    alert of her button."""
    from banyan.conftest import make_resident
    from banyan.people.models import CareProfile, Carer, Household
    from banyan.sensing.tests.conftest import make_device
    from banyan.warning import services
    from banyan.warning.tests.conftest import event, make_rule

    household = Household.objects.filter(grid=worker.region).select_related("unit").order_by("id").first()
    resident = make_resident(
        household, name="刘桂香", phone="13912340001", birth_date=dt.date(1943, 1, 5), is_living_alone=True
    )
    profile = CareProfile.objects.create(resident=resident, kind="elderly_alone", since=dt.date(2025, 1, 1))
    Carer.objects.create(
        care_profile=profile, kind="family", name="刘建国", phone="13912340002", is_primary=True
    )
    device = make_device(unit=household.unit, kind="sos_button", resident=resident)
    rule = make_rule(
        community=device.community,
        name="紧急呼叫按钮被按下",
        name_en="SOS pressed",
        metric="sos",
        raise_at=1,
        clear_below=1,
        grade="red",
    )
    [alert] = services.apply_events([event("Raised", rule, device.code, value=1.0, grade="red")])
    return alert


def test_task_card_route_far_arrival_and_the_sos_panel(browser, community, tmp_path):
    from banyan.people.models import User
    from banyan.response.models import Incident

    base_url = community
    axe = Axe()
    console_errors: list[str] = []
    worker = User.objects.get(username="grid01")
    incident = seed_task(worker)
    building = incident.building
    far = {"latitude": building.latitude + 900 / METRES_PER_DEGREE, "longitude": building.longitude}

    phone = browser.new_context(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        locale="zh-CN",
        permissions=["geolocation"],
        geolocation=far,
    )
    page = phone.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    sign_in(page, base_url, "grid01")
    page.goto(f"{base_url}/response/tasks/")
    card = page.locator(f"li.incident-card[data-incident='{incident.pk}']")
    assert "请带沙袋" in card.inner_text()
    assert "步行" in card.locator("[data-walk]").inner_text()
    card.locator("[data-route-map] .leaflet-overlay-pane path").first.wait_for()
    assert card.locator("button[data-step='accept']").is_visible()
    card.locator("details.decline summary").click()
    assert card.locator("textarea[name='note']").is_visible()
    scroll_width, inner_width = no_horizontal_scroll(page)
    assert scroll_width <= 360, f"tasks: scrollWidth {scroll_width} at innerWidth {inner_width}"
    axe.check(page, "task card with its route at 360 px")
    page.screenshot(path=str(tmp_path / "task-card-360.png"), full_page=True)

    with page.expect_navigation():
        card.locator("button[data-step='accept']").click()
    assert page.locator("[data-status]").first.get_attribute("data-status") == "accepted"
    with page.expect_navigation():
        page.click("form#on-scene button[type=submit]")
    reason = page.locator("#id_on-scene_reason")
    assert reason.get_attribute("aria-invalid") == "true", "far from the place: the form asks why"
    assert Incident.objects.get(pk=incident.pk).status == "accepted"
    axe.check(page, "on scene asks why at 360 px")
    reason.fill("东门上锁，在北门等候物业开门。")
    with page.expect_navigation():
        page.click("form#on-scene button[type=submit]")
    arrived = Incident.objects.get(pk=incident.pk)
    assert (arrived.status, arrived.on_scene_far, arrived.latitude) == ("on_scene", True, None)
    assert arrived.building_id == building.pk, "the reported place is unchanged"
    assert "超出允许范围" in page.locator("[data-on-scene]").inner_text()
    axe.check(page, "incident on scene far at 360 px")

    page.goto(f"{base_url}/response/tasks/")
    if page.locator(".menu-toggle").is_visible():  # the phone's collapsed header
        page.click(".menu-toggle")
    click_in_header(page, "form[action='/elder-mode/'] button")
    page.wait_for_url("**/response/tasks/")
    check_phone_page(page, axe, tmp_path, "my tasks", "elder")
    phone.close()

    alert = seed_sos(worker)
    context, page = desktop(browser, console_errors)
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, base_url, "director")
    page.goto(f"{base_url}/alerts/{alert.pk}/")
    panel = page.locator("[data-person]")
    assert "刘桂香" in panel.inner_text() and "83 岁" in panel.inner_text() and "刘建国" in panel.inner_text()
    assert page.locator("a[href^='tel:']").count() == 0, "masked numbers are no call links"
    axe.check(page, "SOS alert with the person at 1366 px")
    with page.expect_navigation():
        panel.locator("form button[type=submit]").click()
    assert page.locator("a[href='tel:13912340001']").is_visible()
    assert page.locator("a[href='tel:13912340002']").is_visible()
    axe.check(page, "SOS alert with call links at 1366 px")
    context.close()

    phone = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True)
    page = phone.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    sign_in(page, base_url, "property01")
    page.goto(f"{base_url}/alerts/{alert.pk}/")
    assert page.locator("[data-hidden-from-role]").is_visible() and "刘桂香" not in page.content()
    check_phone_page(page, axe, tmp_path, "SOS alert hidden from property staff", "normal")
    phone.close()
    assert_clean(axe, console_errors, tmp_path)
