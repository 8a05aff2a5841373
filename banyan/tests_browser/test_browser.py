"""End to end in Debian's Chromium: sign in, browse to a resident, reveal an ID number, and check
every page with axe-core (no "serious" or "critical" violation) and at a 360 px phone width.

Database: the server (``asgi_server``: uvicorn in a thread, as in production) runs beside the test,
so the test uses a transactional database that pytest-django flushes after the test, and
pytest-django orders transactional tests after all others. The session seed (banyan/conftest.py)
is still there when this test starts, unless another transactional test has already flushed it;
then the test seeds the same community itself with :func:`banyan.sim.services.seed_community`
(committed, so the server thread sees it), with the incident catalogue that a data migration
loaded and the flush wiped. ``serialized_rollback`` would not help: Django serialises the test
database right after the migrations, before the session seed.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from banyan.tests_browser.support import (
    Axe,
    assert_clean,
    check_phone_page,
    click_in_header,
    desktop,
    follow_first,
    no_horizontal_scroll,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_sign_in_browse_reveal_and_accessibility(browser, community, tmp_path):
    from banyan.people.models import Resident

    started = time.monotonic()
    base_url = community
    axe = Axe()

    console_errors: list[str] = []
    context, page = desktop(browser, console_errors)

    page.goto(f"{base_url}/login/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    axe.check(page, "login")

    sign_in(page, base_url)
    assert page.locator("h1").inner_text() == "社区概况"
    axe.check(page, "home")

    follow_first(page, "nav.site-nav a[href='/places/grids/']", "**/places/grids/")
    axe.check(page, "grid list")
    follow_first(page, "main table a[href^='/places/grids/']", "**/places/grids/*/")
    axe.check(page, "grid")
    follow_first(page, "main table a[href^='/places/buildings/']", "**/places/buildings/*/")
    axe.check(page, "building")
    follow_first(page, "main table a[href^='/people/households/']", "**/people/households/*/")
    axe.check(page, "household")
    follow_first(page, "main table a[href^='/people/residents/']", "**/people/residents/*/")
    axe.check(page, "resident")
    resident_url = page.url
    resident = Resident.objects.get(pk=int(resident_url.rstrip("/").rsplit("/", 1)[1]))
    assert resident.id_number not in page.content()
    assert resident.id_number_masked in page.content()

    # The reveal button opens a modal dialog (the link is the no-JS fallback).
    dialog = page.locator("#reveal-dialog")
    assert not dialog.is_visible()
    page.click("a[data-dialog='reveal-dialog']")
    assert dialog.is_visible()
    assert page.url == resident_url
    assert page.evaluate("() => document.activeElement.closest('dialog') !== null")
    axe.check(page, "resident with reveal dialog")
    page.keyboard.press("Escape")
    assert not dialog.is_visible()

    page.click("a[data-dialog='reveal-dialog']")
    dialog.locator("input[value='id_number']").check()
    dialog.locator("textarea[name='purpose']").fill("Verify identity for the elderly care subsidy")
    dialog.locator("button[type=submit]").click()
    page.wait_for_load_state()
    revealed = page.locator("[data-revealed='id_number']")
    assert revealed.inner_text() == resident.id_number
    assert "purpose" not in page.url and resident.id_number not in page.url
    axe.check(page, "resident after reveal")

    # Elder mode: the toggle posts and comes back to the same page with large type.
    page.goto(f"{base_url}/")
    click_in_header(page, "form[action='/elder-mode/'] button")
    page.wait_for_url(f"{base_url}/")
    assert page.locator("body").get_attribute("class") == "elder"
    base_font = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
    assert base_font >= 22
    axe.check(page, "home in elder mode")
    page.screenshot(path=str(tmp_path / "home-elder.png"), full_page=True)
    context.close()

    # A 360 px phone, in elder mode (chosen on the laptop, kept on the account) and in normal mode:
    # no horizontal scrolling on the resident page.
    phone = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True)
    page = phone.new_page()
    sign_in(page, base_url)
    page.goto(resident_url)
    assert page.locator("body").get_attribute("class") == "elder", "elder mode follows the account"
    scroll_width, inner_width = no_horizontal_scroll(page)
    page.screenshot(path=str(tmp_path / "resident-360-elder.png"), full_page=True)
    assert scroll_width <= 360, f"elder mode: scrollWidth {scroll_width} at innerWidth {inner_width}"
    axe.check(page, "resident at 360 px in elder mode")
    click_in_header(page, "form[action='/elder-mode/'] button")
    page.wait_for_url(resident_url)
    assert page.locator("body").get_attribute("class") != "elder"
    scroll_width, inner_width = no_horizontal_scroll(page)
    page.screenshot(path=str(tmp_path / "resident-360.png"), full_page=True)
    assert scroll_width <= 360, f"scrollWidth {scroll_width} at innerWidth {inner_width}"
    phone.close()

    print(f"\naxe-core checked {len(axe.checked)} pages: {', '.join(axe.checked)}")
    print(f"screenshots in {tmp_path}; browser test took {time.monotonic() - started:.1f} s")
    assert not axe.problems, "serious or critical accessibility violations:\n" + axe.report()
    assert console_errors == []


def write_ledger(path: Path, rows: list[list[str]]) -> Path:
    import csv

    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["户编号", "楼栋编号", "房号", "姓名", "身份证号", "手机号", "与户主关系", "居住状态", "标签"]
        )
        writer.writerows(rows)
    return path


def test_ledger_import_dry_run_and_accessibility(browser, community, tmp_path):
    """A grid worker checks a ledger with bad rows, then a correct one, and imports it."""
    from banyan.conftest import make_id_number
    from banyan.people.models import Resident, User
    from banyan.places.models import Unit

    base_url = community
    axe = Axe()
    grid = User.objects.get(username="grid01").region
    unit = Unit.objects.filter(building__grid=grid).select_related("building").order_by("id").first()
    place = [unit.building.code, unit.number]
    bad = write_ledger(
        tmp_path / "bad.csv",
        [
            ["T-BROWSER-H1", *place, "", "110101194703120000", "123", "户主", "", ""],
            [
                "T-BROWSER-H1",
                "NO-SUCH-BUILDING",
                unit.number,
                "测试乙",
                make_id_number("19490820"),
                "",
                "朋友",
                "",
                "",
            ],
        ],
    )
    good = write_ledger(
        tmp_path / "good.csv",
        [
            ["T-BROWSER-H2", *place, "测试甲", make_id_number("19470312", "110101"), "", "户主", "", ""],
            ["T-BROWSER-H2", *place, "测试乙", make_id_number("19490820", "110101"), "", "配偶", "", "党员"],
        ],
    )

    console_errors: list[str] = []
    context, page = desktop(browser, console_errors)
    sign_in(page, base_url, "grid01")
    follow_first(page, "nav.site-nav a[href='/people/ledgers/import/']", "**/people/ledgers/import/")
    assert page.locator("h1").inner_text() == "导入居民台账"
    axe.check(page, "ledger import")

    page.set_input_files("#id_file", str(bad))
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    table = page.locator("table.row-errors")
    assert table.locator("caption").inner_text() == "各行问题（第 1 行为表头）"
    rows = table.locator("tbody tr")
    assert {rows.nth(i).locator("th").inner_text() for i in range(rows.count())} == {"2", "3"}
    assert "110101194703120000" not in page.content()
    axe.check(page, "ledger import with row errors")

    page.set_input_files("#id_file", str(good))
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("[data-count='residents']").inner_text() == "2"
    axe.check(page, "ledger import check passed")
    before = Resident.objects.count()
    page.set_input_files("#confirm_file", str(good))
    page.click("main form button[type=submit]")
    page.wait_for_url("**/places/grids/")
    assert "台账已导入" in page.locator(".messages").inner_text()
    assert Resident.objects.count() == before + 2
    axe.check(page, "grid list after import")
    context.close()

    # A 360 px phone, in normal and in elder mode: the error table scrolls in its box, not the page.
    phone = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True)
    page = phone.new_page()
    sign_in(page, base_url, "grid01")
    page.goto(f"{base_url}/people/ledgers/import/")
    for mode in ("normal", "elder"):
        if mode == "elder":
            click_in_header(page, "form[action='/elder-mode/'] button")
            page.wait_for_url("**/people/ledgers/import/")
            assert page.locator("body").get_attribute("class") == "elder"
        page.set_input_files("#id_file", str(bad))
        page.click("main form button[type=submit]")
        page.wait_for_load_state()
        assert page.locator("table.row-errors").is_visible()
        scroll_width, inner_width = no_horizontal_scroll(page)
        page.screenshot(path=str(tmp_path / f"ledger-import-360-{mode}.png"), full_page=True)
        assert scroll_width <= 360, f"{mode}: scrollWidth {scroll_width} at innerWidth {inner_width}"
        axe.check(page, f"ledger import with row errors at 360 px ({mode})")
    phone.close()

    print(f"\naxe-core checked {len(axe.checked)} pages: {', '.join(axe.checked)}")
    assert not axe.problems, "serious or critical accessibility violations:\n" + axe.report()
    assert console_errors == []


def seed_alerts(grid) -> dict:
    """Three alerts on devices of ``grid`` (red, orange, blue) and a bilingual government warning in
    force, committed so that the server thread sees them."""
    from banyan.core import clock
    from banyan.warning import services
    from banyan.warning.cap import build_cap
    from banyan.warning.tests.conftest import event, make_rule, seeded_device
    from banyan.warning.tests.test_cap import make_alert, make_info

    device = seeded_device(grid=grid)
    alerts = {}
    for grade, name in (("red", "浓烟报警"), ("orange", "地下车库积水"), ("blue", "设备离线")):
        rule = make_rule(community=device.community, name=name, grade=grade)
        [alerts[grade]] = services.apply_events([event("Raised", rule, device.code, grade=grade)])
    now = clock.now()
    times = {"effective": now, "expires": now + dt.timedelta(hours=6)}
    cap = make_alert(
        identifier=f"CMA-browser-{now:%H%M%S}",
        sent=now,
        infos=(make_info("zh-CN", **times), make_info("en", **times)),
    )
    warning, _created = services.import_official_warning(actor="test", data=build_cap(cap))
    return {"alerts": alerts, "official": warning}


def box(page, selector: str) -> dict:
    return page.locator(selector).bounding_box()


def test_alert_pages_acknowledge_resolve_and_accessibility(browser, community, tmp_path):
    """A grid worker opens the alerts, filters them, acknowledges and resolves one (a missing note is
    refused at the field), and reads the official warning; desktop, then 360 px normal and elder."""
    from banyan.people.models import User
    from banyan.warning.models import Alert

    base_url = community
    axe = Axe()
    seeded = seed_alerts(User.objects.get(username="grid01").region)
    red, official = seeded["alerts"]["red"], seeded["official"]

    console_errors: list[str] = []
    context, page = desktop(browser, console_errors)
    sign_in(page, base_url, "grid01")
    follow_first(page, "nav.site-nav a[href='/alerts/']", "**/alerts/")
    assert page.locator("h1").inner_text() == "告警"
    cards = page.locator("section[aria-labelledby='local-title'] li.alert-card")
    assert cards.first.locator("h3").inner_text() == "浓烟报警", "the red alert comes first"
    assert "红色（一级）" in cards.first.inner_text(), "the grade is named in text, not colour alone"
    assert "橙色预警：3号楼地下车库水位 52 cm" in page.locator(".official").inner_text()
    local, beside = box(page, "section[aria-labelledby='local-title']"), box(page, ".official")
    assert beside["x"] > local["x"] + local["width"] - 1, "official warnings stand beside on a wide screen"
    axe.check(page, "alert list")
    page.screenshot(path=str(tmp_path / "alert-list-1280.png"), full_page=True)

    page.select_option("#id_grade", "blue")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/alerts/?*grade=blue*")
    assert cards.count() == 1 and cards.first.locator("h3").inner_text() == "设备离线"
    axe.check(page, "alert list filtered")

    page.goto(f"{base_url}/alerts/{red.pk}/")
    axe.check(page, "alert detail")
    with page.expect_navigation():
        page.click("section[aria-labelledby='acknowledge-title'] button[type=submit]")
    assert "告警已确认" in page.locator(".messages").inner_text()
    with page.expect_navigation():
        page.click("#resolve button[type=submit]")
    assert page.locator("#id_note").get_attribute("aria-invalid") == "true"
    assert "处置告警必须填写处置说明" in page.locator("#resolve").inner_text()
    axe.check(page, "alert detail with a resolve error")
    page.fill("#id_note", "现场核实为烧水冒汽，已通风，无人员受伤。")
    with page.expect_navigation():
        page.click("#resolve button[type=submit]")
    assert page.url.split("#")[0] == f"{base_url}/alerts/{red.pk}/"
    assert "告警已处置" in page.locator(".messages").inner_text()
    assert Alert.objects.get(pk=red.pk).status == "resolved"
    assert page.locator(".timeline li").count() == 3
    axe.check(page, "alert detail resolved")

    page.goto(f"{base_url}/alerts/official/{official.pk}/")
    assert page.locator("h1").inner_text() == "橙色预警：3号楼地下车库水位 52 cm"
    axe.check(page, "official warning")
    context.close()

    # A 360 px phone, in normal and in elder mode: the sections stack, nothing scrolls sideways.
    phone = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True)
    page = phone.new_page()
    sign_in(page, base_url, "grid01")
    alert_url = f"{base_url}/alerts/{seeded['alerts']['orange'].pk}/"
    for mode in ("normal", "elder"):
        page.goto(f"{base_url}/alerts/?status=any")
        if mode == "elder":
            click_in_header(page, "form[action='/elder-mode/'] button")
            page.wait_for_url("**/alerts/?status=any")
            assert page.locator("body").get_attribute("class") == "elder"
        local, beside = box(page, "section[aria-labelledby='local-title']"), box(page, ".official")
        assert beside["y"] >= local["y"] + local["height"] - 1, "stacked on a phone"
        for name, url in (("alert list", None), ("alert detail", alert_url), ("official warning", None)):
            if name == "official warning":
                url = f"{base_url}/alerts/official/{official.pk}/"
            if url:
                page.goto(url)
            check_phone_page(page, axe, tmp_path, name, mode)
    phone.close()
    assert_clean(axe, console_errors, tmp_path)


def seed_incidents(grid_worker) -> dict:
    """A red gas and an orange flooding incident in ``grid_worker``'s grid, assigned to them by the
    director, committed so that the server thread sees them."""
    from banyan.people.models import User
    from banyan.places.models import Building
    from banyan.response import services

    director = User.objects.get(username="director")
    building = Building.objects.filter(grid=grid_worker.region).order_by("code").first()
    incidents = {}
    for category in ("gas", "flooding"):
        incident = services.open_incident(
            actor=director, category=category, source="staff", building=building, dispatch_now=False
        )
        incidents[category] = services.act(
            actor=director, incident=incident, move="assign", assignee=grid_worker
        )
    return incidents


def too_small(page, selector: str) -> list[tuple[str, float]]:
    """The buttons matching ``selector`` that are less than 48 px high (touch targets)."""
    heights = page.eval_on_selector_all(
        selector, "nodes => nodes.map(n => [n.textContent.trim(), n.getBoundingClientRect().height])"
    )
    return [(text, height) for text, height in heights if height < 48]


def test_response_pages_phone_flow_staff_pages_and_accessibility(browser, community, tmp_path):
    """A grid worker on a 360 px phone opens their tasks, accepts, arrives (the browser gives its
    position), is refused a resolve without a note, resolves; then in elder mode. A director reads
    the open incidents, an incident's manager steps, the matrix and its cell editor."""
    from banyan.people.models import User
    from banyan.response.models import Incident

    base_url = community
    axe = Axe()
    worker = User.objects.get(username="grid01")
    incidents = seed_incidents(worker)
    flooding = incidents["flooding"]
    # The phone stands at the incidents' building: "on scene" within the radius needs no reason.
    door = flooding.building
    here = {"latitude": round(door.latitude, 4), "longitude": round(door.longitude, 4)}

    console_errors: list[str] = []
    phone = browser.new_context(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        locale="zh-CN",
        permissions=["geolocation"],
        geolocation=here,
    )
    page = phone.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    sign_in(page, base_url, "grid01")
    if page.locator(".menu-toggle").is_visible():  # the phone's collapsed header
        page.click(".menu-toggle")
    follow_first(page, "nav.site-nav a[href='/response/tasks/']", "**/response/tasks/")
    cards = page.locator("ul.task-list li.incident-card")
    assert cards.count() == 2
    assert cards.first.get_attribute("data-incident") == str(incidents["gas"].pk), "red comes first"
    assert cards.first.locator(".grade--red").is_visible()
    assert cards.first.locator("[data-clock='acknowledge']").count() == 1
    scroll_width, inner_width = no_horizontal_scroll(page)
    assert scroll_width <= 360, f"tasks: scrollWidth {scroll_width} at innerWidth {inner_width}"
    assert too_small(page, "ul.task-list h3 a") == []
    # With open tasks, the phone shares its position with dispatch (the page says so).
    page.wait_for_selector("[data-share-position][data-shared='1']", state="attached", timeout=10000)
    from banyan.response.models import Responder

    shared = Responder.objects.get(user=worker)
    assert (round(shared.latitude, 4), round(shared.longitude, 4)) == (here["latitude"], here["longitude"])
    axe.check(page, "my tasks at 360 px")
    page.screenshot(path=str(tmp_path / "tasks-360.png"), full_page=True)

    detail = f"{base_url}/response/incidents/{flooding.pk}/"
    page.goto(detail)
    assert too_small(page, "main .steps button, main .steps summary") == []
    scroll_width, inner_width = no_horizontal_scroll(page)
    assert scroll_width <= 360, f"incident: scrollWidth {scroll_width} at innerWidth {inner_width}"
    axe.check(page, "incident for its assignee at 360 px")
    page.screenshot(path=str(tmp_path / "incident-360.png"), full_page=True)
    with page.expect_navigation():
        page.click("form[action$='/accept/'] button")
    assert page.locator("[data-status]").first.get_attribute("data-status") == "accepted"
    with page.expect_navigation():
        page.click("form#on-scene button[type=submit]")
    arrived = Incident.objects.get(pk=flooding.pk)
    assert arrived.status == "on_scene"
    position = (round(arrived.on_scene_latitude, 4), round(arrived.on_scene_longitude, 4))
    assert position == (here["latitude"], here["longitude"]), "position sent, kept beside the place"
    assert arrived.latitude is None and arrived.building_id == flooding.building_id, "the place unchanged"
    with page.expect_navigation():
        page.click("#resolve button[type=submit]")
    assert page.locator("#id_resolve_note").get_attribute("aria-invalid") == "true"
    axe.check(page, "incident with a resolve error at 360 px")
    page.fill("#id_resolve_note", "疏通地漏，积水已排净，无人受伤。")
    page.set_input_files(
        "#id_resolve_photos", files=[{"name": "drain.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}]
    )
    with page.expect_navigation():
        page.click("#resolve button[type=submit]")
    assert Incident.objects.get(pk=flooding.pk).status == "resolved"
    assert page.locator(".timeline li[data-kind='resolve']").count() == 1
    photo = page.locator(".photo-grid img")
    assert photo.count() == 1
    photo.scroll_into_view_if_needed()  # a lazy image below the fold loads once it is seen
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=photo.element_handle(), timeout=15000
    )
    axe.check(page, "incident resolved at 360 px")

    page.goto(f"{base_url}/response/tasks/")
    if page.locator(".menu-toggle").is_visible():
        page.click(".menu-toggle")
    click_in_header(page, "form[action='/elder-mode/'] button")
    page.wait_for_url("**/response/tasks/")
    assert "elder" in (page.locator("body").get_attribute("class") or "")
    for name, url in (
        ("my tasks", f"{base_url}/response/tasks/"),
        ("incident", f"{base_url}/response/incidents/{incidents['gas'].pk}/"),
    ):
        page.goto(url)
        assert too_small(page, "main button, main summary") == []
        check_phone_page(page, axe, tmp_path, name, "elder")
    phone.close()

    # The director: open incidents by clock, an incident's manager steps, the matrix and a cell.
    context, page = desktop(browser, console_errors)
    sign_in(page, base_url, "director")
    follow_first(page, "nav.site-nav a[href='/response/incidents/']", "**/response/incidents/")
    assert page.locator("li.incident-card").count() >= 1
    axe.check(page, "incident list")
    page.select_option("#id_grade", "red")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/response/incidents/?*grade=red*")
    assert page.locator(f"li.incident-card[data-incident='{incidents['gas'].pk}']").count() == 1
    axe.check(page, "incident list filtered")
    page.goto(f"{base_url}/response/incidents/{incidents['gas'].pk}/")
    page.click("#hand-over summary")
    page.click("#cancel summary")
    axe.check(page, "incident for a manager")
    page.goto(f"{base_url}/response/matrix/")
    axe.check(page, "matrix")
    page.goto(f"{base_url}/response/matrix/cell/?category=gas&region={worker.region.code}")
    axe.check(page, "matrix cell")
    context.close()

    phone = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True)
    page = phone.new_page()
    sign_in(page, base_url, "director")
    for mode in ("normal", "elder"):
        page.goto(f"{base_url}/response/incidents/")
        if mode == "elder":
            if page.locator(".menu-toggle").is_visible():
                page.click(".menu-toggle")
            click_in_header(page, "form[action='/elder-mode/'] button")
            page.wait_for_url("**/response/incidents/")
            assert "elder" in (page.locator("body").get_attribute("class") or "")
        for name, path in (
            ("incident list", "/response/incidents/"),
            ("incident for a manager", f"/response/incidents/{incidents['gas'].pk}/"),
            ("matrix", "/response/matrix/"),
            ("matrix cell", f"/response/matrix/cell/?category=gas&region={worker.region.code}"),
        ):
            page.goto(base_url + path)
            check_phone_page(page, axe, tmp_path, name, mode)
    phone.close()
    assert_clean(axe, console_errors, tmp_path)


def test_a_new_task_appears_live_on_the_responders_phone(browser, community, tmp_path):
    """grid01 keeps "My tasks" open on a phone; the director assigns a red incident to them; the
    notification arrives over Server-Sent Events without a reload and links to the incident."""
    from banyan.people.models import User

    base_url = community
    axe = Axe()
    worker = User.objects.get(username="grid01")
    console_errors: list[str] = []
    phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, locale="en-GB")
    page = phone.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    sign_in(page, base_url, "grid01")
    page.goto(f"{base_url}/response/tasks/")
    live = page.locator("[data-live-notifications]")
    assert live.is_hidden()
    page.wait_for_selector("[data-live-notifications][data-live-state='open']", state="attached")

    incidents = seed_incidents(worker)  # committed: the stream sees the notifications
    gas = incidents["gas"]
    link = page.locator(f"[data-live-notifications] a[href='/response/incidents/{gas.pk}/']")
    link.wait_for(state="visible", timeout=15000)
    assert page.locator(".live-item--urgent").count() >= 1, "a red incident is urgent"
    # the list under the notice shows the task too, without a reload, with its buttons
    card = page.locator(f"[data-live-list='tasks'] a[href='/response/incidents/{gas.pk}/']")
    card.first.wait_for(state="visible", timeout=15000)
    assert page.locator("[data-live-list='tasks'] form[action$='/accept/']").count() >= 1
    scroll_width, inner_width = no_horizontal_scroll(page)
    assert scroll_width <= 360, f"tasks: scrollWidth {scroll_width} at innerWidth {inner_width}"
    axe.check(page, "my tasks with a live notification at 360 px")
    page.screenshot(path=str(tmp_path / "tasks-live-360.png"), full_page=True)
    with page.expect_navigation():
        link.click()
    assert page.url.endswith(f"/response/incidents/{gas.pk}/")
    phone.close()
    assert_clean(axe, console_errors, tmp_path)


def jpeg_bytes() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 90, 160)).save(out, "JPEG")
    return out.getvalue()


def test_resident_reports_a_problem_on_a_phone_and_rates_it(browser, community, tmp_path):
    """A resident on a 360 px phone reports flooding at home with a photo: the check step shows an
    open flooding incident in their building, they submit anyway; a file that is not a picture is
    refused at the field; once the incident is closed they rate it. Then the pages in elder mode."""
    from banyan.people.models import User
    from banyan.response import services
    from banyan.response.models import Incident, Report

    base_url = community
    axe = Axe()
    resident = User.objects.get(username="resident01")
    home = resident.resident.household.unit
    earlier = services.open_incident(
        actor=User.objects.get(username="director"),
        category="flooding",
        source="staff",
        building=home.building,
        dispatch_now=False,
    )

    console_errors: list[str] = []
    phone = browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, locale="zh-CN"
    )
    page = phone.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    sign_in(page, base_url, "resident01")
    follow_first(page, "nav.site-nav a[href='/reports/new/']", "**/reports/new/")
    assert page.locator("#id_place_0").is_checked(), "my home is the default place"
    assert too_small(page, "main label.choice, main button") == []
    check_phone_page(page, axe, tmp_path, "report a problem", "normal")

    # The map draws the community; tapping it fills in the spot and chooses "a spot on the map".
    assert page.locator("#place-map path.leaflet-interactive").count() >= 1, "building footprints"
    page.locator("#place-map").scroll_into_view_if_needed()
    page.locator("#place-map").click(position={"x": 150, "y": 120})
    assert page.locator("input[name=place][value=map]").is_checked()
    latitude = float(page.input_value("#id_latitude"))
    assert abs(latitude - home.building.latitude) < 0.05 and page.input_value("#id_longitude")
    assert page.locator("#place-map path[stroke='#a4161a']").count() == 1, "the spot is marked"
    page.check("#id_place_0")  # back to "my home" for this report

    # A file that is not a picture: refused at the photo field, nothing filed.
    page.click("label.choice:has(input[value='flooding'])")
    page.set_input_files("#id_photo", files=[{"name": "a.jpg", "mimeType": "image/jpeg", "buffer": b"no"}])
    with page.expect_navigation():
        page.click("form.report-form button[type=submit]")
    assert page.locator("#id_photo").get_attribute("aria-invalid") == "true"
    assert not Report.objects.filter(reporter=resident).exists()
    check_phone_page(page, axe, tmp_path, "report with a photo error", "normal")

    page.fill("#id_description", "楼道积水，快漫进家门了。")
    page.set_input_files(
        "#id_photo", files=[{"name": "p.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes()}]
    )
    with page.expect_navigation():
        page.click("form.report-form button[type=submit]")
    assert page.locator("#duplicates-title").is_visible()
    assert not Report.objects.filter(reporter=resident).exists()
    check_phone_page(page, axe, tmp_path, "report duplicates", "normal")
    with page.expect_navigation():
        page.click("form.report-form button[type=submit]")
    report = Report.objects.get(reporter=resident)
    assert report.incident_id != earlier.pk and report.photo_type == "image/jpeg"
    assert page.url.endswith(f"/reports/{report.pk}/")
    assert page.locator("[data-responsible]").is_visible()
    check_phone_page(page, axe, tmp_path, "my report", "normal")

    follow_first(page, "nav.site-nav a[href='/reports/']", "**/reports/")
    assert page.locator("li.report-card").count() == 1
    check_phone_page(page, axe, tmp_path, "my reports", "normal")

    Incident.objects.filter(pk=report.incident_id).update(status="closed")
    page.goto(f"{base_url}/reports/{report.pk}/")
    assert too_small(page, "#rate label.choice, #rate button") == []
    check_phone_page(page, axe, tmp_path, "my closed report", "normal")
    page.click("#rate label.choice:has(input[value='5'])")
    page.fill("#id_rating_comment", "很快就处理好了。")
    with page.expect_navigation():
        page.click("#rate button[type=submit]")
    assert Report.objects.get(pk=report.pk).rating == 5
    assert page.locator("[data-rating='5']").is_visible()

    click_in_header(page, "form[action='/elder-mode/'] button")
    page.wait_for_url(f"**/reports/{report.pk}/")
    assert page.locator("body").get_attribute("class") == "elder"
    for name, path in (
        ("report a problem", "/reports/new/"),
        ("my reports", "/reports/"),
        ("my rated report", f"/reports/{report.pk}/"),
    ):
        page.goto(base_url + path)
        assert too_small(page, "main button, main label.choice, main .report-card h2 a") == []
        check_phone_page(page, axe, tmp_path, name, "elder")
    phone.close()
    assert_clean(axe, console_errors, tmp_path)
