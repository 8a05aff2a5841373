"""The emergency list and board in Debian's Chromium, in Chinese: a government warning's proposal confirmed
with one click ("启动"), a plan activated from the list's form over grid G01, a task marked done and the
level raised on the board; the list and the board at 1366 px and at 360 px in normal and elder mode, where
nothing scrolls sideways; axe-core on every page. Database and server: see test_browser.py."""

from __future__ import annotations

import pytest

from banyan.core import clock
from banyan.emergency import services
from banyan.emergency.models import Emergency
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
from banyan.warning.models import OfficialWarning

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def chinese_phone(browser, console_errors: list[str]):
    """A 360×740 phone reading Chinese."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, locale="zh-CN"
    )
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    return context, page


def proposed_by_a_warning() -> Emergency:
    """A heat-wave emergency of the demo community proposed by an orange government warning; committed (the
    seed installs the plans)."""
    community = Region.objects.get(code="G01", kind="grid").parent
    now = clock.now()
    warning = OfficialWarning.objects.create(
        identifier="BROWSER-HEAT-1", sender="hz-meteo@zj.gov.cn", sent=now, status="Actual",
        msg_type="Alert", scope="Public", event="高温", severity="Severe", grade="orange",
        headline_zh="杭州市气象台发布高温橙色预警", raw="<alert/>", imported_at=now,
    )  # fmt: skip
    emergency = services.propose(
        community=community, hazard="heat_wave", level=2, trigger="cap", official_warning=warning
    )
    assert emergency is not None and emergency.plan is not None
    return emergency


def test_the_emergency_board_in_chinese_on_desktop_and_phone(browser, community, tmp_path):
    base_url = community
    proposed = proposed_by_a_warning()
    grid = Region.objects.get(code="G01", kind="grid")
    axe = Axe()
    console_errors: list[str] = []
    context, page = desktop(browser, console_errors)
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, base_url, "director")
    page.goto(f"{base_url}/emergency/")
    assert page.locator("h1").inner_text() == "应急事件"
    assert page.locator(f"[data-emergencies='proposed'] [data-emergency='{proposed.pk}']").count() == 1
    assert no_horizontal_scroll(page)[0] <= 1366
    axe.check(page, "emergencies with a proposal")
    page.click(f"button[data-confirm='{proposed.pk}']")
    page.wait_for_url(f"**/emergency/{proposed.pk}/")
    assert "应急响应已启动" in page.locator(".message").first.inner_text()
    assert page.locator("[data-board-status='active']").count() == 1
    assert page.locator("[data-board-tasks] tbody tr").count() > 0
    axe.check(page, "board of the confirmed emergency")

    page.goto(f"{base_url}/emergency/")
    page.select_option("#id_hazard", "typhoon")
    page.select_option("#id_level", "3")
    page.check(f"input[name='area_grids'][value='{grid.pk}']")
    page.click("form[data-activate-form] button[type='submit']")
    page.wait_for_url("**/emergency/*/")
    emergency = Emergency.objects.filter(hazard="typhoon", status="active").order_by("-id").first()
    assert emergency is not None and list(emergency.area_grids.all()) == [grid]
    assert "东坡第一网格" in page.locator("[data-board-area]").inner_text()
    assert "三级" in page.locator("[data-board-level]").inner_text()
    first = page.locator("button[data-done]").first
    task_id = first.get_attribute("data-done")
    first.click()
    page.wait_for_url(f"**/emergency/{emergency.pk}/")
    assert page.locator(f"tr[data-task='{task_id}'][data-task-state='done']").count() == 1
    page.select_option("#level-level", "2")
    page.fill("#level-note", "台风加强")
    page.click("form[data-level-form] button[type='submit']")
    page.wait_for_url(f"**/emergency/{emergency.pk}/")
    assert "二级" in page.locator("[data-board-level]").inner_text()
    assert page.locator("[data-timeline='level_changed']").count() == 1
    assert no_horizontal_scroll(page)[0] <= 1366
    axe.check(page, "board after a level change")
    context.close()

    phone, page = chinese_phone(browser, console_errors)
    sign_in(page, base_url, "director")
    for mode in ("normal", "elder"):
        page.goto(f"{base_url}/emergency/")
        if mode == "elder":
            turn_on_elder_mode(page, "**/emergency/")
        for name, path in (("emergencies", "/emergency/"), ("board", f"/emergency/{emergency.pk}/")):
            page.goto(f"{base_url}{path}")
            check_phone_page(page, axe, tmp_path, name, mode)
    phone.close()
    phone, page = chinese_phone(browser, console_errors)
    sign_in(page, base_url, "grid01")
    page.goto(f"{base_url}/emergency/{emergency.pk}/")
    check_phone_page(page, axe, tmp_path, "board for a grid worker", "normal")
    phone.close()
    assert_clean(axe, console_errors, tmp_path)
