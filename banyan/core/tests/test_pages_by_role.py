"""Every person-facing page as every demo role, and every POST form with an empty and a bad body.

The pages are enumerated from the URLconf (everything but ``/api/v1/`` and ``/open311/``); each
must have a row in ``PAGES`` saying what each role gets: 200 for a page the role may see, 403 for a
role that may never see it, 404 for an object outside the role's scope (the same as missing), a
redirect to sign in for anonymous visitors, 405 for a GET on a POST-only address. No page may
answer 500.

Every POST address is sent, as each role, an empty body and bad values (unknown ids, ids beyond 64
bits, 5,000-character strings, NUL characters, wrong types, a photo that is not one, a phone number
in a purpose …); the walk checks that every POST form a page shows is among them. A refused form
answers 200 showing what was wrong, 409 saying why, or 403/404 when the role may not or the object
is not theirs; and nothing changes: no row of the domain apps (incidents, incident events, reports,
audit entries, notifications, residents …) is added or removed, and no incident, alert, report or
matrix cell moves.

Column order of every expected-codes string in this module (``ROLES``):

    anonymous  admin  street01  director  grid01  grid02  property01  volunteer01  resident01  auditor
"""

from __future__ import annotations

import html
import io
import logging
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms import BaseForm
from django.test import Client
from django.test.client import ClientHandler
from django.test.utils import ContextList
from django.urls import URLResolver, get_resolver, resolve, reverse

from banyan.conftest import make_id_number

ROLES = (
    "anonymous",
    "admin",
    "street01",
    "director",
    "grid01",
    "grid02",
    "property01",
    "volunteer01",
    "resident01",
    "auditor",
)
ANONYMOUS = "anonymous"
LOGIN = "/login/"

# Address prefixes that are not pages a person reads: the JSON API and Open311 (tested elsewhere).
OUTSIDE = ("api/v1/", "open311/")
# Endpoints that never finish answering, so a test client cannot walk them.
SKIPPED = {
    # Server-Sent Events: the response is an endless stream (it returns only when the client goes
    # away), so reading it here would hang. banyan/notify/tests cover it with a real server.
    "notify:stream": "SSE stream",
    "cockpit:stream": "SSE stream",  # the same: state, then one event per change, forever
}

LONG = "长" + "x" * 4999  # 5,000 characters, longer than any field allows
NUL = "bad\x00value"
UNKNOWN_ID = 987_654_321  # a well-formed id of nothing
HUGE_ID = 10**20  # an id beyond a 64-bit integer
HUGE = str(HUGE_ID)
EVIL = "https://evil.example/phish"


def codes(text: str) -> dict[str, int]:
    """``codes("302 200 …")``: the expected status by role, in the order of ``ROLES``."""
    values = [int(code) for code in text.split()]
    assert len(values) == len(ROLES), text
    return dict(zip(ROLES, values, strict=True))


# --- the objects the pages are about --------------------------------------------------------------


class World:
    """What the pages show, made on first use (a page needs only a few of these).

    The seed's demo community has grids G01 … G06; ``grid01`` works in G01 and ``grid02`` in G02;
    ``resident01`` lives in G01 and ``volunteer01`` is the carer of residents of G01, ``resident01``
    among them. ``*_g01`` objects are in G01, ``*_g02`` in G02.
    """

    def __init__(self, users):
        self.users = users

    # places
    @cached_property
    def grid_g01(self):
        from banyan.places.models import Region

        return Region.objects.get(code="G01", kind="grid")

    @cached_property
    def grid_g02(self):
        from banyan.places.models import Region

        return Region.objects.get(code="G02", kind="grid")

    @cached_property
    def community(self):
        return self.grid_g01.parent

    @cached_property
    def district(self):
        """A region above every matrix cell anyone may edit."""
        return self.community.parent.parent

    @cached_property
    def building_g01(self):
        building = self.household_g01.unit.building
        assert building.grid_id == self.grid_g01.pk
        return building

    @cached_property
    def building_g02(self):
        from banyan.places.models import Building

        return Building.objects.filter(grid=self.grid_g02).order_by("code").first()

    # people
    @cached_property
    def resident_g01(self):
        resident = self.users["resident01"].resident
        assert resident.household.grid_id == self.grid_g01.pk, "the seed puts resident01 in G01"
        return resident

    @cached_property
    def household_g01(self):
        return self.resident_g01.household

    @cached_property
    def household_g02(self):
        from banyan.people.models import Household

        cared = Household.objects.filter(members__care_profiles__carers__user=self.users["volunteer01"])
        return Household.objects.filter(grid=self.grid_g02).exclude(pk__in=cared).order_by("code").first()

    @cached_property
    def resident_g02(self):
        return self.household_g02.members.order_by("id").first()

    @cached_property
    def correction_g01(self):
        """resident01's pending request to correct their registry entry."""
        from banyan.people import rights

        return rights.request_correction(
            actor=self.users["resident01"], field="other", proposed_value="搬家了"
        )

    @cached_property
    def correction_answered_g01(self):
        """resident01's request that grid01 rejected already."""
        from banyan.people import rights

        correction = rights.request_correction(
            actor=self.users["resident01"], field="name", proposed_value="王芳"
        )
        return rights.reject_correction(
            actor=self.users["grid01"], correction=correction, reason="请到社区核实"
        )

    # response
    @cached_property
    def report(self):
        """resident01's report of a problem at home (an open incident)."""
        from banyan.response.reports import services as reports

        return reports.submit_report(actor=self.users["resident01"], category="wellness_check", home=True)

    @cached_property
    def incident_g01(self):
        """An incident at resident01's building, assigned by the director to grid01."""
        return self._incident(self.building_g01, "grid01")

    @cached_property
    def incident_g02(self):
        return self._incident(self.building_g02, "grid02")

    def _incident(self, building, username: str):
        from banyan.response import services
        from banyan.response.models import Incident

        director, assignee = self.users["director"], self.users[username]
        incident = services.open_incident(
            actor=director, category="wellness_check", source="staff", building=building, dispatch_now=False
        )
        services.act(
            actor=director, incident=incident, move="assign", assignee=assignee, version=incident.version
        )
        incident = Incident.objects.get(pk=incident.pk)
        assert incident.status == "assigned" and incident.assignee_id == assignee.pk
        return incident

    @cached_property
    def photo_g02(self):
        """A photo grid02 took on arriving at the G02 incident."""
        from PIL import Image

        from banyan.response import services

        jpeg = io.BytesIO()
        Image.new("RGB", (32, 24), (20, 120, 200)).save(jpeg, "JPEG")
        incident = self.incident_g02
        services.act(
            actor=self.users["grid02"],
            incident=incident,
            move="on_scene",
            version=incident.version,
            photos=[jpeg.getvalue()],
        )
        return incident.photos.get()

    # warning
    def raise_alert(self, grid):
        """A new open alert on a seeded device in ``grid``."""
        from banyan.warning import services
        from banyan.warning.tests.conftest import event, make_rule, seeded_device

        device = seeded_device(grid=grid)
        [alert] = services.apply_events([event("Raised", make_rule(community=device.community), device.code)])
        assert alert.grid_id == grid.pk and alert.status == "open"
        return alert

    @cached_property
    def alert_g01(self):
        return self.raise_alert(self.grid_g01)

    @cached_property
    def alert_g02(self):
        return self.raise_alert(self.grid_g02)

    @cached_property
    def official_warning(self):
        from banyan.warning import services

        sample = Path(services.__file__).parent / "tests/fixtures/cap/valid/canada-ec-thunderstorm.cap"
        warning, _created = services.import_official_warning(actor="test", data=sample.read_bytes())
        return warning


@pytest.fixture
def world(users):
    return World(users)


@pytest.fixture
def clients(users, settings):
    """A web client per role, reading English; the view's exception comes back as a 500 answer
    (``exc_info``) rather than being raised, so one failing role does not hide the others.

    The clients share one middleware chain, as the requests to one server do, and keep their
    sessions in signed cookies: building the chain for every client (WhiteNoise scans the static
    files) and writing nine sessions per test would cost more than the pages; no page depends on
    either.
    """
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    handler = ClientHandler(enforce_csrf_checks=False)  # one middleware chain, as in a server
    made = {}
    for role in ROLES:
        client = Client(headers={"Accept-Language": "en"}, raise_request_exception=False)
        client.handler = handler
        if role != ANONYMOUS:
            client.force_login(users[role])
        made[role] = client
    return made


@pytest.fixture(autouse=True)
def quiet_refusals():
    """Most of these requests should be refused: log a 500 with its traceback, not every 403 and 404."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


# --- the pages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One address of a page (which object, which query) and the status each role gets."""

    expected: dict[str, int]
    args: Callable[[World], list] = lambda world: []
    query: str = ""
    label: str = ""

    def url(self, name: str, world: World) -> str:
        return reverse(name, args=self.args(world)) + (f"?{self.query}" if self.query else "")


def q(**params) -> str:
    return urlencode(params)


def v(expected: str, args=None, *, query: str = "", label: str = "") -> Variant:
    return Variant(codes(expected), args or (lambda world: []), query, label)


EVERYONE_SIGNED_IN = "302 200 200 200 200 200 200 200 200 200"
POST_ONLY = "302 405 405 405 405 405 405 405 405 405"  # login_required first, then the method
NOT_FOUND_TO_ALL = "302 404 404 404 404 404 404 404 404 404"
# Scope of an object in G01 / in G02, for roles that may see its kind (places, people).
IN_G01 = "302 200 200 200 200 404 200 200 200 200"
IN_G02 = "302 200 200 200 404 200 200 200 404 200"
PEOPLE_IN_G02 = "302 200 200 200 404 200 200 404 404 200"  # volunteer01 sees only those they care for
# Alerts: staff but volunteers see them.
ALERT_VIEWERS = "302 200 200 200 200 200 200 403 403 200"
# Incidents: every staff role sees them (volunteers: those sent to them); residents see their reports.
INCIDENT_VIEWERS = "302 200 200 200 200 200 200 200 403 200"
MATRIX_EDITORS = "302 200 200 200 403 403 403 403 403 403"
REPORTERS = "302 200 200 200 200 200 200 200 200 403"
LEDGER_IMPORTERS = "302 200 200 200 200 200 403 403 403 403"
OWN_DATA = "302 404 404 404 404 404 404 404 200 404"  # only resident01 has a registry entry
EVERYONE_REDIRECTED = "302 302 302 302 302 302 302 302 302 302"
CORRECTION_HANDLERS = "302 200 200 200 200 200 403 403 403 403"
EMERGENCY_VIEWERS = "302 200 200 200 200 200 200 200 403 200"  # every staff role and volunteers
ACCOUNT_VIEWERS = "302 200 200 200 403 403 403 403 403 403"
ACCOUNT_CHANGERS = "302 200 403 403 403 403 403 403 403 403"
COCKPIT_VIEWERS = "302 200 200 200 403 403 403 403 403 200"
AUDIT_READERS = "302 200 403 403 403 403 403 403 403 200"
# A NUL character in the query string is refused before anything else (core.middleware).
NUL_REFUSED = "400 400 400 400 400 400 400 400 400 400"


def emergency_board_g01(world) -> int:
    """An active typhoon emergency of the demo community over G01, opened by the director from the level II
    plan (a plan made here if the seed has none); made the first time it is asked for."""
    from banyan.core import clock
    from banyan.emergency import services
    from banyan.emergency.models import Emergency, Plan

    emergency = Emergency.objects.filter(title="防台风应急响应（页面测试）").first()
    if emergency is None:
        plan = services.current_plan(world.community, "typhoon", 2) or Plan.objects.create(
            community=world.community,
            hazard="typhoon",
            level=2,
            title_zh="防台风应急预案",
            body={"tasks": [{"key": "duty", "title_zh": "启动值班", "owner_kind": "community_committee",
                             "owner_role": "grid_worker", "due_minutes": 15}]},
            created_at=clock.now(),
        )  # fmt: skip
        emergency = services.activate(
            actor=world.users["director"], plan=plan, community=world.community, area_grids=[world.grid_g01],
            title="防台风应急响应（页面测试）",
        )  # fmt: skip
    return emergency.pk


def emergency_task_g01(world) -> int:
    """An open task of that emergency."""
    from banyan.emergency.models import Task

    tasks = Task.objects.filter(emergency_id=emergency_board_g01(world), status="open")
    return tasks.order_by("id").first().pk


def hazard_flood(world) -> int:
    """The demo community's flooding hazard (the seed makes the register)."""
    from banyan.emergency.models import Hazard

    return Hazard.objects.get(community=world.community, kind="flood").pk


def plan_typhoon_ii(world) -> int:
    """The demo community's level II typhoon plan in force (the seed makes the plans)."""
    from banyan.emergency.models import Plan

    return Plan.objects.get(community=world.community, hazard="typhoon", level=2, is_current=True).pk


def shelter_centre(world) -> int:
    """The community centre's shelter, closed (shelters and supplies installed when first asked for)."""
    from banyan.emergency.shelters.models import Shelter
    from banyan.emergency.shelters.services import install_shelters

    install_shelters(world.community)
    return Shelter.objects.get(community=world.community, facility__kind="community_centre").pk


def stock_water(world) -> int:
    """The community centre's stock of drinking water."""
    from banyan.emergency.shelters.models import Stock

    shelter_centre(world)
    return Stock.objects.get(community=world.community, place__kind="community_centre", kind="water").pk


def care_plan_g01(world) -> int:
    """resident01's care plan (made from its template by the director the first time it is asked for)."""
    from banyan.care import services
    from banyan.care.models import CarePlan

    plan = CarePlan.objects.filter(resident=world.resident_g01).first()
    return (plan or services.create_plan(actor=world.users["director"], resident=world.resident_g01)).pk


def care_visit_g01(world) -> int:
    """The G01 incident (assigned to grid01) as the wellness visit of resident01's missed check-in."""
    from banyan.care.models import CarePlan, FollowUp
    from banyan.core import clock

    incident = world.incident_g01
    plan = CarePlan.objects.get(pk=care_plan_g01(world))
    FollowUp.objects.get_or_create(
        incident=incident,
        defaults={
            "resident": plan.resident,
            "plan": plan,
            "reason": "missed",
            "day": clock.today(),
            "started_at": clock.now(),
            "status": "visiting",
        },
    )
    return incident.pk


def carer_g01(world) -> int:
    """volunteer01's carer record for resident01."""
    from banyan.people.models import Carer

    return Carer.objects.filter(care_profile__resident=world.resident_g01).order_by("id").first().pk


def carer_consent_g01(world) -> int:
    """A consent in force of resident01's carer (made the first time it is asked for)."""
    from banyan.core import clock
    from banyan.people.models import CarerConsent

    consent, _ = CarerConsent.objects.get_or_create(
        carer_id=carer_g01(world),
        withdrawn_at=None,
        defaults={
            "given_by": "self",
            "scopes": ["report"],
            "valid_from": clock.now(),
            "recorded_at": clock.now(),
        },
    )
    return consent.pk


def relay_emergency(world) -> int:
    """An active emergency over G01 with a community notice sent (made the first time it is asked for):
    residents without any channel are on its not-reached list at once."""
    from banyan.core import clock
    from banyan.emergency.models import Emergency
    from banyan.emergency.relay.services import send_notice

    emergency = Emergency.objects.filter(title="台风预警转发演示").first()
    if emergency is None:
        emergency = Emergency.objects.create(
            community=world.community,
            hazard="typhoon",
            level=2,
            status="active",
            title="台风预警转发演示",
            trigger="manual",
            activated_at=clock.now(),
            created_at=clock.now(),
        )
        emergency.area_grids.set([world.grid_g01])
        send_notice(
            actor=world.users["director"], emergency=emergency, text_zh="请关好门窗。", audience="area"
        )
    return emergency.pk


def relay_page(world) -> list:
    """The relay page takes no arguments; it shows the emergency made here, with its notice form."""
    relay_emergency(world)
    return []


def rollcall_emergency(world) -> int:
    """An active emergency over G01 with its roll call under way (made the first time it is asked for)."""
    from banyan.core import clock
    from banyan.emergency.models import Emergency
    from banyan.emergency.rollcall.services import start_roll_call

    emergency = Emergency.objects.filter(title="台风平安点名").first()
    if emergency is None:
        emergency = Emergency.objects.create(
            community=world.community,
            hazard="typhoon",
            level=2,
            status="active",
            title="台风平安点名",
            trigger="manual",
            activated_at=clock.now(),
            created_at=clock.now(),
        )
        emergency.area_grids.set([world.grid_g01])
        start_roll_call(actor=None, emergency=emergency)
    return emergency.pk


def rollcall_entry_g01(world) -> int:
    """resident01's household's question in that roll call."""
    from banyan.emergency.rollcall.models import Entry

    emergency = rollcall_emergency(world)
    entry = Entry.objects.get(roll_call__emergency_id=emergency, household=world.household_g01)
    return entry.pk


def epidemic_emergency(world) -> int:
    """An active epidemic emergency over G01 with resident01's household isolating and resident01's
    check-in of today waiting (made the first time it is asked for)."""
    from banyan.core import clock
    from banyan.emergency.epidemic.models import CheckIn
    from banyan.emergency.epidemic.services import set_status
    from banyan.emergency.models import Emergency

    emergency = Emergency.objects.filter(title="疫情居家隔离演示").first()
    if emergency is None:
        emergency = Emergency.objects.create(
            community=world.community,
            hazard="epidemic",
            level=3,
            status="active",
            title="疫情居家隔离演示",
            trigger="manual",
            activated_at=clock.now(),
            created_at=clock.now(),
        )
        emergency.area_grids.set([world.grid_g01])
        set_status(
            actor=world.users["director"],
            emergency=emergency,
            household=world.household_g01,
            status="isolating",
            since=clock.today(),
        )
        CheckIn.objects.create(
            emergency=emergency,
            household=world.household_g01,
            resident=world.resident_g01,
            day=clock.today(),
            channel="in_app",
            asked_user=world.users["resident01"],
            asked_at=clock.now(),
        )
    return emergency.pk


def epidemic_checkin_g01(world) -> int:
    """resident01's check-in of today in that emergency."""
    from banyan.emergency.epidemic.models import CheckIn

    return CheckIn.objects.get(emergency_id=epidemic_emergency(world), resident=world.resident_g01).pk


def communal_device(grid) -> int:
    """A device of the grid that is no home's (no unit, serving no one): every role of the grid sees it."""
    from banyan.sensing.models import Device

    devices = Device.objects.filter(grid=grid, unit__isnull=True, resident__isnull=True)
    return devices.order_by("code").values_list("pk", flat=True)[0]


PAGES: dict[str, list[Variant]] = {
    "healthz": [v("200 200 200 200 200 200 200 200 200 200")],
    "set_language": [v("302 302 302 302 302 302 302 302 302 302")],
    # core
    "account:home": [v(EVERYONE_SIGNED_IN)],
    "account:login": [v("200 302 302 302 302 302 302 302 302 302")],
    "account:logout": [v("405 405 405 405 405 405 405 405 405 405")],
    "core:elder-mode": [v("405 405 405 405 405 405 405 405 405 405")],
    # second factor: staff have a device (their test sessions passed it); resident01 has none and enrols
    "account:otp-verify": [v("302 200 200 200 200 200 200 200 302 200")],
    "account:otp-setup": [v("302 302 302 302 302 302 302 302 200 302")],
    "account:otp-recovery-codes": [v("302 405 405 405 405 405 405 405 405 405")],
    # places
    "places:grid-list": [v(EVERYONE_SIGNED_IN)],
    "places:grid-detail": [
        v(IN_G01, lambda w: [w.grid_g01.pk], label="G01"),
        v(IN_G02, lambda w: [w.grid_g02.pk], label="G02"),
        v(NOT_FOUND_TO_ALL, lambda w: [w.community.pk], label="a community, not a grid"),
        v(NOT_FOUND_TO_ALL, lambda w: [HUGE_ID], label="beyond 64 bits"),
    ],
    "places:building-detail": [
        v(IN_G01, lambda w: [w.building_g01.pk], label="G01"),
        v(IN_G02, lambda w: [w.building_g02.pk], label="G02"),
        v(NOT_FOUND_TO_ALL, lambda w: [HUGE_ID], label="beyond 64 bits"),
    ],
    # the grid editor: directors, street officers and administrators, for a community in their area
    # (banyan/people/tests/test_grid_editor.py); a bad proposal request is answered at its fields
    "places:grid-editor": [
        v(MATRIX_EDITORS, lambda w: [w.community.code], label="the demo community"),
        v(
            MATRIX_EDITORS,
            lambda w: [w.community.code],
            query=q(target="-5", measure=LONG),
            label="bad proposal",
        ),
        v("302 404 404 404 403 403 403 403 403 403", lambda w: [w.grid_g01.code], label="a grid"),
        v("302 404 404 404 403 403 403 403 403 403", lambda w: [LONG[:200]], label="unknown"),
    ],
    # importing places: administrators, street officers and directors, each into their area
    # (banyan/people/tests/test_places_import_page.py)
    "places:import": [v(MATRIX_EDITORS)],
    # people
    "people:household-detail": [
        v(IN_G01, lambda w: [w.household_g01.pk], label="resident01's"),
        v(PEOPLE_IN_G02, lambda w: [w.household_g02.pk], label="G02"),
        v(NOT_FOUND_TO_ALL, lambda w: [HUGE_ID], label="beyond 64 bits"),
    ],
    "people:resident-detail": [
        v(IN_G01, lambda w: [w.resident_g01.pk], label="resident01"),
        v(PEOPLE_IN_G02, lambda w: [w.resident_g02.pk], label="G02"),
        v(NOT_FOUND_TO_ALL, lambda w: [UNKNOWN_ID], label="unknown"),
    ],
    # The reveal form: auditors reveal nothing (403 once the resident is found in their scope).
    # the carer circle: staff who change people and see care, for residents in their scope.
    "people:carer-circle": [
        v("302 200 200 200 200 404 403 403 403 403", lambda w: [w.resident_g01.pk], label="resident01"),
        v("302 404 404 404 404 404 403 403 403 403", lambda w: [UNKNOWN_ID], label="unknown"),
    ],
    "people:carer-link": [v(POST_ONLY, lambda w: [carer_g01(w)])],
    "people:carer-grant": [v(POST_ONLY, lambda w: [carer_g01(w)])],
    "people:carer-withdraw": [v(POST_ONLY, lambda w: [carer_consent_g01(w)])],
    "people:resident-reveal": [
        v("302 200 200 200 200 404 200 200 200 403", lambda w: [w.resident_g01.pk], label="resident01"),
        v("302 200 200 200 404 200 200 404 404 403", lambda w: [w.resident_g02.pk], label="G02"),
        v(NOT_FOUND_TO_ALL, lambda w: [HUGE_ID], label="beyond 64 bits"),
    ],
    "people:ledger-import": [v(LEDGER_IMPORTERS)],
    # accounts and roles: administrators every account, street officers and directors those of their
    # area (read-only, but for helping those below them sign in) (banyan/people/tests/test_user_pages.py)
    "people:accounts:user-list": [
        v(ACCOUNT_VIEWERS),
        v(
            ACCOUNT_VIEWERS,
            query=q(role="pope", region=LONG, state="x", q=LONG, page="abc"),
            label="bad filters",
        ),
    ],
    "people:accounts:user-new": [v(ACCOUNT_CHANGERS)],
    "people:accounts:user-detail": [
        v(ACCOUNT_VIEWERS, lambda w: [w.users["grid01"].pk], label="grid01's"),
        v("302 200 404 404 403 403 403 403 403 403", lambda w: [w.users["admin"].pk], label="admin's"),
        v("302 404 404 404 403 403 403 403 403 403", lambda w: [HUGE_ID], label="beyond 64 bits"),
    ],
    **{
        f"people:accounts:user-{step}": [v(POST_ONLY, lambda w: [w.users["grid01"].pk])]
        for step in ("active", "password", "second-factor", "unlock")
    },
    "people:ledger-template": [v(LEDGER_IMPORTERS)],
    # a building's flats, imported or generated: directors, street officers and administrators
    # (banyan/people/tests/test_unit_import.py)
    "people:units-import": [
        v(MATRIX_EDITORS),
        v(MATRIX_EDITORS, query=q(community=LONG), label="unknown community"),
    ],
    "people:units-generate": [v(POST_ONLY)],
    # Residents' own rights: only an account with a registry entry has "my data"; GETs of its forms
    # go back to the page. The correction queue: editors, each for the residents in their area.
    "people:my-data": [v(OWN_DATA)],
    "people:my-data-reveal": [v(EVERYONE_REDIRECTED)],
    "people:my-data-export": [v(EVERYONE_REDIRECTED)],
    "people:my-correction-new": [v(EVERYONE_REDIRECTED)],
    "people:correction-list": [
        v(CORRECTION_HANDLERS),
        v(CORRECTION_HANDLERS, query=q(status="zzz"), label="unknown status"),
    ],
    "people:correction-detail": [
        v("302 200 200 200 200 404 403 403 403 403", lambda w: [w.correction_g01.pk], label="resident01's"),
        v("302 404 404 404 404 404 403 403 403 403", lambda w: [HUGE_ID], label="beyond 64 bits"),
    ],
    "people:correction-accept": [v(POST_ONLY, lambda w: [w.correction_g01.pk])],
    "people:correction-reject": [v(POST_ONLY, lambda w: [w.correction_g01.pk])],
    # Export: staff editors and auditors, each for the grids in their area.
    "people:ledger-export": [
        v("302 200 200 200 200 404 403 403 403 200", query="grid=G01", label="G01"),
        v(NUL_REFUSED, query=q(grid=NUL), label="NUL in the grid"),
        v("302 404 404 404 404 404 403 403 403 404", label="no grid"),
    ],
    "people:token-list": [v(EVERYONE_SIGNED_IN)],  # one's own API tokens
    "people:token-revoke": [v(POST_ONLY, lambda w: [UNKNOWN_ID])],
    # A GET goes back to the grid page's form; auditors may export but reveal nothing.
    "people:ledger-export-reveal": [
        v("302 302 302 302 302 404 403 403 403 403", query="grid=G01", label="G01"),
        v(NUL_REFUSED, query=q(grid=NUL), label="NUL in the grid"),
    ],
    # warning
    "warning:alert-list": [
        v(ALERT_VIEWERS),
        v(NUL_REFUSED, query=q(status="zzz", grade=NUL, page="abc", x=LONG), label="bad filters"),
    ],
    "warning:alert-detail": [
        v("302 200 200 200 200 404 200 403 403 200", lambda w: [w.alert_g01.pk], label="G01"),
        v("302 200 200 200 404 200 200 403 403 200", lambda w: [w.alert_g02.pk], label="G02"),
        v("302 404 404 404 404 404 404 403 403 404", lambda w: [HUGE_ID], label="beyond 64 bits"),
    ],
    "warning:alert-acknowledge": [v(POST_ONLY, lambda w: [w.alert_g01.pk])],
    "warning:alert-resolve": [v(POST_ONLY, lambda w: [w.alert_g01.pk])],
    "warning:alert-call": [v(POST_ONLY, lambda w: [w.alert_g01.pk])],  # a fall or SOS alert's numbers
    "warning:official-warning-detail": [
        v(EVERYONE_SIGNED_IN, lambda w: [w.official_warning.pk]),
        v(NOT_FOUND_TO_ALL, lambda w: [UNKNOWN_ID], label="unknown"),
    ],
    # The feed answers in JSON: 401 without a session or token.
    "warning:alerts-atom": [v("401 200 200 200 200 200 200 403 403 200")],
    # the warnings that concern one's area: every signed-in role (banyan/warning/tests/test_warnings_page.py)
    "warning:warnings": [v(EVERYONE_SIGNED_IN)],
    # the alert rules: read by the roles that see alerts, changed by directors, street officers and
    # administrators (banyan/warning/tests/test_rule_pages.py)
    "warning:rule-list": [
        v(ALERT_VIEWERS),
        v(ALERT_VIEWERS, query=q(community=LONG, state="zzz", page="abc"), label="bad filters"),
    ],
    "warning:rule-new": [v(MATRIX_EDITORS)],
    # devices: every role sees those services.devices_for gives it (as the API); directors, street
    # officers and administrators register them and take them out of service
    # (banyan/sensing/tests/test_device_pages.py)
    "sensing:device-list": [
        v(EVERYONE_SIGNED_IN),
        v(
            EVERYONE_SIGNED_IN,
            query=q(community=LONG, grid="x", building=HUGE, state="zzz"),
            label="bad filters",
        ),
    ],
    "sensing:device-new": [v(MATRIX_EDITORS)],
    "sensing:device-detail": [
        v(IN_G01, lambda w: [communal_device(w.grid_g01)], label="G01, communal"),
        v(NOT_FOUND_TO_ALL, lambda w: [HUGE_ID], label="beyond 64 bits"),
    ],
    "sensing:device-status": [v(POST_ONLY, lambda w: [communal_device(w.grid_g01)])],
    # importing devices (directors, street officers, administrators) and the installer's list of the
    # devices one sees (banyan/sensing/tests/test_device_import_views.py)
    "sensing:device-import": [v(MATRIX_EDITORS)],
    **{
        f"sensing:device-installer-{suffix}": [
            v(EVERYONE_SIGNED_IN, query=q(community="330102001001"), label="the community"),
            v(NOT_FOUND_TO_ALL, query=q(community=LONG), label="unknown community"),
            v(NOT_FOUND_TO_ALL, label="no community"),
            v(NUL_REFUSED, query=q(community=NUL), label="NUL in the community"),
        ]
        for suffix in ("xlsx", "csv")
    },
    "warning:rule-detail": [
        v(
            "302 200 200 200 200 200 200 403 403 200",
            lambda w: [w.alert_g01.rule_id],
            label="the community's",
        ),
        v("302 404 404 404 404 404 404 403 403 404", lambda w: [HUGE_ID], label="beyond 64 bits"),
    ],
    # response
    "response:task-list": [v("302 200 200 200 200 200 200 200 403 403")],
    "response:incident-list": [
        v(INCIDENT_VIEWERS),
        v(NUL_REFUSED, query=q(status=NUL, grade="purple", category=LONG, page=-5), label="bad filters"),
    ],
    # The incident in G01 is assigned to grid01; the one in G02 to grid02. volunteer01 sees only
    # incidents sent to them.
    "response:incident-detail": [
        v("302 200 200 200 200 404 200 404 403 200", lambda w: [w.incident_g01.pk], label="G01"),
        v("302 200 200 200 404 200 200 404 403 200", lambda w: [w.incident_g02.pk], label="G02"),
        v("302 404 404 404 404 404 404 404 403 404", lambda w: [HUGE_ID], label="beyond 64 bits"),
    ],
    "response:incident-photo": [
        v(
            "302 200 200 200 404 200 200 404 403 200",
            lambda w: [w.incident_g02.pk, w.photo_g02.pk],
            label="G02",
        ),
        v(
            "302 404 404 404 404 404 404 404 403 404",
            lambda w: [w.incident_g01.pk, w.photo_g02.pk],
            label="of another incident",
        ),
        v(
            "302 404 404 404 404 404 404 404 403 404",
            lambda w: [w.incident_g02.pk, HUGE_ID],
            label="beyond 64 bits",
        ),
    ],
    "response:incident-hand-over": [v(POST_ONLY, lambda w: [w.incident_g01.pk])],
    "response:incident-backup": [v(POST_ONLY, lambda w: [w.incident_g01.pk])],
    "response:incident-step": [v(POST_ONLY, lambda w: [w.incident_g01.pk, "accept"])],
    "response:matrix": [
        v(INCIDENT_VIEWERS),
        v("302 200 200 200 404 200 200 200 403 200", query="region=G02", label="G02"),
        v(NUL_REFUSED, query=q(region=NUL), label="NUL in the region"),
    ],
    # the response's figures, for the roles that see incidents (banyan/response/tests/test_metrics_page.py);
    # bad dates or an area out of reach answer the page with the message, 400
    **{
        name: [
            v(INCIDENT_VIEWERS),
            v(INCIDENT_VIEWERS, query=q(start="2026-06-01", end="2026-06-30", step="week"), label="June"),
            v(
                "302 400 400 400 400 400 400 400 403 400",
                query=q(start="2026-02-30", end="x", region=LONG, step="hour"),
                label="bad filters",
            ),
            v(NUL_REFUSED, query=q(region=NUL), label="NUL in the area"),
        ]
        for name in ("response:metrics", "response:metrics-export")
    },
    "response:matrix-cell": [
        v(MATRIX_EDITORS),
        v(MATRIX_EDITORS, query="category=flooding&region=330102001001", label="an existing cell"),
        v(NUL_REFUSED, query=q(category=LONG, region=NUL), label="bad cell"),
    ],
    # reports: a person's own reports only (staff see other people's on the incident pages)
    "reports:list": [v(REPORTERS)],
    "reports:new": [v(REPORTERS)],
    "reports:detail": [
        v("302 404 404 404 404 404 404 404 200 403", lambda w: [w.report.pk], label="resident01's"),
        v("302 404 404 404 404 404 404 404 404 403", lambda w: [HUGE_ID], label="beyond 64 bits"),
    ],
    "reports:rate": [v(POST_ONLY, lambda w: [w.report.pk])],
    "reports:reopen": [v(POST_ONLY, lambda w: [w.report.pk])],
    "reports:support": [v(POST_ONLY, lambda w: [w.incident_g01.pk])],
    "reports:photo": [v("302 404 404 404 404 404 404 404 404 403", lambda w: [w.report.pk, UNKNOWN_ID])],
    "reports:contact": [v(REPORTERS)],
    # care: a resident checks in for themselves (POST only); staff and volunteers who may see care record a
    # check-in for a resident in their scope; those who make plans see plans missing or overdue.
    "care:checkin": [v(POST_ONLY)],
    "care:plan-create": [v(POST_ONLY, lambda w: [w.resident_g01.pk])],
    "care:plan-create-all": [v(POST_ONLY)],
    # a family carer checks in for the one they look after within a consent (none in this world: 404).
    "care:proxy-checkin": [v(POST_ONLY, lambda w: [w.resident_g01.pk])],
    "care:resident-checkin": [
        v("302 200 200 200 200 404 403 200 403 403", lambda w: [w.resident_g01.pk], label="resident01"),
        v("302 200 200 200 404 200 403 404 403 403", lambda w: [w.resident_g02.pk], label="G02"),
        v("302 404 404 404 404 404 403 404 403 403", lambda w: [UNKNOWN_ID], label="unknown"),
    ],
    "care:attention": [v("302 200 200 200 200 200 403 403 403 403")],
    # the care board: those who make plans and may open incidents; "send someone" is POST only.
    "care:board": [
        v("302 200 200 200 200 200 403 403 403 403"),
        v("302 200 200 200 200 200 403 403 403 403", query="grid=G01&state=overdue", label="grid G01"),
        v("302 200 200 200 200 200 403 403 403 403", query=q(grid=LONG, state=LONG), label="long filters"),
        v(NUL_REFUSED, query=q(grid=NUL), label="NUL in the grid"),
    ],
    "care:send": [v(POST_ONLY, lambda w: [w.resident_g01.pk])],
    # the hazard register and the plans: read by those who see emergencies, changed by those who manage
    # them (banyan/emergency/tests/test_hazards.py, test_plans.py)
    "emergency:hazard-list": [v(EMERGENCY_VIEWERS)],
    "emergency:hazard-detail": [
        v(EMERGENCY_VIEWERS, lambda w: [hazard_flood(w)], label="the demo community's"),
        v("302 404 404 404 404 404 404 404 403 404", lambda w: [HUGE_ID], label="beyond 64 bits"),
    ],
    "emergency:hazard-review": [v(POST_ONLY, lambda w: [hazard_flood(w)])],
    "emergency:plan-list": [v(EMERGENCY_VIEWERS)],
    "emergency:plan-detail": [
        v(EMERGENCY_VIEWERS, lambda w: [plan_typhoon_ii(w)], label="the demo community's"),
        v("302 404 404 404 404 404 404 404 403 404", lambda w: [UNKNOWN_ID], label="unknown"),
    ],
    "emergency:plan-edit": [
        v(MATRIX_EDITORS, lambda w: [plan_typhoon_ii(w)], label="the demo community's"),
        v("302 404 404 404 404 404 404 404 403 404", lambda w: [HUGE_ID], label="beyond 64 bits"),
    ],
    # shelters and supplies: for those who see emergencies (the community's, so every staff role of it);
    # checking in and out, opening and closing, and moving stock are POST only.
    "emergency:shelter-list": [v(EMERGENCY_VIEWERS)],
    "emergency:shelter-detail": [
        v(EMERGENCY_VIEWERS, lambda w: [shelter_centre(w)], label="the community centre"),
        v("302 404 404 404 404 404 404 404 403 404", lambda w: [UNKNOWN_ID], label="unknown"),
    ],
    "emergency:shelter-check-in": [v(POST_ONLY, lambda w: [shelter_centre(w)])],
    "emergency:shelter-open": [v(POST_ONLY, lambda w: [shelter_centre(w)])],
    "emergency:shelter-close": [v(POST_ONLY, lambda w: [shelter_centre(w)])],
    "emergency:shelter-check-out": [v(POST_ONLY, lambda w: [UNKNOWN_ID])],
    "emergency:supplies": [v(EMERGENCY_VIEWERS)],
    "emergency:stock-detail": [
        v(EMERGENCY_VIEWERS, lambda w: [stock_water(w)], label="water"),
        v(EMERGENCY_VIEWERS, lambda w: [stock_water(w)], query=q(unit=LONG), label="a long search"),
        v("302 404 404 404 404 404 404 404 403 404", lambda w: [UNKNOWN_ID], label="unknown"),
    ],
    "emergency:stock-move": [v(POST_ONLY, lambda w: [stock_water(w)])],
    "care:plan-edit": [
        v("302 200 200 200 200 404 403 403 403 403", lambda w: [care_plan_g01(w)], label="resident01's"),
        v("302 404 404 404 404 404 403 403 403 403", lambda w: [UNKNOWN_ID], label="unknown"),
    ],
    # a visit's photo: those who may see the resident's care (none has one in this world: 404).
    "care:visit-photo": [
        v("302 404 404 404 404 404 404 404 404 404", lambda w: [UNKNOWN_ID], label="unknown"),
    ],
    # the one sent on a wellness visit records it (others who see the incident: 403).
    "care:visit": [
        v("302 403 403 403 200 404 403 404 404 403", lambda w: [care_visit_g01(w)], label="grid01's"),
        v("302 404 404 404 404 404 404 404 404 404", lambda w: [UNKNOWN_ID], label="unknown"),
    ],
    # warnings to residents: the relay page for those who manage emergencies (with a notice form per
    # active emergency); a resident's subscriptions; what each person was sent, as received.
    "emergency:relay": [v("302 200 200 200 403 403 403 403 403 403", lambda w: relay_page(w))],
    "emergency:relay-notice": [v(POST_ONLY, lambda w: [relay_emergency(w)])],
    "emergency:relay-knock": [v(POST_ONLY, lambda w: [relay_emergency(w)])],
    "emergency:relay-subscriptions": [v("302 403 403 403 403 403 403 403 200 403")],
    "emergency:relay-received": [v(EVERYONE_SIGNED_IN)],
    # emergency roll call: its page for those who see emergencies; the question for the resident asked.
    "emergency:rollcall": [
        v("302 200 200 200 200 200 200 200 404 200", lambda w: [rollcall_emergency(w)], label="under way"),
        v("302 404 404 404 404 404 404 404 404 404", lambda w: [UNKNOWN_ID], label="unknown"),
    ],
    "emergency:rollcall-start": [v(POST_ONLY, lambda w: [rollcall_emergency(w)])],
    "emergency:rollcall-answer": [
        v("302 404 404 404 404 404 404 404 200 404", lambda w: [rollcall_entry_g01(w)], label="resident01's"),
        v("302 404 404 404 404 404 404 404 404 404", lambda w: [HUGE_ID], label="beyond 64 bits"),
    ],
    "emergency:rollcall-safe": [v(POST_ONLY, lambda w: [rollcall_entry_g01(w)])],
    # epidemic mode: its page for those who look after households (not property staff, volunteers,
    # auditors); the day's check-in question for the resident asked.
    "emergency:epidemic": [
        v("302 200 200 200 200 200 403 403 403 403", lambda w: [epidemic_emergency(w)], label="isolating"),
        v("302 200 200 200 200 200 403 403 403 403", lambda w: [epidemic_emergency(w)], query=q(unit=LONG)),
        v("302 404 404 404 404 404 403 403 403 403", lambda w: [UNKNOWN_ID], label="unknown"),
    ],
    "emergency:epidemic-status": [v(POST_ONLY, lambda w: [epidemic_emergency(w)])],
    "emergency:epidemic-delivery": [v(POST_ONLY, lambda w: [epidemic_emergency(w)])],
    "emergency:epidemic-answer": [
        v(
            "302 404 404 404 404 404 404 404 200 404",
            lambda w: [epidemic_checkin_g01(w)],
            label="resident01's",
        ),
        v("302 404 404 404 404 404 404 404 404 404", lambda w: [HUGE_ID], label="beyond 64 bits"),
    ],
    # emergencies: the list and a board for every role that sees emergencies (volunteers too: their own
    # tasks); its forms are POST only (banyan/emergency/tests/test_board.py)
    "emergency:emergencies": [v("302 200 200 200 200 200 200 200 403 200")],
    "emergency:board": [
        v("302 200 200 200 200 200 200 200 403 200", lambda w: [emergency_board_g01(w)], label="G01's"),
        v("302 404 404 404 404 404 404 404 403 404", lambda w: [UNKNOWN_ID], label="unknown"),
    ],
    **{
        f"emergency:{name}": [v(POST_ONLY, lambda w: [emergency_board_g01(w)])]
        for name in ("confirm", "dismiss", "level", "area", "stand-down")
    },
    "emergency:task-done": [v(POST_ONLY, lambda w: [emergency_task_g01(w)])],
    "emergency:task-assign": [v(POST_ONLY, lambda w: [emergency_task_g01(w)])],
    # the after-action review and its exports: every role that sees emergencies; its forms are POST only
    # (banyan/emergency/tests/test_review_pages.py)
    **{
        f"emergency:{name}": [
            v(EMERGENCY_VIEWERS, lambda w: [emergency_board_g01(w)], label="G01's"),
            v("302 404 404 404 404 404 404 404 403 404", lambda w: [UNKNOWN_ID], label="unknown"),
        ]
        for name in ("review", "review-xlsx", "review-pdf")
    },
    **{
        f"emergency:{name}": [v(POST_ONLY, lambda w: [emergency_board_g01(w)])]
        for name in ("review-lesson", "review-plan", "review-recovery")
    },
    "emergency:review-lesson-done": [v(POST_ONLY, lambda w: [emergency_board_g01(w), UNKNOWN_ID])],
    "emergency:review-recovery-done": [v(POST_ONLY, lambda w: [emergency_board_g01(w), UNKNOWN_ID])],
    # cockpit: a community's screen for directors, street officers, admins and auditors; the street
    # view for the same (a director sees her own community there: banyan/cockpit/tests/test_street.py).
    "cockpit:cockpit": [
        v(COCKPIT_VIEWERS),
        v(COCKPIT_VIEWERS, query="community=330102001001", label="the demo community"),
        v("302 404 404 404 403 403 403 403 403 404", query="community=G01", label="a grid"),
        v(NUL_REFUSED, query=q(community=NUL), label="NUL in the community"),
    ],
    "cockpit:street": [v(COCKPIT_VIEWERS)],
    # go-live readiness: for those who set a community up (directors their own, street officers their
    # street's, admins every one): banyan/cockpit/tests/test_readiness.py
    "readiness:readiness": [
        v(MATRIX_EDITORS),
        v(MATRIX_EDITORS, query="community=330102001001", label="the demo community"),
        v("302 404 404 404 403 403 403 403 403 403", query="community=G01", label="a grid"),
        v("302 404 404 404 403 403 403 403 403 403", query=q(community=LONG), label="a long code"),
        v(NUL_REFUSED, query=q(community=NUL), label="NUL in the community"),
    ],
    # the offline basemap's tiles, for anyone signed in: none configured in the tests (404); a tile
    # outside the world is 400 (banyan/places/tests/test_tiles.py serves real files)
    "tiles:tile": [
        v(NOT_FOUND_TO_ALL, lambda w: [1, 0, 0], label="no basemap configured"),
        v("302 400 400 400 400 400 400 400 400 400", lambda w: [1, 2, 0], label="outside the world"),
    ],
    "tiles:meta": [v(NOT_FOUND_TO_ALL, label="no basemap configured")],
    # notify: one's own inbox (the header's bell leads there); its forms are POST only
    "notify:inbox": [v(EVERYONE_SIGNED_IN), v(EVERYONE_SIGNED_IN, query="show=all", label="all")],
    "notify:acknowledge": [v(POST_ONLY, lambda w: [UNKNOWN_ID])],
    "notify:acknowledge-all": [v(POST_ONLY)],
    # audit: the log for auditors and administrators (banyan/audit/tests/test_pages.py); a bad filter is
    # named at its field (the page 200, the export 400 and nothing exported); "verify now" is POST only
    "audit:log": [
        v(AUDIT_READERS),
        v(AUDIT_READERS, query=q(since="2026-02-30", action=LONG, subject_id=LONG, page="abc"), label="bad"),
        v(NUL_REFUSED, query=q(actor=NUL), label="NUL in the actor"),
    ],
    "audit:export": [
        v(AUDIT_READERS, query=q(action="resident.reveal"), label="reveals"),
        v(AUDIT_READERS, query=q(action="resident.reveal", format="csv"), label="reveals as text"),
        v("302 400 403 403 403 403 403 403 403 400", query=q(until="x", format=LONG), label="bad"),
    ],
    "audit:verify": [v(POST_ONLY)],
}


def person_facing_patterns() -> dict[str, str]:
    """Every named URL pattern outside the API and Open311: ``{"ns:name": route}``."""

    def walk(patterns, prefix: str, namespace: str):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern.url_patterns, route, inner)
            else:
                yield f"{namespace}{pattern.name}", route

    found = walk(get_resolver().url_patterns, "", "")
    return {name: route for name, route in found if not route.startswith(OUTSIDE)}


PATTERNS = person_facing_patterns()


def test_every_person_facing_page_has_expectations():
    walked = set(PAGES) | set(SKIPPED)
    assert sorted(set(PATTERNS) - walked) == [], "new pages: add them to PAGES"
    assert sorted(walked - set(PATTERNS)) == [], "PAGES names pages that are gone"


# --- checking an answer ------------------------------------------------------------------------


def failure(response) -> str:
    """What went wrong in a 500: the exception, the project's last frames and the innermost one."""
    exc_info = getattr(response, "exc_info", None)
    if not exc_info:
        return ""
    frames = traceback.extract_tb(exc_info[2])
    ours = [f for f in frames if "/banyan/" in f.filename and "/tests/" not in f.filename][-2:]
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed([*ours, frames[-1]]))
    return f" {exc_info[0].__name__}: {str(exc_info[1])[:120]} at {where}"


def context_values(response):
    context = response.context
    if context is None:
        return
    for each in context if isinstance(context, ContextList) else [context]:
        for layer in each.dicts:
            yield from layer.values()


def errors_shown(response) -> tuple[list[str], list[str]]:
    """The errors of the page's submitted forms (and a ledger report's rows): those in its HTML and
    those missing from it."""
    messages = []
    seen = set()
    for value in context_values(response):
        candidates = value.values() if isinstance(value, dict) else [value]
        for candidate in candidates:
            if isinstance(candidate, BaseForm) and candidate.is_bound and id(candidate) not in seen:
                seen.add(id(candidate))
                messages += [str(m) for errors in candidate.errors.values() for m in errors]
        if isinstance(value, list) and value and isinstance(value[0], dict) and "message" in value[0]:
            messages += [str(row["message"]) for row in value]  # the ledger import's rows
    page = response.content.decode()
    shown = [m for m in messages if html.escape(m) in page or m in page]
    return shown, [m for m in messages if m not in shown]


FORM_TAG = re.compile(r"<form\b[^>]*>", re.IGNORECASE)
ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')


def post_targets(response, url: str) -> set[str]:
    """The keys (see ``Form.key``) of the addresses the page's POST forms send to."""
    targets = set()
    for tag in FORM_TAG.findall(response.content.decode()):
        attributes = dict(ATTRIBUTE.findall(tag))
        if attributes.get("method", "get").lower() != "post":
            continue
        action = html.unescape(attributes.get("action") or url)
        match = resolve(urlsplit(action).path)
        step = match.kwargs.get("step")
        targets.add(f"{match.view_name}/{step}" if step else match.view_name)
    return targets


# Addresses that redirect anonymous visitors elsewhere than to sign in (they need no sign-in).
OPEN_TO_ANONYMOUS = {"set_language", "account:logout", "core:elder-mode"}


def redirect_problem(response, role: str, name: str) -> str:
    """Redirects stay on the site; an anonymous visitor of a signed-in page is sent to sign in."""
    location = response["Location"]
    parts = urlsplit(location)
    if parts.scheme or parts.netloc or not location.startswith("/"):
        return f"redirects off the site to {location!r}"
    if role == ANONYMOUS and name not in OPEN_TO_ANONYMOUS and not location.startswith(f"{LOGIN}?next="):
        return f"sends an anonymous visitor to {location!r}"
    return ""


# --- the walk -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(set(PATTERNS) - set(SKIPPED)))
def test_page_answers_each_role(name, world, clients):
    """GET every page as every role: the expected status, never 500; anonymous visitors are sent to
    sign in; redirects stay on the site; every POST form a page shows is one this module sends."""
    assert name in PAGES, f"no expectations for {name}"
    wrong = []
    for variant in PAGES[name]:
        url = variant.url(name, world)
        where = f"{name} {variant.label}".strip()
        for role, expected in variant.expected.items():
            response = clients[role].get(url)
            got = response.status_code
            if got != expected:
                wrong.append(f"{where} as {role}: {got}, expected {expected}{failure(response)}")
                continue
            if got == 302 and (problem := redirect_problem(response, role, name)):
                wrong.append(f"{where} as {role}: {problem}")
            if got == 200 and response["Content-Type"].startswith("text/html"):
                unknown = post_targets(response, url) - FORM_KEYS
                if unknown:
                    wrong.append(f"{where} as {role}: POST forms not in FORMS: {sorted(unknown)}")
    assert not wrong, "\n" + "\n".join(wrong)


# --- POST forms ---------------------------------------------------------------------------------


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def ledger_csv(world) -> bytes:
    """A ledger with one good row and one bad in every column: the file must be refused as a whole."""
    from banyan.people.ledgers import COLUMNS

    unit = world.building_g01.units.order_by("id").first()
    good = ["T-NEW-H1", world.building_g01.code, unit.number, "测试", make_id_number(), "13900000001", "户主"]
    bad = ["T-NEW-H2", "NO-SUCH-BUILDING", LONG, LONG, "123", "phone", "pope", "?", "nope"]
    out = io.StringIO()
    out.write(",".join(c.header_zh for c in COLUMNS) + "\n")
    out.write(",".join(good) + "\n")
    out.write(",".join(bad) + "\n")
    return out.getvalue().encode()


def units_real_run(world) -> dict:
    """The real run of a flat list that passed the check (its digest is sent), yet has a bad row: the
    import writes nothing."""
    from banyan.people.unit_views import _file_digest

    data = f"楼栋,房号,专有面积\n{world.building_g01.code},9-01-101,80\n99幢,1-01-101,x\n".encode()
    return {
        "community": world.community.code,
        "file": upload("flats.csv", data),
        "dry_run": "0",
        "checked": _file_digest(data),
    }


def ledger_real_run(world) -> dict:
    """The real run of a file that passed the check (its digest is sent), yet has a bad row: the
    import writes nothing."""
    from banyan.people.views import _file_digest

    data = ledger_csv(world)
    return {"file": upload("ledger.csv", data), "dry_run": "0", "checked": _file_digest(data)}


@dataclass(frozen=True)
class Form:
    """A POST address, the bodies to send it, and what each role gets for them.

    ``expected`` holds for every payload unless ``overrides`` names the payload. Every payload here
    is one the form must refuse (or, for sign-out, language and elder mode, one without any effect
    on the data).
    """

    label: str
    name: str
    args: Callable[[World], list]
    payloads: dict[str, Callable[[World], dict]]
    expected: str
    overrides: dict[str, str] = field(default_factory=dict)
    query: str = ""

    @property
    def key(self) -> str:
        _name, _slash, step = self.label.partition("/")
        return f"{self.name}/{step}" if step else self.name

    def url(self, world: World) -> str:
        return reverse(self.name, args=self.args(world)) + (f"?{self.query}" if self.query else "")

    def expected_for(self, payload: str) -> dict[str, int]:
        return codes(self.overrides.get(payload, self.expected))


def empty(world):
    return {}


def step_form(step: str, expected: str, *, overrides=None, **payloads) -> Form:
    return Form(
        f"incident-step/{step}",
        "response:incident-step",
        lambda w: [w.incident_g01.pk, step],
        {"empty": empty, **payloads},
        expected,
        overrides or {},
    )


def version(world) -> int:
    return world.incident_g01.version


def stale(world) -> dict:
    """A well-formed step on the incident as it was seven changes ago."""
    return {"version": version(world) + 7, "note": "done"}


def not_an_image():
    return upload("scene.jpg", b"GIF89a but not really" + b"\x00" * 64, "image/jpeg")


def hand_over(world, **changes) -> dict:
    """A well-formed hand-over of the G01 incident to the body it is with, but for ``changes``."""
    incident = world.incident_g01
    return {"version": incident.version, "organisation": incident.accountable_id, "reason": "ok", **changes}


# The incident in G01 is "assigned" to grid01. Steps of the assignee (accept, decline, on scene,
# resolve): grid01; anyone else in scope who may handle incidents is not the assignee (403), roles
# out of scope get 404. Steps of managers (assign, close, cancel): admin, street01 and director.
# A step the incident's state does not allow (resolve before accepting; close before resolving) is
# 409, as the service answers with a well-formed body.
ASSIGNEE_STEP = "302 403 403 403 200 404 403 404 403 403"
ASSIGNEE_STEP_IN_WRONG_STATE = "302 403 403 403 409 404 403 404 403 403"
MANAGER_STEP = "302 200 200 200 403 403 403 403 403 403"
MANAGER_STEP_IN_WRONG_STATE = "302 409 409 409 403 403 403 403 403 403"

FORMS: list[Form] = [
    # core: sign-in refuses with the errors shown; signed-in people are sent home.
    Form(
        "login",
        "account:login",
        lambda w: [],
        {
            "empty": empty,
            "garbage": lambda w: {"username": LONG, "password": NUL, "next": EVIL},
            "nul-username": lambda w: {"username": NUL, "password": "banyan-demo-2026"},
        },
        "200 302 302 302 302 302 302 302 302 302",
    ),
    # Sign-out, elder mode and language answer a redirect (on the site) whatever they are sent.
    Form(
        "logout",
        "account:logout",
        lambda w: [],
        {"empty": empty, "garbage": lambda w: {"next": EVIL}},
        "302 302 302 302 302 302 302 302 302 302",
    ),
    Form(
        "otp-verify",
        "account:otp-verify",
        lambda w: [],
        {
            "empty": empty,
            "garbage": lambda w: {"code": LONG, "next": EVIL},
            "recovery-garbage": lambda w: {"recovery_code": NUL, "next": EVIL},
        },
        "302 200 200 200 200 200 200 200 302 200",
    ),
    Form(
        "otp-setup",
        "account:otp-setup",
        lambda w: [],
        {"empty": empty, "garbage": lambda w: {"code": "12ab56", "next": EVIL}},
        "302 302 302 302 302 302 302 302 200 302",
    ),
    Form(
        "elder-mode",
        "core:elder-mode",
        lambda w: [],
        {"empty": empty, "garbage": lambda w: {"next": "//evil.example/x"}},
        "302 302 302 302 302 302 302 302 302 302",
    ),
    Form(
        "set-language",
        "set_language",
        lambda w: [],
        {"empty": empty, "garbage": lambda w: {"language": LONG, "next": EVIL}},
        "302 302 302 302 302 302 302 302 302 302",
    ),
    # places: the grid editor's save (a refused set of grids changes nothing)
    Form(
        "grid-editor",
        "places:grid-editor",
        lambda w: [w.community.code],
        {
            "empty": empty,
            "garbage": lambda w: {"grids": LONG + NUL, "name_zh-G01": LONG, "remove": [LONG]},
            "not-a-collection": lambda w: {"grids": "[1, 2]"},
            "removing-a-grid-with-accounts": lambda w: {
                "grids": '{"type": "FeatureCollection", "features": []}',
            },
        },
        MATRIX_EDITORS,
    ),
    # places: importing a survey (a check that finds problems keeps nothing; an import needs the token of
    # a file this person checked)
    Form(
        "places-import",
        "places:import",
        lambda w: [],
        {
            "empty": empty,
            "garbage": lambda w: {
                "community": LONG + NUL,
                "code": LONG,
                "name": NUL,
                "street": HUGE,
                "crs": LONG,
                "bbox": NUL,
                "file": upload("x.geojson", b"\x00\xff" * 2500),
            },
            "broken-survey": lambda w: {
                "community": w.community.code,
                "crs": "gcj02",
                "file": upload(
                    "survey.geojson",
                    b'{"type": "FeatureCollection", "features": [{"type": "Feature", "id": "b1", '
                    b'"properties": {"kind": "building", "name": "1"}, "geometry": '
                    b'{"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}]}',
                ),
            },
            "not-a-zip": lambda w: {
                "community": w.community.code,
                "file": upload("survey.zip", b"PK\x03\x04"),
            },
            "import-without-check": lambda w: {"action": "import", "token": LONG + NUL},
        },
        MATRIX_EDITORS,
    ),
    # people
    Form(
        "resident-reveal",
        "people:resident-reveal",
        lambda w: [w.resident_g01.pk],
        {
            "empty": empty,
            "garbage": lambda w: {"field": ["bogus", LONG], "purpose": LONG + NUL},
            # Every role that may reveal may reveal the phone; a phone number in the purpose is refused.
            "phone-in-purpose": lambda w: {"field": ["phone"], "purpose": "call 13912345678 back"},
        },
        "302 200 200 200 200 404 200 200 200 403",
    ),
    Form(
        "resident-reveal (unknown)",
        "people:resident-reveal",
        lambda w: [HUGE_ID],
        {"empty": empty},
        NOT_FOUND_TO_ALL,
    ),
    Form(
        "ledger-import",
        "people:ledger-import",
        lambda w: [],
        {
            "empty": empty,
            "garbage": lambda w: {
                "file": upload("x.csv", b"\x00\xff" * 2500),
                "dry_run": "maybe",
                "checked": LONG,
            },
            "not-a-workbook": lambda w: {
                "file": upload("ledger.xlsx", b"PK\x03\x04" + b"\x00" * 200),
                "dry_run": "0",
            },
            "bad-rows-real-run": ledger_real_run,
        },
        LEDGER_IMPORTERS,
    ),
    Form(
        "units-import",
        "people:units-import",
        lambda w: [],
        {
            "empty": empty,
            "garbage": lambda w: {
                "community": LONG + NUL,
                "file": upload("x.csv", b"\x00\xff" * 2500),
                "dry_run": "maybe",
                "checked": LONG,
            },
            "not-a-workbook": lambda w: {
                "community": w.community.code,
                "file": upload("flats.xlsx", b"PK\x03\x04" + b"\x00" * 200),
                "dry_run": "0",
            },
            "bad-rows-real-run": units_real_run,
        },
        MATRIX_EDITORS,
    ),
    Form(
        "units-generate",
        "people:units-generate",
        lambda w: [],
        {
            "empty": empty,
            "garbage": lambda w: {
                "community": NUL,
                "flats_per_floor": HUGE,
                "area_m2": LONG,
                "first_floor": "-1",
            },
            "out-of-reach": lambda w: {"community": "T-NOWHERE", "flats_per_floor": "2", "area_m2": "80"},
            "too-many-flats": lambda w: {
                "community": w.community.code,
                "flats_per_floor": "41",
                "area_m2": "0",
            },
        },
        MATRIX_EDITORS,
    ),
    Form(
        "ledger-export-reveal",
        "people:ledger-export-reveal",
        lambda w: [],
        {
            "empty": empty,
            "garbage": lambda w: {"field": ["care_details", HUGE], "purpose": LONG},
            "phone-in-purpose": lambda w: {"field": ["phone"], "purpose": "call 13912345678 back"},
        },
        "302 200 200 200 200 404 403 403 403 403",
        query="grid=G01",
    ),
    Form(
        "ledger-export-reveal (NUL in the grid)",
        "people:ledger-export-reveal",
        lambda w: [],
        {"empty": empty},
        NUL_REFUSED,
        query=q(grid=NUL),
    ),
    Form(
        "my-data-reveal",
        "people:my-data-reveal",
        lambda w: [],
        {"empty": empty, "garbage": lambda w: {"field": ["bogus", LONG + NUL]}},
        OWN_DATA,
    ),
    # A bad format goes back to the page with the reason; nothing is exported or audited.
    Form(
        "my-data-export",
        "people:my-data-export",
        lambda w: [],
        {"empty": empty, "garbage": lambda w: {"format": LONG + NUL}},
        "302 404 404 404 404 404 404 404 302 404",
    ),
    Form(
        "my-correction-new",
        "people:my-correction-new",
        lambda w: [],
        {
            "empty": empty,
            "garbage": lambda w: {"field": "salary", "proposed_value": LONG + NUL, "note": LONG},
            "bad-id-number": lambda w: {"field": "id_number", "proposed_value": "123"},
            "hidden-characters": lambda w: {"field": "name", "proposed_value": "王\u202e芳"},
        },
        OWN_DATA,
    ),
    # Accepting takes no input: a request answered already is refused with the reason (409).
    Form(
        "correction-accept",
        "people:correction-accept",
        lambda w: [w.correction_answered_g01.pk],
        {"empty": empty},
        "302 409 409 409 409 404 403 403 403 403",
    ),
    Form(
        "correction-reject",
        "people:correction-reject",
        lambda w: [w.correction_g01.pk],
        {"empty": empty, "garbage": lambda w: {"reason": LONG + NUL}, "blank": lambda w: {"reason": " \n "}},
        "302 200 200 200 200 404 403 403 403 403",
    ),
    # accounts: only administrators make and change them; street officers and directors help those
    # below them sign in (a ticked box confirms each step)
    Form(
        "user-new",
        "people:accounts:user-new",
        lambda w: [],
        {
            "empty": empty,
            "garbage": lambda w: {
                "username": LONG + NUL,
                "family_name": LONG,
                "role": "pope",
                "region": HUGE,
            },
            "region-of-another-kind": lambda w: {
                "username": "t-pages-director",
                "family_name": "王",
                "role": "community_director",
                "region": w.grid_g01.pk,
            },
            "taken": lambda w: {"username": "GRID01", "family_name": "王", "role": "auditor"},
        },
        ACCOUNT_CHANGERS,
    ),
    Form(
        "user-detail",
        "people:accounts:user-detail",
        lambda w: [w.users["grid01"].pk],
        {
            "empty": empty,
            "garbage": lambda w: {"family_name": NUL, "given_name": LONG, "role": "pope", "region": "x"},
            "to-resident": lambda w: {"family_name": "杨", "role": "resident", "region": w.grid_g01.pk},
        },
        ACCOUNT_CHANGERS,
    ),
    Form(
        "user-detail (unknown)",
        "people:accounts:user-detail",
        lambda w: [HUGE_ID],
        {"empty": empty},
        "302 404 403 403 403 403 403 403 403 403",
    ),
    Form(
        "user-active",
        "people:accounts:user-active",
        lambda w: [w.users["grid01"].pk],
        {
            "empty": empty,
            "unconfirmed": lambda w: {"active-active": "0"},
            "garbage": lambda w: {"active-active": LONG, "active-confirm": NUL},
        },
        ACCOUNT_CHANGERS,
    ),
    Form(
        "user-password",
        "people:accounts:user-password",
        lambda w: [w.users["grid01"].pk],
        {"empty": empty, "unconfirmed": lambda w: {"password-confirm": ""}},
        ACCOUNT_CHANGERS,
    ),
    *(
        Form(
            f"user-{step}",
            f"people:accounts:user-{step}",
            lambda w: [w.users["grid01"].pk],
            {"empty": empty, "garbage": lambda w, step=step: {f"{step}-confirm": "", "next": EVIL}},
            ACCOUNT_VIEWERS,
        )
        for step in ("second-factor", "unlock")
    ),
    Form(
        "user-second-factor (unknown)",
        "people:accounts:user-second-factor",
        lambda w: [HUGE_ID],
        {"empty": empty},
        "302 404 404 404 403 403 403 403 403 403",
    ),
    Form(
        "token-list",
        "people:token-list",
        lambda w: [],
        {
            "empty": empty,
            "garbage": lambda w: {"name": LONG + NUL, "scopes": ["admin", LONG], "days": HUGE},
            "too-long-lived": lambda w: {"scopes": ["read"], "days": "366"},
        },
        EVERYONE_SIGNED_IN,
    ),
    Form(
        "token-revoke (unknown)",
        "people:token-revoke",
        lambda w: [HUGE_ID],
        {"empty": empty},
        NOT_FOUND_TO_ALL,
    ),
    # warning (acknowledging takes no input: see test_acknowledging_an_alert_by_role)
    Form(
        "alert-resolve",
        "warning:alert-resolve",
        lambda w: [w.alert_g01.pk],
        {"empty": empty, "garbage": lambda w: {"note": LONG + NUL}, "blank": lambda w: {"note": " \n\t "}},
        "302 200 200 200 200 404 200 403 403 403",
    ),
    Form(
        "alert-resolve (unknown)",
        "warning:alert-resolve",
        lambda w: [HUGE_ID],
        {"empty": empty},
        "302 404 404 404 404 404 404 403 403 403",
    ),
    # Revealing the numbers to call: fall and SOS alerts only (warning/tests/test_person_at_risk.py).
    Form(
        "alert-call (not about a person)",
        "warning:alert-call",
        lambda w: [w.alert_g01.pk],
        {"empty": empty, "garbage": lambda w: {"purpose": LONG + NUL}},
        "302 403 403 403 403 404 403 403 403 403",
    ),
    # the alert rules: a form the engine refuses (settings named at the field), or not even a form
    Form(
        "rule-detail",
        "warning:rule-detail",
        lambda w: [w.alert_g01.rule_id],
        {
            "empty": empty,
            "garbage": lambda w: {
                "name": LONG + NUL,
                "grade": "purple",
                "incident_category": LONG,
                "settings": "[" * 5000,
            },
            "engine-refuses": lambda w: {
                "name": "积水",
                "grade": "red",
                "settings": '{"metric": "water_level_cm", "raise_at": "high"}',
            },
            "not-an-object": lambda w: {"name": "积水", "grade": "red", "settings": "[1, 2]"},
        },
        MATRIX_EDITORS,
    ),
    Form(
        "rule-detail (unknown)",
        "warning:rule-detail",
        lambda w: [HUGE_ID],
        {"empty": empty},
        "302 404 404 404 403 403 403 403 403 403",
    ),
    # devices: registering (places picked from lists, a unit by its number) and the service state
    Form(
        "device-new",
        "sensing:device-new",
        lambda w: [],
        {
            "empty": empty,
            "garbage": lambda w: {
                "code": LONG + NUL,
                "kind": LONG,
                "grid": HUGE,
                "building": "abc",
                "unit": LONG,
                "facility": NUL,
                "expected_interval_s": HUGE,
            },
            "unit-not-in-building": lambda w: {
                "code": "T-PAGES-1",
                "kind": "smoke",
                "building": w.building_g01.pk,
                "unit": "9-99-9999",
            },
            "nowhere": lambda w: {"code": "T-PAGES-2", "kind": "smoke"},
        },
        MATRIX_EDITORS,
    ),
    Form(
        "device-status",
        "sensing:device-status",
        lambda w: [communal_device(w.grid_g01)],
        {
            "empty": empty,
            "garbage": lambda w: {"status": LONG + NUL},
            "unknown": lambda w: {"status": "broken"},
        },
        MATRIX_EDITORS,
    ),
    Form(
        "device-import",
        "sensing:device-import",
        lambda w: [],
        {
            "empty": empty,
            "garbage": lambda w: {"community": LONG + NUL, "file": upload("x.csv", b"\x00\xff" * 2500)},
            "not-a-workbook": lambda w: {
                "community": w.community.code,
                "file": upload("devices.xlsx", b"PK\x03\x04" + b"\x00" * 200),
            },
            "bad-rows-real-run": lambda w: {
                "community": w.community.code,
                "file": upload("devices.csv", "编号,类型\nT-PAGES-D1,smoke\nbad/code,x\n".encode()),
            },
        },
        MATRIX_EDITORS,
    ),
    Form(
        "device-status (unknown)",
        "sensing:device-status",
        lambda w: [HUGE_ID],
        {"empty": empty},
        "302 404 404 404 403 403 403 403 403 403",
    ),
    Form(
        "rule-new",
        "warning:rule-new",
        lambda w: [],
        {
            "empty": empty,
            "garbage": lambda w: {"kind": LONG, "community": NUL, "name": LONG, "settings": HUGE},
            "out-of-reach": lambda w: {
                "kind": "threshold",
                "community": "T-NOWHERE",
                "name": "积水",
                "grade": "red",
                "settings": '{"metric": "water_level_cm", "raise_at": 50}',
            },
            "engine-refuses": lambda w: {
                "kind": "offline",
                "community": w.community.code,
                "name": "掉线",
                "grade": "blue",
                "settings": '{"interval_s": -5}',
            },
        },
        MATRIX_EDITORS,
    ),
    # response: the steps of an incident
    step_form(
        "accept",
        ASSIGNEE_STEP,
        garbage=lambda w: {"version": "9" * 5000},
        stale=stale,
        overrides={"stale": ASSIGNEE_STEP.replace(" 200 ", " 409 ")},
    ),
    step_form(
        "decline",
        ASSIGNEE_STEP,
        garbage=lambda w: {"version": "-1", "note": NUL},
    ),
    step_form(
        "on-scene",
        ASSIGNEE_STEP,
        garbage=lambda w: {"version": "one", "latitude": "north", "longitude": "1e400"},
        out_of_range=lambda w: {"version": version(w), "latitude": "1000", "longitude": "-1000"},
        bad_photo=lambda w: {"version": version(w), "photos": not_an_image()},
    ),
    step_form(
        "resolve",
        ASSIGNEE_STEP_IN_WRONG_STATE,
        well_formed=lambda w: {"version": version(w), "note": "done"},
    ),
    step_form(
        "assign",
        MANAGER_STEP,
        garbage=lambda w: {"version": "x", "assignee": HUGE},
        not_a_responder=lambda w: {"version": version(w), "assignee": w.users["resident01"].pk},
        stale=lambda w: {"version": version(w) + 7, "assignee": w.users["grid01"].pk},
        overrides={"stale": MANAGER_STEP.replace("200", "409")},
    ),
    step_form(
        "close",
        MANAGER_STEP_IN_WRONG_STATE,
        well_formed=lambda w: {"version": version(w)},
    ),
    step_form(
        "cancel",
        MANAGER_STEP,
        long=lambda w: {"version": version(w), "note": LONG + NUL},
    ),
    Form(
        "incident-step/bogus",
        "response:incident-step",
        lambda w: [w.incident_g01.pk, "bogus"],
        {"empty": empty},
        "302 404 404 404 404 404 404 404 403 404",
    ),
    Form(
        "incident-step (unknown incident)",
        "response:incident-step",
        lambda w: [HUGE_ID, "accept"],
        {"empty": empty},
        "302 404 404 404 404 404 404 404 403 403",
    ),
    Form(
        "incident-hand-over",
        "response:incident-hand-over",
        lambda w: [w.incident_g01.pk],
        {
            "empty": empty,
            "garbage": lambda w: {"version": "x", "organisation": HUGE, "role": "pope", "reason": LONG + NUL},
            "unknown-organisation": lambda w: hand_over(w, organisation=UNKNOWN_ID),
            "role-that-does-not-exist": lambda w: hand_over(w, role="not-a-role"),  # issue 10, finding 5
            "blank-reason": lambda w: hand_over(w, reason="  "),
            "stale": lambda w: hand_over(w, version=version(w) + 7),
        },
        MANAGER_STEP,
        overrides={"stale": MANAGER_STEP.replace("200", "409")},
    ),
    # Backup is for the assignee once they have accepted: grid01 has not (409); others are not the
    # assignee (403) or do not see the incident (404).
    Form(
        "incident-backup",
        "response:incident-backup",
        lambda w: [w.incident_g01.pk],
        {"empty": empty, "garbage": lambda w: {"note": LONG}},
        "302 403 403 403 409 404 403 404 403 403",
    ),
    Form(
        "matrix-cell",
        "response:matrix-cell",
        lambda w: [],
        {
            "empty": empty,
            "garbage": lambda w: {
                "category": LONG,
                "region": NUL,
                "accountable": HUGE,
                "accountable_role": "pope",
                "backup": "NOPE",
                "backup_role": LONG,
                "escalation_1": "NOPE",
                "escalation_1_role": "pope",
                "escalation_2_role": LONG,
            },
            "region-out-of-reach": lambda w: {
                "category": "flooding",
                "region": w.district.code,
                "accountable": "ORG-COMMITTEE",
            },
            "bad-escalation": lambda w: {
                "category": "flooding",
                "region": w.community.code,
                "accountable": "ORG-COMMITTEE",
                "escalation_1": "ORG-STREET",
                "escalation_1_role": "street_officer",
                "escalation_2": "ORG-NOPE",
                "escalation_3": "ORG-STREET",
                "escalation_3_role": "pope",
            },
            "escalation-role-without-body": lambda w: {
                "category": "flooding",
                "region": w.community.code,
                "accountable": "ORG-COMMITTEE",
                "escalation_2_role": "street_officer",
            },
        },
        MATRIX_EDITORS,
    ),
    # reports
    Form(
        "report-new",
        "reports:new",
        lambda w: [],
        {
            "empty": empty,
            "garbage": lambda w: {
                "category": LONG,
                "place": "mars",
                "building": HUGE,
                "unit": "abc",
                "description": LONG,
                "photo": not_an_image(),
            },
            "unit-of-another-building": lambda w: {
                "category": "flooding",
                "place": "building",
                "building": w.building_g01.code,
                "unit": w.building_g02.units.order_by("id").first().pk,
            },
            "not-an-image": lambda w: {
                "category": "flooding",
                "place": "building",
                "building": w.building_g01.code,
                "description": "Water in the stairwell",
                "photo": not_an_image(),
            },
        },
        REPORTERS,
    ),
    # Only the reporter rates, once the incident is closed (it is still open: 409).
    Form(
        "report-rate",
        "reports:rate",
        lambda w: [w.report.pk],
        {
            "empty": empty,
            "garbage": lambda w: {"rating": "abc", "comment": LONG + NUL},
            "out-of-range": lambda w: {"rating": "6"},
            "not-yet-closed": lambda w: {"rating": "5", "comment": "ok"},
        },
        "302 404 404 404 404 404 404 404 409 403",
    ),
    # Notifications are one's own: an unknown one is 404; "all seen" needs the inbox's newest id.
    Form(
        "notify-acknowledge (unknown)",
        "notify:acknowledge",
        lambda w: [HUGE_ID],
        {"empty": empty, "garbage": lambda w: {"next": EVIL}},
        "302 404 404 404 404 404 404 404 404 404",
    ),
    Form(
        "notify-acknowledge-all",
        "notify:acknowledge-all",
        lambda w: [],
        {"empty": empty, "garbage": lambda w: {"up_to": LONG, "next": EVIL}, "nul": lambda w: {"up_to": NUL}},
        "302 302 302 302 302 302 302 302 302 302",
    ),
    Form(
        "report-rate (unknown)",
        "reports:rate",
        lambda w: [HUGE_ID],
        {"empty": empty},
        "302 404 404 404 404 404 404 404 404 403",
    ),
    # "Not solved" is the reporter's, on a resolved or closed report (it is still open: 409).
    Form(
        "report-reopen",
        "reports:reopen",
        lambda w: [w.report.pk],
        {
            "empty": empty,
            "garbage": lambda w: {"reason": LONG + NUL},
            "not-yet-resolved": lambda w: {"reason": "still leaking"},
        },
        "302 404 404 404 404 404 404 404 409 403",
    ),
    # "Me too" on an incident that is not one of one's community's open ones: the same 404 as missing.
    Form(
        "report-support (unknown)",
        "reports:support",
        lambda w: [HUGE_ID],
        {"empty": empty, "garbage": lambda w: {"reason": LONG}},
        "302 404 404 404 404 404 404 404 404 403",
    ),
    # care: "I'm fine" is the resident's own button (outcome fine, nothing else); a staff check-in refuses
    # what is not a choice (the app tap is the resident's); a plan starts from a named care kind's template.
    Form(
        "care-checkin",
        "care:checkin",
        lambda w: [],
        {
            "empty": empty,
            "garbage": lambda w: {"outcome": LONG + NUL},
            "help": lambda w: {"outcome": "need_help"},
        },
        "302 403 403 403 403 403 403 403 302 403",
    ),
    Form(
        "care-resident-checkin",
        "care:resident-checkin",
        lambda w: [w.resident_g01.pk],
        {
            "empty": empty,
            "garbage": lambda w: {"outcome": LONG, "channel": NUL, "note": LONG + NUL},
            "app-channel": lambda w: {"outcome": "fine", "channel": "app"},
            "nul-note": lambda w: {"outcome": "fine", "channel": "staff", "note": NUL},
        },
        "302 200 200 200 200 404 403 200 403 403",
    ),
    Form(
        "care-plan-edit",
        "care:plan-edit",
        lambda w: [care_plan_g01(w)],
        {
            "empty": empty,
            "garbage": lambda w: {
                "checkin_time": LONG,
                "grace_minutes": HUGE,
                "visit_interval_days": NUL,
                "channels": ["fax", LONG],
                "escalation": NUL,
            },
            "no-channel": lambda w: {
                "checkin_time": "09:00",
                "grace_minutes": "60",
                "visit_interval_days": "7",
                "escalation": "next_channel",
            },
        },
        "302 200 200 200 200 404 403 403 403 403",
    ),
    Form(
        "carer-link",
        "people:carer-link",
        lambda w: [carer_g01(w)],
        {"empty": empty, "garbage": lambda w: {"username": LONG + NUL}},
        "302 200 200 200 200 404 403 403 403 403",
    ),
    Form(
        "carer-grant",
        "people:carer-grant",
        lambda w: [carer_g01(w)],
        {
            "empty": empty,
            "garbage": lambda w: {"given_by": NUL, "scopes": [LONG, NUL], "valid_until": LONG},
            "no-scope": lambda w: {"given_by": "self"},
        },
        "302 200 200 200 200 404 403 403 403 403",
    ),
    Form(
        "carer-withdraw",
        "people:carer-withdraw",
        lambda w: [carer_consent_g01(w)],
        {"empty": empty, "garbage": lambda w: {"consent": HUGE}},
        "302 200 200 200 200 404 403 403 403 403",
    ),
    Form(
        "care-plan-create",
        "care:plan-create",
        lambda w: [w.resident_g01.pk],
        {"empty": empty, "garbage": lambda w: {"care_kind": LONG + NUL}},
        "302 302 302 302 302 404 403 403 403 403",
    ),
    # "Make all plans" says how many it showed: an empty or wrong count makes nothing.
    Form(
        "care-plan-create-all",
        "care:plan-create-all",
        lambda w: [],
        {"empty": empty, "garbage": lambda w: {"count": LONG + NUL}, "wrong": lambda w: {"count": "-1"}},
        "302 302 302 302 302 302 403 403 403 403",
    ),
    # "Send someone" for a resident nobody can see: 404 for staff (a real one is in care/tests/test_board.py).
    Form(
        "care-send",
        "care:send",
        lambda w: [HUGE_ID],
        {"empty": empty, "garbage": lambda w: {"next": LONG + NUL}},
        "302 404 404 404 404 404 403 403 403 403",
    ),
    Form(
        "care-proxy-checkin",
        "care:proxy-checkin",
        lambda w: [w.resident_g01.pk],
        {"empty": empty, "garbage": lambda w: {"outcome": LONG + NUL}},
        "302 404 404 404 404 404 404 404 404 404",
    ),
    Form(
        "care-visit",
        "care:visit",
        lambda w: [care_visit_g01(w)],
        {
            "empty": empty,
            "garbage": lambda w: {"outcome": LONG + NUL, "note": LONG + NUL},
            "nul-note": lambda w: {"outcome": "well", "note": NUL},
            "not-a-photo": lambda w: {
                "outcome": "well",
                "photo": SimpleUploadedFile("a.jpg", b"not a picture", content_type="image/jpeg"),
            },
        },
        "302 403 403 403 200 404 403 404 404 403",
    ),
    # the hazard register: a bad score or note is shown at its field to managers; marking reviewed needs
    # the page's stamp of the hazard (else 409); viewers may not (403).
    Form(
        "hazard-edit",
        "emergency:hazard-detail",
        lambda w: [hazard_flood(w)],
        {
            "empty": empty,
            "garbage": lambda w: {"likelihood": HUGE, "impact": NUL, "notes": LONG},
            "out-of-range": lambda w: {"likelihood": "0", "impact": "6", "notes": "x"},
        },
        "302 200 200 200 403 403 403 403 403 403",
    ),
    Form(
        "hazard-review",
        "emergency:hazard-review",
        lambda w: [hazard_flood(w)],
        {"empty": empty, "garbage": lambda w: {"seen": LONG + NUL}},
        "302 409 409 409 403 403 403 403 403 403",
    ),
    # the plan editor: sections and rows refused at their fields (a missing row count is said above them)
    Form(
        "plan-edit",
        "emergency:plan-edit",
        lambda w: [plan_typhoon_ii(w)],
        {
            "empty": empty,
            "garbage": lambda w: {
                "title_zh": LONG,
                "lead_organisation_kind": NUL,
                "lead_role": "resident",
                "cap_min_severity": LONG,
                "alert_rules": ["volcano", NUL],
                "facilities": ["castle"],
                "roll_call": "on",
                "roll_call_wait": HUGE,
                "change_note": NUL,
                "tasks-TOTAL_FORMS": HUGE,
                "tasks-INITIAL_FORMS": "-1",
            },
            "bad-rows": lambda w: {
                "title_zh": "台风",
                "lead_organisation_kind": "community_committee",
                "lead_role": "community_director",
                "cap_min_severity": "Severe",
                "change_note": "x",
                "tasks-TOTAL_FORMS": "1",
                "tasks-INITIAL_FORMS": "0",
                "tasks-0-key": "Bad Key",
                "tasks-0-title_zh": LONG,
                "tasks-0-owner_kind": "army",
                "tasks-0-owner_role": "resident",
                "tasks-0-due_minutes": "-1",
                "notices-TOTAL_FORMS": "1",
                "notices-INITIAL_FORMS": "0",
                "notices-0-key": "n",
                "notices-0-audience": "martians",
                "notices-0-text_zh": NUL,
                "notices-0-channels": ["fax"],
                "supplies-TOTAL_FORMS": "1",
                "supplies-INITIAL_FORMS": "0",
                "supplies-0-kind": "gold",
                "supplies-0-quantity": HUGE,
            },
        },
        "302 200 200 200 403 403 403 403 403 403",
    ),
    # shelters: a closed shelter refuses every check-in (302 with the reason), a bad emergency is refused
    # by the managers who may open one; checking out a stay nobody sees is 404; a stock move refuses what
    # is not a move, a negative quantity and an unknown household.
    Form(
        "shelter-search",
        "emergency:shelter-detail",
        lambda w: [shelter_centre(w)],
        {"empty": empty, "garbage": lambda w: {"q": LONG + NUL}, "nul": lambda w: {"q": NUL}},
        "302 200 200 200 200 200 200 200 403 403",
    ),
    Form(
        "shelter-check-in",
        "emergency:shelter-check-in",
        lambda w: [shelter_centre(w)],
        {
            "empty": empty,
            "garbage": lambda w: {"resident": HUGE, "id_number": LONG + NUL},
            "unknown-id-number": lambda w: {"id_number": make_id_number()},
            "resident": lambda w: {"resident": w.resident_g01.pk},
        },
        "302 302 302 302 302 302 302 302 403 403",
        overrides={"resident": "302 302 302 302 302 404 302 302 403 403"},
    ),
    Form(
        "shelter-open",
        "emergency:shelter-open",
        lambda w: [shelter_centre(w)],
        {
            "empty": empty,
            "garbage": lambda w: {"emergency": LONG + NUL},
            "unknown": lambda w: {"emergency": UNKNOWN_ID},
        },
        "302 302 302 302 403 403 403 403 403 403",
    ),
    Form(
        "shelter-close",
        "emergency:shelter-close",
        lambda w: [shelter_centre(w)],
        {"empty": empty, "garbage": lambda w: {"junk": LONG + NUL}},
        "302 302 302 302 403 403 403 403 403 403",
    ),
    Form(
        "shelter-check-out",
        "emergency:shelter-check-out",
        lambda w: [UNKNOWN_ID],
        {"empty": empty, "garbage": lambda w: {"junk": LONG + NUL}},
        "302 404 404 404 404 404 404 404 403 403",
    ),
    Form(
        "stock-move",
        "emergency:stock-move",
        lambda w: [stock_water(w)],
        {
            "empty": empty,
            "garbage": lambda w: {"kind": LONG + NUL, "quantity": HUGE, "note": NUL},
            "negative": lambda w: {"kind": "distributed", "quantity": "-1", "household": w.household_g01.pk},
            "unknown-household": lambda w: {"kind": "distributed", "quantity": "1", "household": UNKNOWN_ID},
        },
        "302 302 302 302 302 302 302 302 403 403",
    ),
    # warnings to residents: a notice needs its Chinese text and an audience; door-knocking needs the
    # count of those the page listed; a subscription needs its place (grades besides red only).
    Form(
        "relay-notice",
        "emergency:relay-notice",
        lambda w: [relay_emergency(w)],
        {
            "empty": empty,
            "garbage": lambda w: {"text_zh": LONG + NUL, "text_en": NUL, "audience": LONG},
            "nul": lambda w: {"text_zh": NUL, "audience": "area"},
        },
        "302 200 200 200 403 403 403 403 403 403",
    ),
    Form(
        "relay-knock",
        "emergency:relay-knock",
        lambda w: [relay_emergency(w)],
        {"empty": empty, "garbage": lambda w: {"count": LONG + NUL}, "stale": lambda w: {"count": "-1"}},
        "302 200 200 200 403 403 403 403 403 403",
    ),
    Form(
        "relay-subscriptions",
        "emergency:relay-subscriptions",
        lambda w: [],
        {"empty": empty, "garbage": lambda w: {"place": LONG + NUL, "grades": ["red", HUGE]}},
        "302 403 403 403 403 403 403 403 200 403",
    ),
    # epidemic mode: a status or a delivery with bad fields, or for a household outside the area, is
    # refused (302 with the message naming the field) for those who look after households; the check-in's
    # answer is "ok" or "need_help" and nothing else.
    Form(
        "epidemic-status",
        "emergency:epidemic-status",
        lambda w: [epidemic_emergency(w)],
        {
            "empty": empty,
            "garbage": lambda w: {"household": HUGE, "status": LONG + NUL, "since": NUL, "until": LONG},
            "bad-dates": lambda w: {
                "household": w.household_g01.pk,
                "status": "cleared",
                "since": "2026-02-01",
                "until": "2026-01-01",
            },
            "outside": lambda w: {
                "household": w.household_g02.pk,
                "status": "isolating",
                "since": "2026-01-01",
            },
        },
        "302 302 302 302 302 302 403 403 403 403",
    ),
    Form(
        "epidemic-delivery",
        "emergency:epidemic-delivery",
        lambda w: [epidemic_emergency(w)],
        {
            "empty": empty,
            "garbage": lambda w: {"household": LONG, "kind": LONG + NUL, "what": LONG + NUL},
            "bad-kind": lambda w: {"household": w.household_g01.pk, "kind": "pizza"},
            "outside": lambda w: {"household": w.household_g02.pk, "kind": "groceries"},
        },
        "302 302 302 302 302 302 403 403 403 403",
    ),
    Form(
        "epidemic-answer",
        "emergency:epidemic-answer",
        lambda w: [epidemic_checkin_g01(w)],
        {"empty": empty, "garbage": lambda w: {"status": LONG + NUL}, "fine": lambda w: {"status": "fine"}},
        "302 404 404 404 404 404 404 404 200 404",
    ),
    # emergencies: managers activate a plan and run the board (a bad body is shown at its field); the
    # others in scope may not (403); one-click steps on an emergency or task nobody has: 404.
    Form(
        "emergency-activate",
        "emergency:emergencies",
        lambda w: [],
        {
            "empty": empty,
            "garbage": lambda w: {
                "community": HUGE,
                "hazard": LONG + NUL,
                "level": "9",
                "area_grids": [HUGE, "x"],
                "area_buildings": [LONG],
                "title": LONG + NUL,
            },
            "outside": lambda w: {
                "community": str(w.community.pk),
                "hazard": "typhoon",
                "level": "2",
                "area_buildings": [str(UNKNOWN_ID)],
            },
        },
        "302 200 200 200 403 403 403 403 403 403",
    ),  # fmt: skip
    # (an empty area form is a real change: the whole community; only its garbage is refused)
    *[
        Form(
            f"emergency-{name}",
            f"emergency:{name}",
            lambda w: [emergency_board_g01(w)],
            payloads,
            "302 200 200 200 403 403 403 403 403 403",
        )
        for name, payloads in (
            ("level", {"empty": empty, "garbage": lambda w: {"level": LONG, "note": LONG + NUL}}),
            (
                "area",
                {"garbage": lambda w: {"area_grids": [HUGE, "x"], "area_buildings": [LONG], "note": NUL}},
            ),
            (
                "stand-down",
                {"empty": empty, "garbage": lambda w: {"retention_days": "0", "note": LONG + NUL}},
            ),
        )
    ],
    *[
        Form(
            f"emergency-{name}",
            f"emergency:{name}",
            lambda w: [HUGE_ID],
            {"empty": empty, "garbage": lambda w: {"assignee": LONG + NUL, "note": NUL}},
            "302 404 404 404 404 404 404 404 403 404",
        )
        for name in ("confirm", "dismiss", "task-done", "task-assign")
    ],
    # the after-action review: managers add lessons (a bad body is shown at its field), propose the plan
    # change (refused without lessons: 400), add recovery tasks (409 while the emergency runs); the others
    # may not (403); a lesson or recovery task nobody has: 404.
    Form(
        "emergency-review-lesson",
        "emergency:review-lesson",
        lambda w: [emergency_board_g01(w)],
        {
            "empty": empty,
            "garbage": lambda w: {"text": LONG + NUL, "owner": HUGE, "owner_user": "x", "due": LONG},
            "no-owner": lambda w: {"text": "沙袋不够"},
        },
        "302 200 200 200 403 403 403 403 403 403",
    ),
    Form(
        "emergency-review-plan",
        "emergency:review-plan",
        lambda w: [emergency_board_g01(w)],
        {"empty": empty},
        "302 400 400 400 403 403 403 403 403 403",
    ),
    Form(
        "emergency-review-recovery",
        "emergency:review-recovery",
        lambda w: [emergency_board_g01(w)],
        {"garbage": lambda w: {"template": LONG + NUL}, "own": lambda w: {"title_zh": "清理垃圾"}},
        "302 409 409 409 403 403 403 403 403 403",
    ),
    *[
        Form(
            f"emergency-{name}",
            f"emergency:{name}",
            lambda w: [emergency_board_g01(w), HUGE_ID],
            {"empty": empty},
            "302 404 404 404 403 403 403 403 403 403",
        )
        for name in ("review-lesson-done", "review-recovery-done")
    ],
    # giving a real task to nobody: refused (400) for managers, 403 for those who see it, 404 for a
    # volunteer (only their own tasks)
    Form(
        "emergency-task-assign-real",
        "emergency:task-assign",
        lambda w: [emergency_task_g01(w)],
        {"empty": empty, "garbage": lambda w: {"assignee": LONG + NUL}},
        "302 400 400 400 403 403 403 404 403 403",
    ),
    # roll call: a second start while one is under way is refused (302 with the reason); the answer is
    # "safe" or "need_help" and nothing else; "safe after a call" needs its button's value.
    Form(
        "rollcall-start",
        "emergency:rollcall-start",
        lambda w: [rollcall_emergency(w)],
        {"empty": empty, "garbage": lambda w: {"next": LONG + NUL}},
        "302 302 302 302 403 403 403 403 404 403",
    ),
    Form(
        "rollcall-answer",
        "emergency:rollcall-answer",
        lambda w: [rollcall_entry_g01(w)],
        {"empty": empty, "garbage": lambda w: {"status": LONG + NUL}, "fine": lambda w: {"status": "fine"}},
        "302 404 404 404 404 404 404 404 200 404",
    ),
    Form(
        "rollcall-safe",
        "emergency:rollcall-safe",
        lambda w: [rollcall_entry_g01(w)],
        {"empty": empty, "garbage": lambda w: {"status": LONG + NUL, "note": LONG + NUL, "next": EVIL}},
        "302 302 302 302 302 404 403 403 403 403",
    ),
    # emergencies: managers activate a plan and run the board (a bad body is shown at its field); the
    # others in scope may not (403); one-click steps on an emergency or task nobody has: 404.
    Form(
        "emergency-activate",
        "emergency:emergencies",
        lambda w: [],
        {
            "empty": empty,
            "garbage": lambda w: {
                "community": HUGE,
                "hazard": LONG + NUL,
                "level": "9",
                "area_grids": [HUGE, "x"],
                "area_buildings": [LONG],
                "title": LONG + NUL,
            },
            "outside": lambda w: {
                "community": str(w.community.pk),
                "hazard": "typhoon",
                "level": "2",
                "area_buildings": [str(UNKNOWN_ID)],
            },
        },
        "302 200 200 200 403 403 403 403 403 403",
    ),  # fmt: skip
    # (an empty area form is a real change: the whole community; only its garbage is refused)
    *[
        Form(
            f"emergency-{name}",
            f"emergency:{name}",
            lambda w: [emergency_board_g01(w)],
            payloads,
            "302 200 200 200 403 403 403 403 403 403",
        )
        for name, payloads in (
            ("level", {"empty": empty, "garbage": lambda w: {"level": LONG, "note": LONG + NUL}}),
            (
                "area",
                {"garbage": lambda w: {"area_grids": [HUGE, "x"], "area_buildings": [LONG], "note": NUL}},
            ),
            (
                "stand-down",
                {"empty": empty, "garbage": lambda w: {"retention_days": "0", "note": LONG + NUL}},
            ),
        )
    ],
    *[
        Form(
            f"emergency-{name}",
            f"emergency:{name}",
            lambda w: [HUGE_ID],
            {"empty": empty, "garbage": lambda w: {"assignee": LONG + NUL, "note": NUL}},
            "302 404 404 404 404 404 404 404 403 404",
        )
        for name in ("confirm", "dismiss", "task-done", "task-assign")
    ],
    # giving a real task to nobody: refused (400) for managers, 403 for those who see it, 404 for a
    # volunteer (only their own tasks)
    Form(
        "emergency-task-assign-real",
        "emergency:task-assign",
        lambda w: [emergency_task_g01(w)],
        {"empty": empty, "garbage": lambda w: {"assignee": LONG + NUL}},
        "302 400 400 400 403 403 403 404 403 403",
    ),
]
# Forms without fields, tested on their own: acknowledging an alert (below), asking one's grid worker
# to get in touch (banyan/response/tests/test_resident_loop.py), verifying the audit chain now
# (banyan/audit/tests/test_pages.py).
FORM_KEYS = {form.key for form in FORMS} | {"warning:alert-acknowledge", "reports:contact", "audit:verify"}


WATCHED_APPS = ("places", "people", "audit", "warning", "notify", "response", "care")


def snapshot() -> dict:
    """Row counts of the domain apps (one query), and the state of every incident, alert, report and
    matrix cell."""
    from django.apps import apps
    from django.db import connection

    from banyan.response.models import Incident, Report, Responsibility
    from banyan.warning.models import Alert

    models = [model for app in WATCHED_APPS for model in apps.get_app_config(app).get_models()]
    counts = ", ".join(
        f"(SELECT COUNT(*) FROM {connection.ops.quote_name(m._meta.db_table)})" for m in models
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        state = dict(zip((m._meta.label for m in models), cursor.fetchone(), strict=True))
    state["incident states"] = list(
        Incident.objects.order_by("pk").values_list(
            "pk", "status", "version", "assignee_id", "accountable_id"
        )
    )
    state["alert states"] = list(Alert.objects.order_by("pk").values_list("pk", "status"))
    state["report ratings"] = list(Report.objects.order_by("pk").values_list("pk", "rating"))
    state["matrix"] = list(
        Responsibility.objects.order_by("pk").values_list("pk", "accountable_id", "backup_id", "updated_at")
    )
    return state


def changes(before: dict, after: dict) -> list[str]:
    return [key for key in before if before[key] != after[key]]


@pytest.mark.parametrize(
    ("form", "payload"),
    [(form, payload) for form in FORMS for payload in form.payloads],
    ids=[f"{form.label}-{payload}" for form in FORMS for payload in form.payloads],
)
def test_form_refuses_bad_input_by_role(form, payload, world, clients):
    """Each role POSTs the body: never 500; a refused form shows its errors (200) or the reason
    (409), or the role is turned away (403/404, anonymous to sign in); nothing is written."""
    url = form.url(world)
    wrong = []
    before = snapshot()
    for role, expected in form.expected_for(payload).items():
        response = clients[role].post(url, form.payloads[payload](world))
        got = response.status_code
        if got != expected:
            shown = f" showing {errors_shown(response)[0]}" if got == 200 else ""
            wrong.append(f"{role}: {got}{shown}, expected {expected}{failure(response)}")
        elif got == 200:
            shown, hidden = errors_shown(response)
            if not shown:
                wrong.append(f"{role}: 200 without a visible error (hidden: {hidden})")
        elif got == 409 and "message--warning" not in response.content.decode():
            wrong.append(f"{role}: 409 without saying why")
        elif got == 302 and (problem := redirect_problem(response, role, form.name)):
            wrong.append(f"{role}: {problem}")
        after = snapshot()
        if changed := changes(before, after):
            wrong.append(f"{role}: {got} but changed {changed}")
            before = after
    assert not wrong, "\n" + "\n".join(wrong)


def test_acknowledging_an_alert_by_role(world, clients):
    """The one form without fields: handlers in scope acknowledge (and only they change anything)."""
    from banyan.warning.models import Alert

    expected = codes("302 302 302 302 302 404 302 403 403 403")
    handlers = {"admin", "street01", "director", "grid01", "property01"}
    wrong = []
    for role in ROLES:
        alert = world.raise_alert(world.grid_g01)  # a fresh open alert for each role
        url = reverse("warning:alert-acknowledge", args=[alert.pk])
        response = clients[role].post(url, {"junk": LONG, "note": NUL})
        status = Alert.objects.filter(pk=alert.pk).values_list("status", flat=True).first()
        if response.status_code != expected[role]:
            wrong.append(f"{role}: {response.status_code}, expected {expected[role]}{failure(response)}")
        if status != ("acknowledged" if role in handlers else "open"):
            wrong.append(f"{role}: the alert is {status}")
        if role in handlers and response.get("Location") != reverse("warning:alert-detail", args=[alert.pk]):
            wrong.append(f"{role}: sent to {response.get('Location')}")
    assert not wrong, "\n" + "\n".join(wrong)
