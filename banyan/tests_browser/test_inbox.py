"""The header's bell and the urgent bar, live: the director keeps the incident list open; an urgent
notification about a new incident arrives over Server-Sent Events; without a reload the bell counts
it, the urgent bar pins it, and the list shows the incident. On a phone the header folds its menu."""

from __future__ import annotations

from banyan.tests_browser.support import Axe, assert_clean, check_phone_page, click_in_header, sign_in


def open_escalated_incident():
    """A red incident in G01 and the urgent notification the director gets when nobody accepts it,
    committed so that the server's stream and the refreshed list see them."""
    from banyan.notify.services import notify
    from banyan.people.models import User
    from banyan.places.models import Building
    from banyan.response import services

    director = User.objects.get(username="director")
    worker = User.objects.get(username="grid01")
    building = Building.objects.filter(grid=worker.region).order_by("code").first()
    incident = services.open_incident(
        actor=director, category="gas", source="staff", building=building, dispatch_now=False
    )
    notify(
        [director],
        "incident.escalated",
        "Gas smell not accepted in time",
        "Nobody accepted it within 30 s.",
        urgency="urgent",
        reference=("incident", incident.pk),
    )
    return incident


def test_an_urgent_notice_rings_the_bell_and_the_list_shows_it_live(browser, community, tmp_path):
    base_url = community
    axe = Axe()
    console_errors: list[str] = []
    laptop = browser.new_context(viewport={"width": 1366, "height": 768}, locale="en-GB")
    page = laptop.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    sign_in(page, base_url, "director")
    page.goto(f"{base_url}/response/incidents/")
    page.wait_for_selector("a[data-bell][data-live-state='open']", state="attached", timeout=15000)
    before = int(page.get_attribute("a[data-bell]", "data-unread"))
    assert page.locator("[data-urgent-bar]").is_hidden()

    incident = open_escalated_incident()

    link = f"a[href='/response/incidents/{incident.pk}/']"
    page.wait_for_selector(f"[data-urgent-bar] {link}", state="visible", timeout=15000)
    assert int(page.get_attribute("a[data-bell]", "data-unread")) == before + 1
    assert page.locator("[data-bell-count]").inner_text() == str(before + 1)
    page.wait_for_selector(f"[data-live-list='incidents'] {link}", state="visible", timeout=15000)
    assert page.get_attribute("[data-live-list='incidents']", "data-refreshed") is not None
    axe.check(page, "incident list with an urgent notice at 1366 px")
    page.screenshot(path=str(tmp_path / "urgent-bar-1366.png"))

    with page.expect_navigation():
        page.click("[data-urgent-bar] button[type=submit]")
    assert page.locator("[data-urgent-bar]").is_hidden()
    assert int(page.get_attribute("a[data-bell]", "data-unread")) == before
    laptop.close()
    assert_clean(axe, console_errors, tmp_path)


def test_the_phone_header_is_one_line_and_its_menu_opens(browser, community, tmp_path):
    base_url = community
    axe = Axe()
    console_errors: list[str] = []
    phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, locale="zh-CN")
    page = phone.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    sign_in(page, base_url, "resident01")
    for mode in ("normal", "elder"):
        if mode == "elder":
            page.click(".menu-toggle")
            with page.expect_navigation():
                click_in_header(page, "form[action='/elder-mode/'] button")
        page.goto(f"{base_url}/notify/")
        header = page.locator(".site-header").bounding_box()
        assert header["height"] <= 740 * 0.15, f"{mode}: the header is {header['height']} px high"
        assert page.locator(".site-nav").is_hidden()
        page.click(".menu-toggle")
        assert page.get_attribute(".menu-toggle", "aria-expanded") == "true"
        assert page.locator(".site-nav").is_visible()
        check_phone_page(page, axe, tmp_path, "inbox", mode)
        page.click(".menu-toggle")
        assert page.locator(".site-nav").is_hidden()
    phone.close()
    assert_clean(axe, console_errors, tmp_path)
