"""The warnings page (``/warnings/``) by role × scope: every signed-in role gets 200 and sees the
official warnings and area-wide alerts of its own area only (a resident: her household's community);
alerts about a person (a fall, a home's device) are shown to no one there; anonymous visitors are sent
to sign in. The words: the grade in words and colour, the place as residents say it, what to do; the
most severe first; zh-Hans pages without English words.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse

from banyan.conftest import make_resident
from banyan.places.geo import rectangle
from banyan.places.models import Region
from banyan.sensing.tests.conftest import make_device
from banyan.warning import areas, services
from banyan.warning.models import OfficialWarning
from banyan.warning.tests.conftest import NOW, event, make_rule

URL = "/warnings/"
ROLES = [
    "admin",
    "street01",
    "director",
    "grid01",
    "grid02",
    "property01",
    "volunteer01",
    "resident01",
    "auditor",
]


def _alert(device, *, category="flooding", grade="orange", kind="threshold", name=None):
    from banyan.warning.models import Rule

    spec = {"kind": "offline", "interval_s": 3600, "missed": 3} if kind == "offline" else {}
    rule = make_rule(community=device.community, name=name or f"规则 {device.code}", grade=grade, **spec)
    Rule.objects.filter(pk=rule.pk).update(incident_category=category)
    rule.refresh_from_db()
    [alert] = services.apply_events([event("Raised", rule, device.code, grade=grade)])
    return alert


def _official(
    identifier, *, polygon=None, grade="red", headline_zh="台风红色预警", headline_en="Typhoon red warning"
):
    area = {"description": "杭州市", "polygons": [polygon] if polygon else [], "circles": [], "geocodes": []}
    return OfficialWarning.objects.create(
        identifier=identifier,
        sender="weather@example.gov.cn",
        sent=NOW - dt.timedelta(hours=1),
        status="Actual",
        msg_type="Alert",
        scope="Public",
        event="台风",
        severity="Extreme",
        grade=grade,
        sender_name="杭州市气象台",
        headline_zh=headline_zh,
        headline_en=headline_en,
        instruction="关好门窗，减少外出。",
        areas=[area],
        expires=NOW + dt.timedelta(days=1),
        raw="<alert/>",
        imported_at=NOW,
    )


@pytest.fixture
def world(users, outside, now):
    """Area alerts in G01, G02 and the sibling community; alerts about a person in G01; official
    warnings over the demo community, far away, and without a shape."""
    g01 = Region.objects.get(code="G01", kind="grid")
    g02 = Region.objects.get(code="G02", kind="grid")
    community = g01.parent
    sibling = outside["sibling"]
    resident = users["resident01"].resident
    wearable = make_device(grid=g01, kind="wearable_band", resident=resident)
    return {
        "g01": _alert(make_device(grid=g01), grade="orange"),
        "g02": _alert(make_device(grid=g02), grade="red"),
        "sibling": _alert(make_device(grid=sibling["grid"])),
        # about a person or a home: never on the warnings page
        "fall": _alert(wearable, category="fall_medical", grade="red", name="两次跌倒"),
        "home": _alert(make_device(unit=resident.household.unit, kind="combustible_gas"), category="gas"),
        "offline": _alert(make_device(grid=g01, kind="smoke"), category="", kind="offline", grade="blue"),
        "over_us": _official("T-OVER", polygon=community.boundary),
        "far": _official("T-FAR", polygon=rectangle(100.0, 40.0, 2000, 2000), headline_zh="远方暴雨预警"),
        "unplaced": _official("T-NOSHAPE", grade="yellow", headline_zh="高温黄色预警", headline_en="Heat"),
        "sibling_resident": _sibling_resident(sibling),
    }


def _sibling_resident(sibling):
    from banyan.people.models import User

    person = make_resident(sibling["household"], name="邻社区居民")
    return User.objects.create_user(
        "resident-sibling", password="x-pass-2026", role="resident", resident=person, region=sibling["grid"]
    )


def client_for(user, language="en") -> Client:
    client = Client(headers={"Accept-Language": language})
    client.force_login(user)
    return client


def shown(page: str) -> set[str]:
    """Which of the world's warnings a page shows (by their markers)."""
    return set(re.findall(r'data-warning-id="([\w-]+)"', page))


# Who sees which area alert: G01's and G02's are in the demo community; the sibling's in the street.
SEES = {
    "admin": {"g01", "g02", "sibling"},
    "auditor": {"g01", "g02", "sibling"},
    "street01": {"g01", "g02", "sibling"},
    "director": {"g01", "g02"},
    "property01": {"g01", "g02"},
    "volunteer01": {"g01", "g02"},
    "resident01": {"g01", "g02"},
    "grid01": {"g01"},
    "grid02": {"g02"},
}


@pytest.mark.parametrize("username", ROLES)
def test_each_role_sees_the_warnings_of_its_area_only(username, users, world):
    response = client_for(users[username]).get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    alerts = {
        key
        for key in ("g01", "g02", "sibling", "fall", "home", "offline")
        if f"alert-{world[key].pk}" in shown(page)
    }
    assert alerts == SEES[username], username
    official = {key for key in ("over_us", "far", "unplaced") if f"official-{world[key].pk}" in shown(page)}
    everywhere = username in ("admin", "auditor")
    assert official == ({"over_us", "unplaced", "far"} if everywhere else {"over_us", "unplaced"}), username


def test_a_resident_of_another_community_sees_hers_not_ours(world):
    page = client_for(world["sibling_resident"]).get(URL).content.decode()
    assert f"alert-{world['sibling'].pk}" in shown(page)
    assert not {f"alert-{world[key].pk}" for key in ("g01", "g02", "fall", "home")} & shown(page)
    # her community's outline is far from nowhere-in-particular's, but the shapeless one reaches everyone
    assert f"official-{world['unplaced'].pk}" in shown(page)


def test_anonymous_visitors_are_sent_to_sign_in(db):
    response = Client().get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_alerts_about_a_person_are_never_there(users, world):
    """Not even for the roles who see every alert on the alert pages."""
    for username in ("admin", "director", "grid01", "resident01"):
        page = client_for(users[username]).get(URL).content.decode()
        assert "两次跌倒" not in page and world["fall"].rule.name not in page, username
        assert f"alert-{world['home'].pk}" not in shown(page)
        assert f"alert-{world['offline'].pk}" not in shown(page)


def test_in_words_most_severe_first(users, world):
    page = client_for(users["resident01"]).get(URL).content.decode()
    order = re.findall(r'data-warning-id="([\w-]+)"', page)
    # red official and red G02 alert before the orange G01 alert before the yellow official warning
    assert order.index(f"alert-{world['g01'].pk}") > order.index(f"alert-{world['g02'].pk}")
    assert order.index(f"official-{world['unplaced'].pk}") == len(order) - 1
    assert "Water is rising" in page and "Red (level I)" in page and "Orange (level II)" in page
    assert "Keep away from low ground" in page  # what to do
    assert "In your grid" in page  # G01 is resident01's grid
    assert "Typhoon red warning" in page and "关好门窗" in page
    assert world["g01"].rule.name not in page  # the category's words, not the rule's name


def test_zh_hans_page_has_no_english_words(users, world):
    client = Client()
    client.force_login(users["resident01"])
    page = client.get(URL).content.decode()
    assert "积水" in page or "水位" in page
    main = page.split("<main", 1)[1].split(">", 1)[1].split("</main>", 1)[0]
    text = re.sub(r"<[^>]+>", " ", main)
    assert re.findall(r"[A-Za-z]{3,}", text) == [], "English words on the Chinese page"


def test_the_resident_home_page_shows_a_short_block(users, world):
    page = client_for(users["resident01"]).get(reverse("account:home")).content.decode()
    block = page.split('class="home-warnings"', 1)[1].split("</section>", 1)[0]
    assert len(shown(block)) == 3
    assert f"alert-{world['fall'].pk}" not in shown(block)
    assert reverse("warning:warnings") in block
    # staff keep their overview (the alert pages are theirs)
    assert (
        'class="home-warnings"'
        not in client_for(users["director"]).get(reverse("account:home")).content.decode()
    )


def test_an_official_circle_reaches_the_community(users, world):
    community = Region.objects.get(code="G01", kind="grid").parent
    area = areas.area_for(users["resident01"])
    warning = world["far"]
    assert not areas.concerns(warning, area)
    lon, lat = community.boundary["coordinates"][0][0]
    warning.areas = [
        {"description": "附近", "polygons": [], "circles": [{"lat": lat + 0.01, "lon": lon, "radius_km": 2}]}
    ]
    assert areas.concerns(warning, area)
    warning.areas = [
        {"description": "远处", "polygons": [], "circles": [{"lat": lat + 1, "lon": lon, "radius_km": 2}]}
    ]
    assert not areas.concerns(warning, area)
