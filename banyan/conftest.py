"""Shared fixtures: one small seeded community per test session, accounts by role, API clients.

The test database is seeded once (``banyan.sim`` with a fixed seed); each test runs in a
transaction that is rolled back, so tests may change data freely.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.test import Client

DEMO_PASSWORD = "test-pass-2026"
SEED_RESIDENTS = 400
SEED = 7


def pytest_configure(config):
    """The audit anchor of the machine running the tests is never touched, nor handed on to the
    ``banyan`` processes some tests start (they keep theirs under their own ``BANYAN_VAR_DIR``)."""
    os.environ.pop("BANYAN_AUDIT_ANCHOR", None)
    # Synthetic data: the servers the tests start may use a development checkout's keys
    # (banyan/core/deploy.py); tests of the refusal start theirs without it.
    os.environ["BANYAN_DEMO"] = "1"
    # One set of MQTT service passwords and bus key for the session, shared by the test brokers and
    # every process a test starts (whatever their BANYAN_VAR_DIR); never the machine's own.
    import tempfile

    keys = tempfile.mkdtemp(prefix="banyan-test-keys-")
    os.environ["BANYAN_MQTT_KEY_FILE"] = os.path.join(keys, "mqtt.keys")
    for name in ("BANYAN_BUS_KEY", "BANYAN_MQTT_INGEST_PASSWORD", "BANYAN_MQTT_BUS_PASSWORD"):
        os.environ.pop(name, None)
    os.environ.pop("BANYAN_MQTT_SIMULATOR_PASSWORD", None)
    # The tests' own accounts (seeded in this process) hash their passwords with a fast hasher: the
    # product's Argon2 (settings.PASSWORD_HASHERS) costs ~0.4 s a check, and the lockout tests make
    # dozens. Servers a test starts in another process keep the product's hashers and their own seed.
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.conf import settings

    from banyan.sim.services import seed_community

    # One anchor per session, set before the seed commits its first entries. Tests of the anchor
    # point it at their own file: transactional tests (run last) may flush and seed again.
    settings.AUDIT_ANCHOR_FILE = tmp_path_factory.mktemp("audit") / "audit.anchor"
    with django_db_blocker.unblock():
        seed_community(residents=SEED_RESIDENTS, seed=SEED, demo_password=DEMO_PASSWORD)


@pytest.fixture(autouse=True)
def _audit_anchor_as_before():
    """A test's transaction is rolled back, but on-commit callbacks it runs on purpose
    (``django_capture_on_commit_callbacks(execute=True)``) move the session's audit anchor to entries
    that are then gone: the anchor is put back as it was, so the next test's chain is not "altered"."""
    from django.conf import settings

    path = Path(settings.AUDIT_ANCHOR_FILE)
    before = path.read_bytes() if path.exists() else None
    yield
    after = path.read_bytes() if path.exists() else None
    if after != before:
        if before is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(before)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits count in Django's cache: every test starts with none spent."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _language_as_before():
    """A request through the test client runs in this thread, and Django's LocaleMiddleware leaves the
    request's language active after it: each test ends in the language it began with."""
    from django.utils import translation

    language = translation.get_language()
    yield
    translation.activate(language) if language else translation.deactivate()


def second_factor_device(user):
    """The user's confirmed TOTP device (a real django-otp device, created if missing); compute its
    current code with ``totp_code(device)``."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    return device


def totp_code(device) -> str:
    """The 6-digit code the user's authenticator app shows now for ``device``."""
    from django_otp.oath import TOTP

    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"


def _pass_second_factor_on_test_sign_in(sender, request, user, **kwargs):
    """Django's test client's ``force_login``/``login`` sign in without any page: such a session also
    passes the second factor, with a real device of the user's (as ``banyan.people.otp.mark_verified``
    would after a right code, step-up time included). A sign-in through the pages (a real request)
    is left alone and meets the second-factor pages like anyone's; so are users who need none."""
    from django.http import HttpRequest
    from django_otp import DEVICE_ID_SESSION_KEY

    from banyan.core import clock
    from banyan.people import otp

    if type(request) is not HttpRequest or not otp.needs_second_factor(user):
        return
    request.session[DEVICE_ID_SESSION_KEY] = second_factor_device(user).persistent_id
    request.session[otp.VERIFIED_AT_SESSION_KEY] = clock.now().timestamp()


@pytest.fixture(scope="session", autouse=True)
def _test_sign_ins_pass_the_second_factor():
    from django.contrib.auth.signals import user_logged_in

    user_logged_in.connect(_pass_second_factor_on_test_sign_in, dispatch_uid="banyan.tests.second_factor")
    yield
    user_logged_in.disconnect(dispatch_uid="banyan.tests.second_factor")


@pytest.fixture
def users(db):
    """Demo accounts by username (admin, director, grid01, grid02, auditor, resident01 …)."""
    from banyan.people.models import User

    return {u.username: u for u in User.objects.select_related("region", "resident")}


class ApiClient:
    """A Django test client that speaks JSON to /api/v1/ with a bearer token."""

    def __init__(self, user=None):
        from banyan.people.auth import create_token

        self.client = Client()
        self.headers = {"Accept-Language": "en"}
        if user is not None:
            self.headers["Authorization"] = f"Bearer {create_token(user)}"

    def _call(self, method, path, body=None, **extra):
        url = path if path.startswith("/") else f"/api/v1/{path}"
        kwargs = dict(headers=self.headers, **extra)
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        response = getattr(self.client, method)(url, **kwargs)
        try:
            response.data = response.json()
        except ValueError:
            response.data = None
        return response

    def get(self, path, **extra):
        return self._call("get", path, **extra)

    def post(self, path, body=None, **extra):
        return self._call("post", path, body, **extra)

    def patch(self, path, body=None, **extra):
        return self._call("patch", path, body, **extra)

    def put(self, path, body=None, **extra):
        return self._call("put", path, body, **extra)


@pytest.fixture
def api(users):
    """``api("grid01").get("residents")`` — a JSON client signed in as that demo account."""

    def make(username: str | None = None) -> ApiClient:
        return ApiClient(users[username] if username else None)

    return make


@pytest.fixture
def signed_in(users):
    """``signed_in("director")`` (or ``signed_in("grid01", "zh-hans")``) — a page client signed in as
    that demo account, reading the pages in that language (English by default)."""
    from django.test import Client

    def make(username: str, language: str = "en") -> Client:
        client = Client(headers={"Accept-Language": language})
        client.force_login(users[username])
        return client

    return make


# --- factories ---------------------------------------------------------------------------

_counter = iter(range(1, 10_000_000))


def make_id_number(birth: str = "19800615", area: str = "330106") -> str:
    """A valid synthetic resident ID number (GB 11643 with the MOD 11-2 check character)."""
    from banyan.people.validators import check_character

    first17 = f"{area}{birth}{next(_counter) % 900 + 100:03d}"
    return first17 + check_character(first17)


def make_region(parent, kind: str, code: str):
    from banyan.places.geo import rectangle
    from banyan.places.models import Region
    from banyan.places.services import region_path

    region = Region.objects.create(
        parent=parent,
        kind=kind,
        code=code,
        name_zh=code,
        name_en=code,
        boundary=rectangle(120.3, 30.3, 300, 300),
    )
    region.path = region_path(parent, region.pk)
    region.save(update_fields=["path"])
    return region


def make_resident(household, **fields):
    from banyan.core import vault
    from banyan.people.models import Resident

    id_number = fields.pop("id_number", None) or make_id_number()
    phone = fields.pop("phone", f"139{next(_counter):08d}")
    return Resident.objects.create(
        household=household,
        name=fields.pop("name", "测试居民"),
        id_number=id_number,
        id_number_index=vault.blind_index("id_number", id_number),
        phone=phone,
        phone_index=vault.blind_index("phone", phone),
        birth_date=fields.pop("birth_date", None) or __import__("datetime").date(1980, 6, 15),
        sex=fields.pop("sex", "M"),
        relation=fields.pop("relation", "head"),
        **fields,
    )


def make_community_under(street, code: str):
    """A community with one grid, building, unit, household, resident, care profile and facility."""
    import datetime as dt

    from banyan.people.models import CareProfile, Household
    from banyan.places.models import Building, Facility, Unit

    community = make_region(street, "community", code)
    grid = make_region(community, "grid", f"{code}-G1")
    building = Building.objects.create(
        grid=grid,
        code=f"{code}-B1",
        name=f"{code} 1幢",
        kind="older_block",
        floors=6,
        latitude=30.3,
        longitude=120.3,
    )
    unit = Unit.objects.create(building=building, number="1-01-101", floor=1, exclusive_area_m2=80)
    household = Household.objects.create(code=f"{code}-H1", unit=unit, grid=grid)
    resident = make_resident(household)
    profile = CareProfile.objects.create(resident=resident, kind="chronic_illness", since=dt.date(2025, 1, 1))
    facility = Facility.objects.create(
        region=grid, code=f"{code}-F1", kind="clinic", name_zh="诊所", latitude=30.3, longitude=120.3
    )
    return {
        "community": community,
        "grid": grid,
        "building": building,
        "unit": unit,
        "household": household,
        "resident": resident,
        "care_profile": profile,
        "facility": facility,
    }


@pytest.fixture
def outside(db):
    """Two communities outside the demo community: a sibling in the same street, and one in another street."""
    from banyan.places.models import Region

    street = Region.objects.get(kind="street")
    other_street = make_region(street.parent, "street", "T-STREET2")
    return {
        "sibling": make_community_under(street, "T-SIB"),
        "other_street": make_community_under(other_street, "T-FAR"),
    }


@pytest.fixture(scope="module")
def mosquitto():
    """A Mosquitto of the test module's own (Banyan's config: anonymous clients refused, Banyan's
    service accounts and the simulator's; persistence on) on a free loopback port; yields
    ``(process, port)`` and stops it by its pid. Connect as a service account
    (``banyan.core.mqtt.credentials``); events published there must be signed."""
    import shutil
    import tempfile
    from pathlib import Path

    from banyan.processes.broker import start_mosquitto, stop

    folder = Path(tempfile.mkdtemp(prefix="banyan-test-mqtt-"))  # the broker's user can reach it
    process, port = start_mosquitto(folder)
    try:
        yield process, port
    finally:
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)


SLOW_TESTS = Path(__file__).with_name("slow_tests.txt")


def pytest_collection_modifyitems(config, items):
    """Mark `slow` the tests measured at 0.07 s or more (banyan/slow_tests.txt, `make slow-list`), beside
    those marked in their modules (servers, brokers, kills, browsers)."""
    measured = {line for line in SLOW_TESTS.read_text().splitlines() if line and not line.startswith("#")}
    for item in items:
        if item.nodeid in measured:
            item.add_marker(pytest.mark.slow)
