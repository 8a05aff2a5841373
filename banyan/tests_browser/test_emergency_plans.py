"""The hazard register and the plans in Debian's Chromium, in Chinese: the director reads the register
(riskiest first), marks the flooding hazard reviewed, opens the level II typhoon plan and saves a new
version in the editor (a task's deadline changed, a change note); the register, a hazard, the plans, a plan
and its editor at 1366 px and at 360 px in normal and elder mode, where nothing scrolls sideways; axe-core on
every page. Database and server: see test_browser.py."""

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


def register_and_plan():
    """The demo community's flooding hazard and its level II typhoon plan in force (the seed makes them)."""
    from banyan.emergency.models import Hazard, Plan
    from banyan.people.models import User

    community = User.objects.get(username="director").region
    hazard = Hazard.objects.get(community=community, kind="flood")
    plan = Plan.objects.get(community=community, hazard="typhoon", level=2, is_current=True)
    return hazard, plan


def test_the_register_and_a_plan_in_chinese_on_desktop_and_phone(browser, community, tmp_path):
    from banyan.emergency.models import Plan

    base_url = community
    hazard, plan = register_and_plan()
    axe = Axe()
    console_errors: list[str] = []
    context, page = desktop(browser, console_errors)
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, base_url, "director")

    page.goto(f"{base_url}/emergency/hazards/")
    assert page.locator("h1").inner_text() == "风险登记册"
    assert page.locator("tr[data-hazard]").count() == 11
    assert no_horizontal_scroll(page)[0] <= 1366
    axe.check(page, "hazard register")

    page.goto(f"{base_url}/emergency/hazards/{hazard.pk}/")
    assert "一楼房屋" in page.locator("main").inner_text()
    axe.check(page, "hazard")
    page.click("button[data-review]")
    page.wait_for_url(f"**/emergency/hazards/{hazard.pk}/")
    assert "已复核" in page.locator(".message").first.inner_text()

    page.goto(f"{base_url}/emergency/plans/")
    axe.check(page, "plans")
    page.click(f"a[href='/emergency/plans/{plan.pk}/']")
    page.wait_for_url(f"**/emergency/plans/{plan.pk}/")
    assert "组织危险区域人员转移至避灾安置点" in page.locator("main").inner_text()
    axe.check(page, "plan")
    page.click(f"a[href='/emergency/plans/{plan.pk}/edit']")
    page.wait_for_url(f"**/emergency/plans/{plan.pk}/edit")
    axe.check(page, "plan editor")
    page.fill("input[name='tasks-0-due_minutes']", "8")
    page.fill("input[name='change_note']", "召集时限缩短为8分钟")
    page.click("form button[type='submit'].button--big")
    page.wait_for_url("**/emergency/plans/*/")
    made = Plan.objects.get(community=plan.community, hazard="typhoon", level=2, is_current=True)
    assert made.version == plan.version + 1 and made.body["tasks"][0]["due_minutes"] == 8
    assert f"第 {made.version} 版" in page.locator("main").inner_text()
    axe.check(page, "plan, new version")
    context.close()

    phone = browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, locale="zh-CN"
    )
    page = phone.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    sign_in(page, base_url, "director")
    for mode in ("normal", "elder"):
        page.goto(f"{base_url}/emergency/hazards/")
        if mode == "elder":
            turn_on_elder_mode(page, "**/emergency/hazards/")
        for name, path in (
            ("hazard register", "/emergency/hazards/"),
            ("hazard", f"/emergency/hazards/{hazard.pk}/"),
            ("plans", "/emergency/plans/"),
            ("plan", f"/emergency/plans/{made.pk}/"),
            ("plan editor", f"/emergency/plans/{made.pk}/edit"),
        ):
            page.goto(f"{base_url}{path}")
            check_phone_page(page, axe, tmp_path, name, mode)
    phone.close()
    assert_clean(axe, console_errors, tmp_path)
