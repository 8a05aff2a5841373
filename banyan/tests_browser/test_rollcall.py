"""The "are you safe?" roll call in Debian's Chromium, in Chinese: the director's roll-call page (live
counts, the households still unaccounted for, "safe" after a call) at 1366 px and at 360 px in normal
and elder mode, where nothing scrolls sideways; resident01's question on the elder home page of a phone,
answered with one tap; axe-core on every page. Database and server: see test_browser.py."""

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


def phone_page(browser, console_errors: list[str]):
    """A 360×740 phone reading Chinese."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, locale="zh-CN"
    )
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    return context, page


def start_roll_call_over_g01():
    """An active emergency over grid G01 with its roll call started by the director; committed."""
    from banyan.core import clock
    from banyan.emergency.models import Emergency
    from banyan.emergency.rollcall.services import start_roll_call
    from banyan.people.models import User
    from banyan.places.models import Region

    grid = Region.objects.get(code="G01", kind="grid")
    emergency = Emergency.objects.create(
        community=grid.parent,
        hazard="typhoon",
        level=2,
        status="active",
        title="台风“梅花”",
        trigger="manual",
        activated_at=clock.now(),
        created_at=clock.now(),
    )
    emergency.area_grids.set([grid])
    start_roll_call(actor=User.objects.get(username="director"), emergency=emergency)
    return emergency


def test_the_roll_call_in_chinese_on_desktop_and_phone(browser, community, tmp_path):
    base_url = community
    emergency = start_roll_call_over_g01()
    address = f"{base_url}/emergency/{emergency.pk}/rollcall/"
    axe = Axe()
    console_errors: list[str] = []
    context, page = desktop(browser, console_errors)
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, base_url, "director")
    page.goto(address)
    assert "平安点名" in page.locator("h1").inner_text()
    assert "重点关爱户已确认 0 /" in page.locator("[data-rollcall-share]").inner_text()
    rows = page.locator("[data-rollcall-unaccounted] tbody tr")
    before = rows.count()
    assert before > 0
    assert no_horizontal_scroll(page)[0] <= 1366
    axe.check(page, "roll call")
    page.locator("button[data-mark-safe]").first.click()
    page.wait_for_url(address)
    assert "已登记为平安" in page.locator(".message").first.inner_text()
    assert page.locator("[data-count='safe']").inner_text() == "1"
    axe.check(page, "roll call after a household is marked safe")
    context.close()

    phone, page = phone_page(browser, console_errors)
    sign_in(page, base_url, "director")
    for mode in ("normal", "elder"):
        page.goto(address)
        if mode == "elder":
            turn_on_elder_mode(page, f"**/emergency/{emergency.pk}/rollcall/")
        check_phone_page(page, axe, tmp_path, "roll call", mode)
    phone.close()

    phone, page = phone_page(browser, console_errors)
    sign_in(page, base_url, "resident01")
    turn_on_elder_mode(page, f"{base_url}/")
    assert "您平安吗？" in page.locator("main").inner_text()
    check_phone_page(page, axe, tmp_path, "elder home with the question", "elder")
    page.locator("button[data-answer='safe']").first.click()
    page.wait_for_url("**/answer")
    assert "已记录您家平安" in page.locator(".message").first.inner_text()
    check_phone_page(page, axe, tmp_path, "the answered question", "elder")
    phone.close()
    assert_clean(axe, console_errors, tmp_path)
