"""Warnings to residents in Debian's Chromium, in Chinese: a government red typhoon warning relayed to
the seeded community; the director's relay page (the warning with its counts, a notice sent for the
emergency, the not-reached list and door-knocking) at 1366 px and at 360 px in normal and elder mode,
where nothing scrolls sideways; resident01's elder home page with the warning as received, the
subscriptions page and the warnings sent; axe-core on every page. Database and server: see
test_browser.py."""

from __future__ import annotations

import pytest

from banyan.core import clock
from banyan.emergency.models import Emergency
from banyan.emergency.relay.services import relay_new_warnings
from banyan.emergency.relay.tests.conftest import DESCRIPTION_ZH, HEADLINE_ZH, import_warning
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


def phone_page(browser, console_errors: list[str]):
    """A 360×740 phone reading Chinese."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, locale="zh-CN"
    )
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    return context, page


def red_warning_and_emergency() -> Emergency:
    """A red typhoon warning over the demo community, relayed; an active emergency over G01; committed."""
    grid = Region.objects.get(code="G01", kind="grid")
    import_warning("BROWSER-RED-1", region=grid.parent)
    relay_new_warnings()
    emergency = Emergency.objects.create(
        community=grid.parent,
        hazard="typhoon",
        level=1,
        status="active",
        title="台风“梅花”",
        trigger="cap",
        activated_at=clock.now(),
        created_at=clock.now(),
    )
    emergency.area_grids.set([grid])
    return emergency


def test_warnings_to_residents_in_chinese_on_desktop_and_phone(browser, community, tmp_path):
    base_url = community
    emergency = red_warning_and_emergency()
    address = f"{base_url}/emergency/relay/"
    axe = Axe()
    console_errors: list[str] = []
    context, page = desktop(browser, console_errors)
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, base_url, "director")
    page.goto(address)
    assert page.locator("h1").inner_text() == "向居民转发预警"
    assert HEADLINE_ZH in page.locator("[data-relays]").inner_text()
    assert int(page.locator("[data-relays] [data-told]").first.inner_text()) > 0
    assert no_horizontal_scroll(page)[0] <= 1366
    axe.check(page, "relay page")
    form = page.locator(f"[data-emergency='{emergency.pk}'] form[data-notice-form]")
    form.locator("textarea[name='text_zh']").fill("请低层住户前往3号楼避难点。")
    form.locator("button[type='submit']").click()
    page.wait_for_url(address)
    assert "通知已发送给" in page.locator(".message").first.inner_text()
    assert "已发送 1 条通知" in page.locator(f"[data-emergency='{emergency.pk}']").inner_text()
    axe.check(page, "relay page after a notice")
    context.close()

    phone, page = phone_page(browser, console_errors)
    sign_in(page, base_url, "director")
    for mode in ("normal", "elder"):
        page.goto(address)
        if mode == "elder":
            turn_on_elder_mode(page, "**/emergency/relay/")
        check_phone_page(page, axe, tmp_path, "relay page", mode)
    phone.close()

    phone, page = phone_page(browser, console_errors)
    sign_in(page, base_url, "resident01")
    turn_on_elder_mode(page, f"{base_url}/")
    relayed = page.locator(".home-relayed")
    assert HEADLINE_ZH in relayed.inner_text() and DESCRIPTION_ZH in relayed.inner_text()
    assert "来源：杭州市气象台" in relayed.inner_text()
    check_phone_page(page, axe, tmp_path, "elder home with the relayed warning", "elder")
    page.goto(f"{base_url}/emergency/relay/subscriptions")
    check_phone_page(page, axe, tmp_path, "warning subscriptions", "elder")
    page.locator("input[name='grades'][value='blue']").uncheck()
    page.locator("[data-subscription-form] button[type='submit']").click()
    page.wait_for_url("**/emergency/relay/subscriptions")
    assert "已保存" in page.locator(".message").first.inner_text()
    assert not page.locator("input[name='grades'][value='blue']").is_checked()
    page.goto(f"{base_url}/emergency/relay/received")
    assert "请低层住户前往3号楼避难点。" in page.locator("[data-received-list]").inner_text()
    check_phone_page(page, axe, tmp_path, "warnings sent", "elder")
    phone.close()
    assert_clean(axe, console_errors, tmp_path)
