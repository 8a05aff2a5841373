"""The director's metrics page and the responsibility matrix in Debian's Chromium: the charts drawn
under the strict CSP (no console error), the tables beside them, a bad date answered at its field,
the XLSX download, a matrix cell set by picking a body and a role; axe-core on every page, at 1366 px
and at 360 px in normal and elder mode, in Chinese. Database and server: see test_browser.py."""

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


def seed_recent_incidents() -> None:
    """Three incidents of the last days in the director's community, one resolved and rated, committed
    so that the server thread sees them."""
    import secrets

    from banyan.core import clock
    from banyan.people.models import Organisation, User
    from banyan.response.models import Category, Incident, Report

    director = User.objects.get(username="director")
    community = director.region
    grid = community.children.filter(kind="grid").order_by("code").first()
    committee = Organisation.objects.get(code="ORG-COMMITTEE")
    flooding = Category.objects.get(code="flooding")
    now = clock.now()
    for days, grade, done in ((5, "red", True), (3, "orange", False), (1, "blue", True)):
        opened = now - dt.timedelta(days=days)
        incident = Incident.objects.create(
            category=flooding,
            community=community,
            grid=grid,
            grade=grade,
            status="resolved" if done else "assigned",
            source="staff",
            accountable=committee,
            created_at=opened,
            updated_at=opened,
            accepted_at=opened + dt.timedelta(seconds=40) if done else None,
            on_scene_at=opened + dt.timedelta(seconds=400) if done else None,
            resolved_at=opened + dt.timedelta(seconds=3000) if done else None,
            acknowledge_due=opened + dt.timedelta(seconds=60),
            arrive_due=opened + dt.timedelta(seconds=600),
            resolve_due=opened + dt.timedelta(seconds=3600),
        )
        if done:
            Report.objects.create(
                source="web",
                category=flooding,
                incident=incident,
                rating=5 if grade == "red" else 3,
                rated_at=opened + dt.timedelta(hours=2),
                token=secrets.token_hex(16),
                requested_at=opened,
            )


def test_metrics_and_matrix_pages_draw_pick_and_pass_axe(browser, community, tmp_path):
    from banyan.response.models import Responsibility

    base_url = community
    seed_recent_incidents()
    axe = Axe()
    console_errors: list[str] = []
    context, page = desktop(browser, console_errors)
    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, base_url, "director")

    page.goto(f"{base_url}/response/metrics/")
    assert page.locator("h1").inner_text() == "处置绩效"
    page.wait_for_selector("[data-chart='sla-grade'] svg")
    page.wait_for_selector("[data-chart='trend'] svg")
    assert page.locator("table[data-table='sla-grade'] tbody tr").count() == 4
    assert "红色（一级）" in page.locator("table[data-table='sla-grade']").inner_text()
    scroll_width, inner_width = no_horizontal_scroll(page)
    assert scroll_width <= inner_width, f"metrics at 1366 px: scrollWidth {scroll_width}"
    page.screenshot(path=str(tmp_path / "metrics-1366.png"), full_page=True)
    axe.check(page, "metrics")

    with page.expect_download() as download_info:
        page.click("a[href*='/response/metrics/export.xlsx']")
    assert download_info.value.suggested_filename.endswith(".xlsx")

    page.goto(f"{base_url}/response/metrics/?start=2026-02-30")
    assert "“开始日期”：请填写日期" in page.locator("form.metrics-filters").inner_text()
    assert page.locator("#id_start").get_attribute("aria-invalid") == "true"
    axe.check(page, "metrics with a bad date")
    # The page answered 400 on purpose (bad input), which Chromium logs as a failed resource.
    console_errors[:] = [error for error in console_errors if "status of 400" not in error]

    page.goto(f"{base_url}/response/matrix/")
    assert "ORG-" not in page.locator("main").inner_text()
    axe.check(page, "matrix")
    grid = page.locator("#matrix-region option").nth(0).get_attribute("value")
    page.goto(f"{base_url}/response/matrix/cell/?category=gas&region={grid}")
    axe.check(page, "matrix cell form")
    page.select_option("#id_accountable", "ORG-PROPERTY")
    page.select_option("#id_accountable_role", "property_staff")
    page.select_option("#id_escalation_1", "ORG-COMMITTEE")
    page.select_option("#id_escalation_1_role", "community_director")
    with page.expect_navigation():
        page.click("form.cell-form button[type=submit]")
    assert "/response/matrix/?region=" in page.url
    cell = Responsibility.objects.get(category__code="gas", region__code=grid)
    assert cell.accountable.code == "ORG-PROPERTY"
    assert cell.escalation[0] == {"organisation": "ORG-COMMITTEE", "role": "community_director"}
    context.close()

    phone, page = phone_page(browser, console_errors)
    sign_in(page, base_url, "director")
    for mode in ("normal", "elder"):
        page.goto(f"{base_url}/response/metrics/")
        if mode == "elder":
            turn_on_elder_mode(page, "**/response/metrics/")
        page.wait_for_selector("[data-chart='sla-body'] svg")
        check_phone_page(page, axe, tmp_path, "metrics", mode)
        page.goto(f"{base_url}/response/matrix/")
        check_phone_page(page, axe, tmp_path, "matrix", mode)
        page.goto(f"{base_url}/response/matrix/cell/?category=gas&region={grid}")
        check_phone_page(page, axe, tmp_path, "matrix cell form", mode)
    phone.close()
    assert_clean(axe, console_errors, tmp_path)
