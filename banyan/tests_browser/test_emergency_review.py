"""The after-action review in Debian's Chromium, in Chinese: a stood-down typhoon emergency's review, where
the director adds a recovery task in one click and a lesson with its owner; the page at 1366 px and at
360 px in normal and elder mode, where nothing scrolls sideways; axe-core on every page. Database and
server: see test_browser.py."""

from __future__ import annotations

import pytest

from banyan.emergency import services
from banyan.emergency.models import Lesson, Task
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


def chinese_phone(browser, console_errors: list[str]):
    """A 360×740 phone reading Chinese."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, locale="zh-CN"
    )
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    return context, page


def test_the_review_in_chinese_on_desktop_and_phone(browser, community, tmp_path):
    base_url = community
    grid = Region.objects.get(code="G01", kind="grid")
    director = User.objects.get(username="director")
    emergency = services.activate(
        actor=director, community=grid.parent, hazard="typhoon", level=2, area_grids=[grid.pk]
    )
    services.stand_down(actor=director, emergency=emergency)
    url = f"{base_url}/emergency/{emergency.pk}/review"
    axe = Axe()
    console_errors: list[str] = []
    context, page = desktop(browser, console_errors)
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, base_url, "director")
    page.goto(url)
    assert page.locator("h1").inner_text() == "复盘评估"
    assert page.locator("[data-review-tasks] tbody tr").count() > 0
    axe.check(page, "review")
    page.click("button[data-recovery='follow_up']")
    page.wait_for_url(f"**/emergency/{emergency.pk}/review")
    assert Task.objects.filter(emergency=emergency, kind="recovery", key="follow_up").count() == 1
    page.fill("#lesson-text", "车库沙袋应提前30分钟到位")
    page.select_option("#lesson-owner", index=1)
    page.click("form[data-lesson-form] button[type='submit']")
    page.wait_for_url(f"**/emergency/{emergency.pk}/review")
    assert Lesson.objects.filter(emergency=emergency).count() == 1
    assert "车库沙袋应提前30分钟到位" in page.locator("[data-review-lessons]").inner_text()
    assert page.locator("button[data-propose-plan]").count() == 1
    assert no_horizontal_scroll(page)[0] <= 1366
    axe.check(page, "review with a lesson and a recovery task")
    context.close()

    phone, page = chinese_phone(browser, console_errors)
    sign_in(page, base_url, "director")
    for mode in ("normal", "elder"):
        page.goto(url)
        if mode == "elder":
            turn_on_elder_mode(page, f"**/emergency/{emergency.pk}/review")
        page.goto(url)
        check_phone_page(page, axe, tmp_path, "review", mode)
    phone.close()
    phone, page = chinese_phone(browser, console_errors)
    sign_in(page, base_url, "volunteer01")
    page.goto(url)
    check_phone_page(page, axe, tmp_path, "review for a volunteer", "normal")
    phone.close()
    assert_clean(axe, console_errors, tmp_path)
