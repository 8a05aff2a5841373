"""The auditor's audit page and an honest resident page in Debian's Chromium, in Chinese: the chain's state,
a filter, a bad date answered at its field, both downloads; the resident page saying that care is hidden
from the auditor's role; axe-core on every page, at 1366 px and at 360 px in normal and elder mode.
Database and server: see test_browser.py."""

from __future__ import annotations

import datetime as dt

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


def seed_story():
    """A reveal with its purpose and an alert resolved, committed so that the server thread sees them;
    and an 83-year-old living alone with two care profiles. Returns the resident."""
    from banyan.audit.actions import AuditAction
    from banyan.audit.services import Event, record
    from banyan.conftest import make_resident
    from banyan.core import clock
    from banyan.people.models import CareProfile, Household, User

    grid01 = User.objects.get(username="grid01")
    director = User.objects.get(username="director")
    household = Household.objects.filter(grid=grid01.region).order_by("id").first()
    born = clock.today().replace(year=clock.today().year - 83) - dt.timedelta(days=30)
    elder = make_resident(household, name="独居老人", birth_date=born, relation="other", is_living_alone=True)
    for kind in ("elderly_alone", "chronic_illness"):
        CareProfile.objects.create(resident=elder, kind=kind, since=dt.date(2025, 1, 1))
    record(
        actor=grid01,
        events=[Event(AuditAction.RESIDENT_REVEAL, "resident", elder.pk, "入户走访核实", {"field": "phone"})],
    )
    record(
        actor=director,
        events=[Event(AuditAction.ALERT_RESOLVE, "alert", 77, "", {"rule": 3, "grade": "orange"})],
    )
    return elder


def test_audit_page_and_honest_resident_page_pass_axe(browser, community, settings, tmp_path):
    base_url = community
    # The chain was begun anew by the seed of this transactional test: its own anchor, not the session's.
    settings.AUDIT_ANCHOR_FILE = tmp_path / "audit.anchor"
    elder = seed_story()
    axe = Axe()
    console_errors: list[str] = []
    context, page = desktop(browser, console_errors)
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, base_url, "auditor")

    page.goto(f"{base_url}/audit/")
    assert page.locator("h1").inner_text() == "审计日志"
    assert page.locator("[data-chain]").get_attribute("data-chain") == "intact"
    assert "审计链完好" in page.locator("#chain-title").inner_text()
    table = page.locator("table.audit-table").inner_text()
    assert "明文查看个人信息" in table and "入户走访核实" in table and "解除预警" in table
    scroll_width, inner_width = no_horizontal_scroll(page)
    assert scroll_width <= inner_width, f"audit at 1366 px: scrollWidth {scroll_width}"
    page.click("table.audit-table details summary >> nth=0")
    page.screenshot(path=str(tmp_path / "audit-1366.png"), full_page=True)
    axe.check(page, "audit")

    page.select_option("#id_action", "resident.reveal")
    with page.expect_navigation():
        page.click("form.audit-filters button[type=submit]")
    assert "action=resident.reveal" in page.url
    assert page.locator("table.audit-table tbody tr").count() == 1
    with page.expect_download() as download_info:
        page.click("a[href*='/audit/export.xlsx']:not([href*='format=csv'])")
    assert download_info.value.suggested_filename.endswith(".xlsx")
    with page.expect_download() as download_info:
        page.click("a[href*='format=csv']")
    assert download_info.value.suggested_filename.endswith(".csv")

    page.goto(f"{base_url}/audit/?since=2026-02-30")
    assert "请按“年-月-日”填写日期" in page.locator("form.audit-filters").inner_text()
    axe.check(page, "audit with a bad date")

    page.click("form[action^='/audit/verify/'] button")
    page.wait_for_url("**/audit/?since=2026-02-30")
    assert page.locator("[data-chain]").get_attribute("data-chain") == "intact"

    page.goto(f"{base_url}/people/residents/{elder.pk}/")
    care = page.locator("[data-hidden='care']").inner_text()
    assert care.startswith("您的角色不可查看") and "暂无" not in page.locator("main").inner_text()
    axe.check(page, "resident page as the auditor")
    context.close()

    phone, page = phone_page(browser, console_errors)
    sign_in(page, base_url, "auditor")
    for mode in ("normal", "elder"):
        page.goto(f"{base_url}/audit/")
        if mode == "elder":
            turn_on_elder_mode(page, "**/audit/")
        check_phone_page(page, axe, tmp_path, "audit", mode)
        page.goto(f"{base_url}/people/residents/{elder.pk}/")
        check_phone_page(page, axe, tmp_path, "resident as auditor", mode)
    phone.close()
    # The page answered 400 on purpose (a bad date), which Chromium logs as a failed resource.
    assert_clean(axe, [error for error in console_errors if "status of 400" not in error], tmp_path)
