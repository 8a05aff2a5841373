"""The pages issue 10 added, as people meet them in Chromium, in Chinese: a staff member sets up the
second factor (QR code, key, code, recovery codes) and lists their API tokens; a resident reads "My
data" and asks for a correction, which a grid worker finds in the queue; ten wrong passwords lock an
account. Each page axe-core clean (no serious or critical violation), with no console error (the
CSP would report one), and at 360 px in elder mode without sideways scrolling.
"""

from __future__ import annotations

import base64
import re

import pytest

from banyan.conftest import DEMO_PASSWORD
from banyan.tests_browser.support import (
    Axe,
    assert_clean,
    check_phone_page,
    click_in_header,
    desktop,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _code_for(key: str) -> str:
    from django_otp.oath import totp

    raw = key.replace(" ", "")
    return f"{totp(base64.b32decode(raw + '=' * (-len(raw) % 8))):06d}"


def test_second_factor_tokens_my_data_corrections_and_lockout_pages(browser, community, tmp_path):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from banyan.people.models import CorrectionRequest, User

    base_url = community
    axe = Axe()
    console_errors: list[str] = []

    # Property staff may reveal phones: a second factor is required, set up at the first sign-in.
    property_staff = User.objects.get(username="property01")
    TOTPDevice.objects.filter(user=property_staff).delete()
    context, page = desktop(browser, console_errors)
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", "property01")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/otp/setup/**")
    assert page.locator("figure.otp-qr img").evaluate("img => img.complete && img.naturalWidth > 0")
    axe.check(page, "second factor set-up")
    key = page.locator("p.otp-key code").inner_text()
    page.fill("#id_code", "000000")
    with page.expect_navigation():
        page.click("main form[action$='/otp/setup/'] button[type=submit]")
    assert page.locator("#id_code").get_attribute("aria-invalid") == "true"
    axe.check(page, "second factor set-up with a wrong code")
    # django-otp makes the next try wait after a wrong code (1 s, then doubling): a person reads the
    # message first; the test ends the wait instead of sleeping.
    TOTPDevice.objects.filter(user=property_staff).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )
    page.fill("#id_code", _code_for(key))
    with page.expect_navigation():
        page.click("main form[action$='/otp/setup/'] button[type=submit]")
    assert page.locator("ol.recovery-codes li").count() == 10
    axe.check(page, "recovery codes")
    page.click("main a.button")
    page.goto(f"{base_url}/people/tokens/")
    assert page.locator("h1").count() == 1
    axe.check(page, "API tokens")
    context.close()

    # A resident reads what is held about them and asks for a correction.
    context, page = desktop(browser, console_errors)
    sign_in(page, base_url, "resident01")
    click_in_header(page, "nav.site-nav a[href='/people/me/']")
    page.wait_for_url("**/people/me/")
    assert "谁查看了我的数据" in page.content()
    axe.check(page, "my data")
    page.select_option("#id_field", "registered_address")
    page.fill("#id_proposed_value", "幸福里3幢2单元")
    page.fill("#id_note", "门牌号写错了")
    with page.expect_navigation():
        page.click("main form[action$='/people/me/corrections/'] button[type=submit]")
    axe.check(page, "my data after a correction request")
    resident = User.objects.get(username="resident01").resident
    assert CorrectionRequest.objects.filter(resident=resident).count() == 1
    context.close()

    # The grid worker finds it in the queue.
    context, page = desktop(browser, console_errors)
    sign_in(page, base_url, "grid01")
    click_in_header(page, "nav.site-nav a[href='/people/corrections/']")
    page.wait_for_url("**/people/corrections/")
    assert page.locator("main table, main ul, main ol").count() >= 1
    axe.check(page, "correction queue")
    page.locator("main a[href^='/people/corrections/']").first.click()
    page.wait_for_url(re.compile(r".*/people/corrections/\d+/$"))
    axe.check(page, "correction request")
    context.close()

    # Ten wrong passwords: the sign-in page says when to try again (Chromium logs the 429 itself).
    locked_errors: list[str] = []
    context, page = desktop(browser, locked_errors)
    for _attempt in range(10):
        page.goto(f"{base_url}/login/")
        page.fill("#id_username", "volunteer01")
        page.fill("#id_password", "not-the-password")
        page.click("main button[type=submit]")
        page.wait_for_load_state()
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", "volunteer01")
    page.fill("#id_password", DEMO_PASSWORD)
    with page.expect_navigation() as navigation:
        page.click("main button[type=submit]")
    assert navigation.value.status == 429
    assert re.search(r"\d{1,2}:\d{2}", page.locator("main").inner_text()), "it says when to try again"
    axe.check(page, "sign-in locked")
    assert locked_errors and all("429" in error for error in locked_errors), locked_errors
    context.close()

    # A 360 px phone in elder mode: the resident's page and the set-up page.
    phone = browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, locale="zh-CN"
    )
    page = phone.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    sign_in(page, base_url, "resident01")
    click_in_header(page, "form[action$='/elder-mode/'] button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"{base_url}/people/me/")
    check_phone_page(page, axe, tmp_path, "my data", "elder")
    page.goto(f"{base_url}/otp/setup/")
    check_phone_page(page, axe, tmp_path, "second factor set-up", "elder")
    phone.close()

    assert_clean(axe, console_errors, tmp_path)
