"""The administrator's pages in Debian's Chromium, in Chinese: accounts and roles (a bad form answered at its
field, an account made with its password shown once), devices (a wearable's readings), alert rules (a
setting the engine refuses, named at the settings); axe-core on every page at 1366 px, and at 360 px in
normal and elder mode, where nothing scrolls sideways. Database and server: see test_browser.py."""

from __future__ import annotations

import pytest

from banyan.tests_browser.support import (
    Axe,
    assert_clean,
    check_phone_page,
    desktop,
    no_horizontal_scroll,
    phone_page,
    sign_in,
    turn_on_elder_mode,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def places():
    """grid01's account, a rule of the demo community and a wearable (committed: the server sees them)."""
    from banyan.people.models import User
    from banyan.sensing.models import Device
    from banyan.warning.models import Rule

    grid01 = User.objects.get(username="grid01")
    rule = Rule.objects.filter(community=grid01.region.parent).order_by("id").first()
    band = Device.objects.filter(kind="wearable_band").order_by("code").first()
    return grid01, rule, band


def test_admin_pages_in_chinese_pass_axe_on_desktop_and_phone(browser, community, tmp_path):
    base_url = community
    grid01, rule, band = places()
    axe = Axe()
    console_errors: list[str] = []
    context, page = desktop(browser, console_errors)
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, base_url, "admin")

    page.goto(f"{base_url}/people/users/")
    assert page.locator("h1").inner_text() == "账号与角色"
    assert f"{grid01.last_name}{grid01.first_name}" in page.locator("table.account-table").inner_text()
    assert no_horizontal_scroll(page)[0] <= 1366
    axe.check(page, "accounts")
    page.goto(f"{base_url}/people/users/{grid01.pk}/")
    axe.check(page, "an account")

    page.goto(f"{base_url}/people/users/new/")
    page.fill("#id_username", "zhaomin")
    page.fill("#id_family_name", "赵")
    page.fill("#id_given_name", "敏")
    page.select_option("#id_role", "grid_worker")
    page.click("form.account-form button[type=submit]")
    assert "请选择此账号负责的区域" in page.locator("form.account-form").inner_text()
    axe.check(page, "an account refused")
    page.select_option("#id_region", str(grid01.region_id))
    page.click("form.account-form button[type=submit]")
    password = page.locator("#new-password").input_value()
    assert len(password) == 19 and page.locator("h1").inner_text() == "赵敏"
    axe.check(page, "an account made")

    page.goto(f"{base_url}/devices/")
    assert page.locator("h1").inner_text() == "设备"
    assert no_horizontal_scroll(page)[0] <= 1366
    axe.check(page, "devices")
    page.goto(f"{base_url}/devices/{band.pk}/")
    assert "手环" in page.locator("h1").inner_text()
    axe.check(page, "a wearable")
    page.goto(f"{base_url}/devices/new/")
    axe.check(page, "register a device")

    page.goto(f"{base_url}/rules/")
    assert page.locator("h1").inner_text() == "告警规则"
    axe.check(page, "rules")
    page.goto(f"{base_url}/rules/{rule.pk}/")
    page.fill("#id_settings", '{"metric": "water_level_cm", "raise_at": "高"}')
    page.click("form.rule-form button[type=submit]")
    assert "raise_at：必须是数字" in page.locator("form.rule-form").inner_text()
    page.click(".rule-glossary summary")
    axe.check(page, "a rule refused")
    context.close()

    phone, page = phone_page(browser, console_errors)
    sign_in(page, base_url, "admin")
    for mode in ("normal", "elder"):
        page.goto(f"{base_url}/people/users/")
        if mode == "elder":
            turn_on_elder_mode(page, "**/people/users/")
        for name, path in (
            ("accounts", "/people/users/"),
            ("an account", f"/people/users/{grid01.pk}/"),
            ("devices", "/devices/"),
            ("a wearable", f"/devices/{band.pk}/"),
            ("register a device", "/devices/new/"),
            ("rules", "/rules/"),
            ("a rule", f"/rules/{rule.pk}/"),
        ):
            page.goto(f"{base_url}{path}")
            check_phone_page(page, axe, tmp_path, name, mode)
    phone.close()
    assert_clean(axe, console_errors, tmp_path)
