"""Issue 10 in Debian's Chromium: the cockpit's stored XSS (finding 1) and the strict Content-Security-
Policy on the pages that run scripts.

* A director names a rule ``<img src=x onerror=…>``; an alert of that rule is on the cockpit's map; a
  street officer hovers its marker: the tooltip shows the name as literal text, no ``<img>`` is made
  and nothing runs (Leaflet used to insert the name as HTML).
* The sign-in page, the cockpit, the street view, the report form's map, the task list and the API
  docs (Swagger UI, served from Banyan's own static files) work under the policy: each carries the
  header, draws what it should, and the browser reports no ``securitypolicyviolation`` and no
  console error.
"""

from __future__ import annotations

import pytest

from banyan.tests_browser.support import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAYLOAD = "<img src=x onerror=\"window.__pwned=1;fetch('/api/v1/residents')\">"

# Installed before any page script runs (through the DevTools protocol, which the page's policy does not
# govern): every violation the browser reports is kept in window.__cspViolations.
WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI + " " + event.sourceFile
    + ":" + event.lineNumber);
});
"""


def new_page(browser, errors: list[str], *, locale: str = "en-GB", width: int = 1366, height: int = 900):
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale)
    context.add_init_script(WATCH_VIOLATIONS)
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page


def violations(page) -> list[str]:
    return page.evaluate("() => window.__cspViolations")


def assert_policy_header(response, where: str) -> None:
    header = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in header, f"{where}: {header!r}"
    assert "unsafe-inline" not in header.split("script-src")[1].split(";")[0], where
    assert "unsafe-eval" not in header, where


def alert_of_a_rule_named(name: str):
    """A red alert on a gas detector at home, of a new rule (a copy of the seeded gas rule) named ``name``."""
    import datetime as dt

    from banyan.core import clock
    from banyan.places.models import Region
    from banyan.sensing.models import Device
    from banyan.warning.models import Alert, Rule

    community = Region.objects.filter(kind="community").order_by("code").first()
    device = (
        Device.objects.filter(community=community, kind="combustible_gas", unit__isnull=False)
        .order_by("code")
        .first()
    )
    rule = Rule.objects.get(community=community, name__startswith="燃气泄漏")
    rule.pk = None
    rule.name = rule.name_en = name  # the page shows one or the other by its language
    rule.save()
    now = clock.now()
    return Alert.objects.create(
        rule=rule,
        subject=device.code,
        community=community,
        grid=device.grid,
        device=device,
        grade="red",
        status="open",
        raised_at=now,
        updated_at=now,
        reading_at=now - dt.timedelta(seconds=1),
    )


def test_a_rule_named_as_markup_is_shown_as_text_on_the_cockpit(browser, community):
    base_url = community
    alert = alert_of_a_rule_named(PAYLOAD)
    building = alert.device.unit.building
    errors: list[str] = []
    context, page = new_page(browser, errors, width=1920, height=1080)
    sign_in(page, base_url, "street01")
    page.goto(f"{base_url}/cockpit/")
    page.wait_for_selector("#cockpit[data-ready='1']", state="attached", timeout=20000)
    page.locator(f"[data-list=alerts] li[data-alert='{alert.pk}']").wait_for(timeout=10000)

    # Hover the alert's marker (at its building's centre).
    x, y = page.evaluate(
        """([lat, lon]) => {
            const map = window.banyanCockpit.map;
            map.setView([lat, lon], 19, {animate: false});
            const p = map.latLngToContainerPoint([lat, lon]);
            const box = document.getElementById('cockpit-map').getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }""",
        [building.latitude, building.longitude],
    )
    page.wait_for_timeout(300)  # let Leaflet settle after the jump before the pointer arrives
    page.mouse.move(x, y, steps=5)
    page.locator(".leaflet-marker-icon.alert-marker").first.hover()
    # The alert marker's tooltip (the building's may show on the way, while the pointer crosses it).
    handle = page.wait_for_function(
        """(building) => Array.from(document.querySelectorAll('.leaflet-tooltip'))
            .find((tip) => !tip.textContent.startsWith(building))""",
        arg=f"{building.name} · ",
        timeout=10000,
    )
    text = handle.evaluate("(tip) => tip.textContent")
    assert text.startswith(PAYLOAD), text
    assert page.locator(".leaflet-tooltip img, #cockpit-map img[src='x']").count() == 0, "no <img> was made"
    # The same name in the list and in the alert's panel: text too.
    page.locator(f"[data-list=alerts] li[data-alert='{alert.pk}'] button").click()
    page.locator("#alert-panel").wait_for(state="visible")
    assert page.inner_text("#alert-panel-title") == PAYLOAD
    assert page.locator("#cockpit img").count() == 0
    page.wait_for_timeout(500)  # an <img src=x> would have failed to load and fired onerror by now
    assert page.evaluate("() => window.__pwned") is None, "the rule's name ran as a script"
    assert violations(page) == []
    assert errors == [], errors
    context.close()


def test_pages_with_scripts_run_under_the_policy_without_a_violation(browser, community):
    base_url = community
    errors: list[str] = []
    seen: dict[str, list[str]] = {}

    # Signing in, anonymous.
    context, page = new_page(browser, errors)
    assert_policy_header(page.goto(f"{base_url}/login/"), "/login/")
    sign_in(page, base_url, "director")
    seen["login"] = violations(page)

    # The cockpit: map, live stream, figures (ECharts).
    assert_policy_header(page.goto(f"{base_url}/cockpit/"), "/cockpit/")
    page.wait_for_selector(
        "#cockpit[data-ready='1'][data-live-state='live']", state="attached", timeout=20000
    )
    page.wait_for_function(
        "() => document.querySelector('[data-kpi=incidents] .kpi-value').textContent !== '–'"
    )
    page.wait_for_selector("[data-chart=by-grade] svg", timeout=10000)
    assert page.locator("#cockpit-map canvas").count() >= 1, "the map is drawn (on a canvas)"
    box = page.locator("#cockpit-map").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=5)
    page.wait_for_timeout(300)
    seen["cockpit"] = violations(page)

    # The API docs: Swagger UI from Banyan's own static files, signed-in staff only.
    docs = page.goto(f"{base_url}/api/v1/docs")
    assert_policy_header(docs, "/api/v1/docs")
    page.wait_for_selector("#swagger-ui .opblock", timeout=20000)
    assert "Banyan API" in page.inner_text("#swagger-ui")
    requested = page.evaluate("() => performance.getEntriesByType('resource').map(e => e.name)")
    assert all(url.startswith(base_url) for url in requested), requested
    seen["api docs"] = violations(page)
    context.close()

    context, page = new_page(browser, errors, width=1920, height=1080)
    sign_in(page, base_url, "street01")
    assert_policy_header(page.goto(f"{base_url}/cockpit/street/"), "/cockpit/street/")
    page.wait_for_selector("#street[data-ready='1']", state="attached", timeout=20000)
    seen["street view"] = violations(page)
    context.close()

    # A resident's report form with its map (the place picker).
    context, page = new_page(browser, errors, locale="zh-CN", width=360, height=740)
    sign_in(page, base_url, "resident01")
    assert_policy_header(page.goto(f"{base_url}/reports/new/"), "/reports/new/")
    page.wait_for_selector("#place-map path.leaflet-interactive", timeout=10000)
    page.locator("#place-map").scroll_into_view_if_needed()
    page.locator("#place-map").click(position={"x": 150, "y": 120})
    assert page.input_value("#id_latitude")
    seen["report form"] = violations(page)
    context.close()

    # A responder's task list (live notifications over SSE).
    context, page = new_page(browser, errors, locale="zh-CN", width=360, height=740)
    sign_in(page, base_url, "grid01")
    assert_policy_header(page.goto(f"{base_url}/response/tasks/"), "/response/tasks/")
    page.wait_for_selector(
        "[data-live-notifications][data-live-state='open']", state="attached", timeout=10000
    )
    seen["task list"] = violations(page)
    context.close()

    assert {name: found for name, found in seen.items() if found} == {}
    assert errors == [], errors
