"""What the browser tests share: Chromium's flags, axe-core, signing in, the 360 px checks, seeding
the demo community when a transactional test before flushed it."""

from __future__ import annotations

import json
from pathlib import Path

from banyan.conftest import DEMO_PASSWORD, SEED, SEED_RESIDENTS

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
BLOCKING_IMPACTS = {"serious", "critical"}


def ensure_seeded() -> None:
    """Seed the demo community if a transactional test before this one flushed it."""
    from banyan.people.models import User

    if not User.objects.filter(username="director").exists():
        from django.apps import apps

        from banyan.response.catalogue import load
        from banyan.sim.services import seed_community

        load(apps, None)  # the incident catalogue comes from a data migration, which a flush wipes
        seed_community(residents=SEED_RESIDENTS, seed=SEED, demo_password=DEMO_PASSWORD)


class Axe:
    """Runs axe-core on a page and keeps the serious and critical violations by page name."""

    def __init__(self) -> None:
        self.problems: dict[str, list[dict]] = {}
        self.checked: list[str] = []

    def check(self, page, name: str) -> None:
        # Pages run under a strict Content-Security-Policy: an inline <script> (add_script_tag) would be
        # refused, so axe-core is evaluated through the DevTools protocol, which the policy does not govern.
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(AXE.read_text(encoding="utf-8"))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        self.checked.append(name)
        blocking = [
            {
                "id": violation["id"],
                "impact": violation["impact"],
                "help": violation["help"],
                "targets": [node["target"] for node in violation["nodes"]][:5],
            }
            for violation in result["violations"]
            if violation["impact"] in BLOCKING_IMPACTS
        ]
        if blocking:
            self.problems[name] = blocking

    def report(self) -> str:
        return json.dumps(self.problems, ensure_ascii=False, indent=2)


def desktop(browser, console_errors: list[str]):
    """A 1280 px page in Chinese whose console errors are collected in ``console_errors``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    return context, page


def sign_in(page, base_url: str, username: str = "director") -> None:
    """Sign in through the pages: the password, then, for an account that needs one, the second factor
    with the current code of the account's real TOTP device (banyan.conftest.second_factor_device)."""
    from banyan.people import otp
    from banyan.people.models import User

    user = User.objects.get(username=username)
    device = None
    if user.role in otp.required_roles() or otp.has_device(user):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from banyan.conftest import second_factor_device

        device = second_factor_device(user)
        # A code is accepted once (replay protection): a test signing the same account in twice within
        # one 30-second step starts each sign-in as if the code had not been used yet.
        TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
        device.refresh_from_db()
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    if device is not None:
        from banyan.conftest import totp_code

        page.wait_for_url("**/otp/verify/**")
        page.fill("#id_code", totp_code(device))
        page.click("main form[action$='/otp/verify/'] button[type=submit] >> nth=0")
    page.wait_for_url(f"{base_url}/")


def open_menu(page) -> None:
    """On a phone the header folds its menu (the links, language, elder mode, sign-out) behind a
    "Menu" button: open it, as a person would, when it is folded."""
    toggle = page.locator(".menu-toggle")
    if toggle.count() and toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()


def click_in_header(page, selector: str) -> None:
    """Click something of the header's menu, opening the menu first on a phone."""
    open_menu(page)
    page.click(selector)


def phone_page(browser, console_errors: list[str]):
    """A 360×740 phone (twice the pixels, touch) whose console errors go to ``console_errors``: the
    browser context and its page."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True
    )
    page = context.new_page()
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    return context, page


def turn_on_elder_mode(page, url_pattern: str) -> None:
    """Switch elder mode on from the header (folded on a phone) and come back to the page."""
    click_in_header(page, "form[action='/elder-mode/'] button")
    page.wait_for_url(url_pattern)
    assert "elder" in (page.locator("body").get_attribute("class") or "")


def follow_first(page, selector: str, url_pattern: str) -> None:
    if "site-nav" in selector or "site-tools" in selector:
        open_menu(page)
    page.click(selector)
    page.wait_for_url(url_pattern)


def no_horizontal_scroll(page) -> tuple[int, int]:
    return page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")


def check_phone_page(page, axe: Axe, tmp_path: Path, name: str, mode: str) -> None:
    """At 360 px: nothing scrolls sideways, a screenshot, and axe-core."""
    scroll_width, inner_width = no_horizontal_scroll(page)
    page.screenshot(path=str(tmp_path / f"{name.replace(' ', '-')}-360-{mode}.png"), full_page=True)
    assert scroll_width <= 360, f"{name} ({mode}): scrollWidth {scroll_width} at innerWidth {inner_width}"
    axe.check(page, f"{name} at 360 px ({mode})")


def assert_clean(axe: Axe, console_errors: list[str], tmp_path: Path) -> None:
    print(f"\naxe-core checked {len(axe.checked)} pages: {', '.join(axe.checked)}; screenshots in {tmp_path}")
    assert not axe.problems, "serious or critical accessibility violations:\n" + axe.report()
    assert console_errors == [], console_errors


def seed_care_plans() -> list:
    """Care plans for four residents in care in grid01, due an hour ago with a minute's grace (so their
    check-in is overdue now), one confirmed well by grid01 by phone; committed."""
    import datetime as dt

    from django.utils import timezone

    from banyan.care import services
    from banyan.care.models import CarePlan
    from banyan.core import clock
    from banyan.people.models import Resident, User

    director, grid01, resident01 = (
        User.objects.get(username=name) for name in ("director", "grid01", "resident01")
    )
    residents = list(
        Resident.objects.restrict(grid01)
        .filter(care_profiles__is_active=True, household__unit__isnull=False)
        .exclude(pk=resident01.resident_id)
        .distinct()
        .order_by("id")[:4]
    )
    local = timezone.localtime(clock.now())
    due = dt.time(max(local.hour - 1, 0), 0)
    plans = []
    for resident in residents:
        plan = services.create_plan(actor=director, resident=resident)
        CarePlan.objects.filter(pk=plan.pk).update(checkin_time=due, grace_minutes=1, daily_checkin=True)
        plans.append(plan)
    services.record_checkin(actor=grid01, resident=residents[0], outcome="fine", channel="voice", note="电话")
    return plans
