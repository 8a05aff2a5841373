"""The cockpit's emergency mode in Debian's Chromium, in Chinese: with an emergency of the demo community
active, the cockpit leads with its banner (the level's name and colour, the hazard, the community, the
minutes since activation, the board's link) and its panels; a task done and a roll call started reach the
open page through the live stream; at 360 px in normal and elder mode nothing scrolls sideways; axe-core
on each. Database and server: see test_browser.py."""

from __future__ import annotations

import pytest

from banyan.cockpit import views
from banyan.emergency import services
from banyan.emergency.models import Plan
from banyan.emergency.rollcall import services as rollcall
from banyan.people.models import User
from banyan.places.models import Region
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

READY = "#cockpit[data-ready='1'][data-live-state='live']"


def test_the_cockpit_leads_with_the_active_emergency_in_chinese(browser, community, tmp_path, monkeypatch):
    base_url = community
    monkeypatch.setattr(views, "EMERGENCY_POLL_S", 0.3)  # the stream looks again every 0.3 s here
    director = User.objects.get(username="director")
    place = Region.objects.get(code="G01", kind="grid").parent
    plan = Plan.objects.filter(community=place, is_current=True).order_by("level", "hazard").first()
    assert plan is not None, "the seed installs the community's plans"
    emergency = services.activate(actor=director, community=place, hazard=plan.hazard, level=plan.level)
    tasks = emergency.tasks.count()
    axe, errors = Axe(), []
    context, page = desktop(browser, errors)
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, base_url, "director")
    page.goto(f"{base_url}/cockpit/")
    page.wait_for_selector(READY, state="attached", timeout=20000)
    section = page.locator("[data-emergency-mode]")
    assert section.is_visible()
    banner = section.locator("[data-emergency-banner]")
    grade = {1: "red", 2: "orange", 3: "yellow", 4: "blue"}[plan.level]
    assert f"emergency-banner--{grade}" in banner.get_attribute("class")
    heading = banner.locator("h2").inner_text()
    assert "级（" in heading and emergency.title in heading
    facts = banner.inner_text()
    assert "已启动" in facts and "分钟" in facts and place.name_zh in facts
    assert plan.hazard not in facts and grade not in facts, "no internal codes on the Chinese page"
    assert banner.locator("a[data-emergency-board]").get_attribute("href") == f"/emergency/{emergency.pk}/"
    assert section.locator("[data-em='tasks.open']").inner_text() == str(tasks)
    assert section.locator("[data-em='tasks.done']").inner_text() == "0"
    assert section.locator("[data-emergency-no-rollcall]").is_visible()
    assert section.locator("[data-emergency-timeline] li[data-timeline='activated']").count() == 1
    assert no_horizontal_scroll(page)[0] <= 1366
    axe.check(page, "cockpit in emergency mode 1366 (zh)")

    # Live: a task done and a roll call started reach the open page through the stream.
    task = emergency.tasks.order_by("due_at", "id").first()
    services.complete_task(actor=director, task=task)
    roll_call = rollcall.start_roll_call(actor=director, emergency=emergency)
    page.wait_for_function("() => document.querySelector(\"[data-em='tasks.done']\").textContent === '1'")
    rollcall_panel = section.locator("[data-emergency-rollcall]")
    rollcall_panel.wait_for(state="visible", timeout=10000)
    asked = roll_call.entries.count()
    assert section.locator("[data-em='roll_call.asked']").inner_text() == str(asked)
    assert section.locator("[data-em='roll_call.unaccounted']").inner_text() == str(asked)
    assert "平安点名" in rollcall_panel.locator("a").inner_text()
    axe.check(page, "cockpit in emergency mode after a roll call (zh)")
    page.screenshot(path=str(tmp_path / "cockpit-emergency-1366.png"))
    context.close()

    phone = browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, locale="zh-CN"
    )
    page = phone.new_page()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    sign_in(page, base_url, "director")
    for mode in ("normal", "elder"):
        page.goto(f"{base_url}/cockpit/")
        if mode == "elder":
            turn_on_elder_mode(page, "**/cockpit/")
        page.wait_for_selector(READY, state="attached", timeout=20000)
        assert page.locator("[data-emergency-mode]").is_visible()
        check_phone_page(page, axe, tmp_path, "cockpit in emergency mode", mode)
    phone.close()
    services.stand_down(actor=director, emergency=emergency)
    assert_clean(axe, errors, tmp_path)
