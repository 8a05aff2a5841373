"""Each role's main page on a 1366×768 laptop and a 360×740 phone, in Chinese: it opens, nothing
scrolls sideways on the phone, axe-core finds nothing serious, and a screenshot is saved.

The screenshots go to the test's folder, or to ``BANYAN_SCREENSHOTS`` when it is set:
``make screenshots`` writes them to ``docs/images/roles/``, which ``docs/roles.md`` and the README show.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from banyan.tests_browser.support import Axe, assert_clean, no_horizontal_scroll, sign_in

# (account, its main page, the name of the screenshot)
MAIN_PAGES = [
    ("resident01", "/", "resident-home"),
    ("grid01", "/response/tasks/", "grid-worker-tasks"),
    ("director", "/cockpit/", "director-cockpit"),
    ("director", "/response/metrics/", "director-metrics"),
    ("street01", "/cockpit/street/", "street-officer-street"),
    ("property01", "/response/incidents/", "property-incidents"),
    ("volunteer01", "/response/tasks/", "volunteer-tasks"),
    ("auditor", "/audit/", "auditor-audit-log"),
    ("admin", "/people/users/", "admin-users"),
]
SIZES = {"1366": {"width": 1366, "height": 768}, "360": {"width": 360, "height": 740}}


@pytest.fixture
def folder(tmp_path) -> Path:
    chosen = os.environ.get("BANYAN_SCREENSHOTS")
    path = Path(chosen) if chosen else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.parametrize("size", sorted(SIZES))
def test_each_roles_main_page(browser, community, folder, tmp_path, size):
    base_url = community
    axe = Axe()
    console_errors: list[str] = []
    signed_in_as = None
    context = browser.new_context(viewport=SIZES[size], locale="zh-CN", is_mobile=size == "360")
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    for username, path, name in MAIN_PAGES:
        if username != signed_in_as:
            context.clear_cookies()
            sign_in(page, base_url, username)
            signed_in_as = username
        response = page.goto(base_url + path)
        assert response.status == 200, f"{name}: {response.status}"
        page.wait_for_load_state()
        if path == "/cockpit/":  # the screen draws itself from its first state
            page.wait_for_selector("#cockpit[data-ready='1']", state="attached", timeout=20000)
        if size == "360":
            scroll_width, inner_width = no_horizontal_scroll(page)
            assert scroll_width <= 360, f"{name}: scrollWidth {scroll_width} at innerWidth {inner_width}"
        axe.check(page, f"{name} at {size} px")
        page.screenshot(path=str(folder / f"{name}-{size}.png"))
    context.close()
    assert_clean(axe, console_errors, tmp_path)
