"""Everyday care in Debian's Chromium, in Chinese: the resident's "今日平安" button on the elder home page of
a phone; the director's care board (today's share per grid, the overdue list) where one click sends
someone; the plans missing or overdue, a staff check-in and the care plan, at 1366 px and at 360 px in
normal and elder mode, where nothing scrolls sideways; axe-core on every page. Database and server: see
test_browser.py."""

from __future__ import annotations

import pytest

from banyan.tests_browser.support import (
    Axe,
    assert_clean,
    check_phone_page,
    click_in_header,
    desktop,
    no_horizontal_scroll,
    seed_care_plans,
    sign_in,
    turn_on_elder_mode,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def chinese_phone(browser, console_errors: list[str]):
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, locale="zh-CN"
    )
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    return context, page


def test_the_care_pages_in_chinese_on_desktop_and_phone(browser, community, tmp_path):
    base_url = community
    plans = seed_care_plans()
    axe = Axe()
    console_errors: list[str] = []
    context, page = desktop(browser, console_errors)
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, base_url, "director")
    click_in_header(page, "a[href='/care/today/']")
    page.wait_for_url("**/care/today/")
    assert page.locator("h1").inner_text() == "今日关爱"
    assert "今日已报平安 1 人" in page.locator("[data-board-share]").inner_text()
    assert page.locator("[data-board-overdue] tbody tr").count() == 3
    assert no_horizontal_scroll(page)[0] <= 1366
    axe.check(page, "care board")
    target = plans[1].resident_id
    page.click(f"button[data-send='{target}']")
    page.wait_for_url("**/care/today/")
    assert "事件" in page.locator(".message").first.inner_text()
    assert page.locator(f"button[data-send='{target}']").count() == 0, "someone is on the way: not again"
    axe.check(page, "care board after sending someone")
    page.goto(f"{base_url}/care/plans/")
    axe.check(page, "care plans missing or overdue")
    context.close()

    phone, page = chinese_phone(browser, console_errors)
    sign_in(page, base_url, "director")
    for mode in ("normal", "elder"):
        page.goto(f"{base_url}/care/today/")
        if mode == "elder":
            turn_on_elder_mode(page, "**/care/today/")
        for name, path in (
            ("care board", "/care/today/"),
            ("care board overdue", "/care/today/?state=overdue"),
            ("care plans", "/care/plans/"),
            ("staff check-in", f"/care/residents/{plans[2].resident_id}/checkin"),
            ("care plan", f"/care/plans/{plans[2].pk}/"),
        ):
            page.goto(f"{base_url}{path}")
            check_phone_page(page, axe, tmp_path, name, mode)
    phone.close()

    phone, page = chinese_phone(browser, console_errors)
    sign_in(page, base_url, "resident01")
    turn_on_elder_mode(page, f"{base_url}/")
    button = page.locator("form[action='/care/checkin'] button")
    assert "今日平安" in button.inner_text()
    check_phone_page(page, axe, tmp_path, "elder home with the button", "elder")
    button.click()
    page.wait_for_url(f"{base_url}/")
    assert "已报平安" in page.locator("main").inner_text()
    check_phone_page(page, axe, tmp_path, "elder home confirmed", "elder")
    phone.close()
    assert_clean(axe, console_errors, tmp_path)
