"""The cockpit in Debian's Chromium, served by uvicorn: a red alert published on MQTT (as ``banyan
ingest`` publishes it) reaches the page through the bus bridge and the live stream, flashes, opens
its panel, and is dispatched in one click; the stream reconnects after a server restart and catches
up; drill-down from the list, a building on the map and a key figure; the street view; both layouts,
both themes, a phone, with axe-core. Screenshots are saved under the test's tmp_path (and the
English wall-screen one under docs/images/ when BANYAN_SCREENSHOTS=1)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from banyan.tests_browser.support import Axe, assert_clean, no_horizontal_scroll, seed_care_plans, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def red_alert_at_home(community_code: str):
    """A red gas alert on a gas detector in someone's home, committed (the server sees it)."""
    from banyan.core import clock
    from banyan.sensing.models import Device
    from banyan.warning.models import Alert, Rule

    now = clock.now()
    used = Alert.objects.values_list("device_id", flat=True)
    device = (
        Device.objects.filter(community__code=community_code, kind="combustible_gas", unit__isnull=False)
        .exclude(pk__in=used)
        .order_by("code")
        .first()
    )
    rule = Rule.objects.get(community=device.community, name__startswith="燃气泄漏")
    return Alert.objects.create(
        rule=rule,
        subject=device.code,
        community=device.community,
        grid=device.grid,
        device=device,
        grade="red",
        status="open",
        raised_at=now,
        updated_at=now,
        reading_at=now - dt.timedelta(seconds=1),
    )


def publish_event(port: int, community: str, event: str, payload: dict) -> None:
    """Publish an event on MQTT the way ``banyan ingest`` does (no origin; signed with the bus key)."""
    import asyncio
    import threading

    from mqttium.api import AsyncClient

    from banyan.core.mqtt import service_login, signed_event

    async def send() -> None:
        client = AsyncClient("banyan-test-ingest-events", clean_start=True, **service_login("ingest"))
        await client.connect("127.0.0.1", port)
        body = signed_event(f"banyan/{community}/events/{event}", {"event": event, **payload})
        receipt = await client.publish(f"banyan/{community}/events/{event}", body, qos=1)
        await receipt.wait()
        await client.disconnect()

    # Playwright's sync API holds an event loop in this thread: send from another.
    worker = threading.Thread(target=asyncio.run, args=(send(),))
    worker.start()
    worker.join(10)


@pytest.fixture
def bridge(mosquitto):
    from banyan.core.bus_mqtt import MqttBridge

    _process, port = mosquitto
    running = MqttBridge(f"mqtt://127.0.0.1:{port}", origin="test-server").start()
    assert running.connected.wait(10)
    yield port
    running.stop()


def open_cockpit(browser, base_url: str, *, width: int, height: int, locale: str, errors: list[str]):
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, base_url, "director")
    page.goto(f"{base_url}/cockpit/")
    page.wait_for_selector(
        "#cockpit[data-ready='1'][data-live-state='live']", state="attached", timeout=20000
    )
    return context, page


def test_the_live_path_dispatch_reconnection_and_drill_down(
    browser, community, asgi_server, bridge, tmp_path
):
    from banyan.places.models import Region
    from banyan.response.models import Incident, Responder, Shift

    base_url = community
    code = Region.objects.filter(kind="community").order_by("code").first().code
    now = dt.datetime.now(tz=dt.UTC)
    for responder in Responder.objects.all():  # everyone on duty now, whatever the seed's roster says
        Shift.objects.create(
            responder=responder, starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(hours=8)
        )
    axe, errors = Axe(), []
    context, page = open_cockpit(browser, base_url, width=1920, height=1080, locale="en-GB", errors=errors)
    assert page.locator("[data-list=alerts] li.empty").count() == 1
    page.wait_for_function(
        "() => document.querySelector('[data-kpi=incidents] .kpi-value').textContent !== '–'"
    )
    axe.check(page, "cockpit 1920×1080 dark")
    page.screenshot(path=str(tmp_path / "cockpit-1920-dark.png"))

    # The live path: the alert is stored, its event goes out on MQTT as ingest sends it.
    alert = red_alert_at_home(code)
    sent = dt.datetime.now(tz=dt.UTC).timestamp()
    publish_event(bridge, code, "alert.raised", {"id": alert.pk, "community": code, "grade": "red"})
    row = page.locator(f"[data-list=alerts] li[data-alert='{alert.pk}']")
    row.wait_for(timeout=10000)
    seen = page.evaluate(f"() => window.banyanCockpit.seen[{alert.pk}]") / 1000
    assert seen - sent < 5, f"the alert took {seen - sent:.2f} s to show"
    assert page.locator(".alert-marker--red.alert-marker--flash").count() == 1, "a new red alert flashes"
    panel = page.locator("#alert-panel")
    panel.wait_for(state="visible", timeout=10000)
    assert "Combustible gas" in page.inner_text("#alert-panel-title")
    assert page.locator("#alert-panel .panel-care").is_visible()
    buttons = page.locator("#alert-panel [data-dispatch]")
    assert buttons.count() >= 1
    axe.check(page, "cockpit with an alert panel")
    page.screenshot(path=str(tmp_path / "cockpit-1920-alert.png"))
    if os.environ.get("BANYAN_SCREENSHOTS") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "cockpit-1920-alert.png", DOCS_IMAGES / "cockpit.png")

    # One click: the incident is opened from the rule's category and assigned.
    chosen = int(buttons.first.get_attribute("data-dispatch"))
    buttons.first.click()
    page.wait_for_function("() => document.querySelector('[data-panel-message]').textContent.length > 0")
    incident = Incident.objects.get(alert=alert)
    assert (incident.assignee_id, incident.status, incident.category.code) == (
        chosen,
        "assigned",
        "gas",
    )
    page.locator(f"[data-list=incidents] li[data-incident='{incident.pk}']").wait_for(timeout=10000)

    # The server restarts; meanwhile another alert is raised; the page reconnects and catches up.
    asgi_server.stop()
    before_outage = len(errors)
    page.wait_for_selector("#cockpit[data-live-state='reconnecting']", state="attached", timeout=15000)
    missed = red_alert_at_home(code)
    asgi_server.start()
    page.wait_for_selector("#cockpit[data-live-state='live']", state="attached", timeout=20000)
    # While the server was away the browser logged its failed reconnects; nothing else.
    outage = errors[before_outage:]
    expected = ("ERR_CONNECTION_REFUSED", "ERR_INCOMPLETE_CHUNKED_ENCODING")
    assert all(any(reason in e for reason in expected) for e in outage), outage
    del errors[before_outage:]
    page.locator(f"[data-list=alerts] li[data-alert='{missed.pk}']").wait_for(timeout=10000)
    assert page.evaluate("() => window.banyanCockpit.states") >= 2

    # Drill-down: a building on the map opens its units (counts only), an alert opens its page.
    building = alert.device.unit.building
    x, y = page.evaluate(
        """([lat, lon]) => {
            const map = window.banyanCockpit.map;
            map.setView([lat, lon], 19, {animate: false});
            const p = map.latLngToContainerPoint([lat, lon]);
            const box = document.getElementById('cockpit-map').getBoundingClientRect();
            return [box.left + p.x + 28, box.top + p.y + 18];  // beside the alert marker on its centre
        }""",
        [building.latitude, building.longitude],
    )
    page.wait_for_timeout(300)
    page.mouse.click(x, y)
    page.locator("#building-panel").wait_for(state="visible", timeout=10000)
    assert page.inner_text("#building-panel-title") == building.name
    assert page.locator("#building-panel tbody tr").count() == building.units.count()
    axe.check(page, "cockpit with a building panel")
    # A device on the map (a crowd counter at a plaza) opens its panel: kind, status, its alerts.
    from banyan.sensing.models import Device

    counter = Device.objects.filter(community__code=code, kind="crowd_counter").order_by("code").first()
    facility = counter.facility
    x, y = page.evaluate(
        """([lat, lon]) => {
            const map = window.banyanCockpit.map;
            map.setView([lat, lon], 19, {animate: false});
            const p = map.latLngToContainerPoint([lat, lon]);
            const box = document.getElementById('cockpit-map').getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }""",
        [facility.latitude, facility.longitude],
    )
    page.wait_for_timeout(300)
    page.mouse.click(x, y)
    page.locator("#device-panel").wait_for(state="visible", timeout=10000)
    assert page.inner_text("#device-panel-title").startswith(counter.code)
    axe.check(page, "cockpit with a device panel")
    page.click("[data-kpi=alerts]")
    page.wait_for_url("**/alerts/")
    page.go_back()
    page.wait_for_selector("#cockpit[data-ready='1']", state="attached", timeout=20000)
    page.locator(f"[data-list=alerts] li[data-alert='{alert.pk}'] button").click()
    page.locator("#alert-panel").wait_for(state="visible")
    with page.expect_navigation():
        page.click(f"#alert-panel a[href='/alerts/{alert.pk}/']")
    assert page.url.endswith(f"/alerts/{alert.pk}/")
    context.close()
    assert_clean(axe, errors, tmp_path)


def test_layouts_themes_phone_and_the_street_view(browser, community, tmp_path):
    base_url = community
    plans = seed_care_plans()  # three of four missed today, one confirmed well
    axe, errors = Axe(), []
    context, page = open_cockpit(browser, base_url, width=1366, height=768, locale="zh-CN", errors=errors)
    page.wait_for_function(
        "() => document.querySelector('[data-kpi=incidents] .kpi-value').textContent !== '–'"
    )
    assert page.locator("[data-kpi=care_today] .kpi-value").inner_text() == f"1 / {len(plans)}"
    care = page.locator("[data-care-today-section]")
    care.scroll_into_view_if_needed()
    assert care.locator("[data-care-today-missed] tbody tr").count() == len(plans) - 1
    assert "逾期未报" in care.locator("[data-care-today-missed]").inner_text()
    link = care.locator("[data-care-today-link] a")
    assert link.is_visible() and link.inner_text() == "派人上门"
    assert "风险研判" in page.inner_text("[data-risks]") and page.locator("[data-risk-kind]").count() == 5
    scroll_width, inner_width = no_horizontal_scroll(page)
    assert scroll_width <= inner_width, "the laptop layout does not scroll sideways"
    map_box = page.locator("#cockpit-map").bounding_box()
    side_box = page.locator(".cockpit-side").bounding_box()
    assert map_box["x"] + map_box["width"] <= side_box["x"], "map and figures side by side"
    axe.check(page, "cockpit 1366×768 dark (zh)")
    page.screenshot(path=str(tmp_path / "cockpit-1366-dark.png"))
    page.click("[data-theme-toggle]")
    assert page.get_attribute("body", "data-theme") == "light"
    axe.check(page, "cockpit 1366×768 light")
    page.screenshot(path=str(tmp_path / "cockpit-1366-light.png"))
    context.close()

    phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, locale="en-GB")
    page = phone.new_page()
    sign_in(page, base_url, "director")
    page.goto(f"{base_url}/cockpit/")
    page.wait_for_selector("#cockpit[data-ready='1']", state="attached", timeout=20000)
    scroll_width, _ = no_horizontal_scroll(page)
    assert scroll_width <= 360
    axe.check(page, "cockpit at 360 px")
    phone.close()

    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="en-GB")
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    sign_in(page, base_url, "street01")
    page.goto(f"{base_url}/cockpit/street/")
    page.wait_for_selector("#street[data-ready='1']", state="attached", timeout=20000)
    from banyan.places.models import Region

    communities = Region.objects.filter(kind="community").count()
    assert page.locator("[data-communities] tbody tr").count() == communities
    axe.check(page, "street view")
    page.screenshot(path=str(tmp_path / "street-1920.png"))
    first = page.locator("[data-communities] tbody tr a").first
    with page.expect_navigation():
        first.click()
    assert "/cockpit/?community=" in page.url
    context.close()
    assert_clean(axe, errors, tmp_path)
