"""The street view (``/cockpit/street/`` and ``GET /api/v1/cockpit/street``), role × scope: street
officers see their street's communities, admins and auditors every one, a community director her own
community only (never a 403 telling her to ask herself); the other roles get a 403 saying who may see
it and who gives roles. The map's labels (community, grid and street boundaries with a point for each
name; building numbers on the community map) and the community's time zone for every time shown."""

from __future__ import annotations

import datetime as dt
import html
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import Client
from shapely.geometry import Point, shape

from banyan.cockpit.tests.test_api import NOW, ROLES
from banyan.core import clock
from banyan.people.models import Organisation
from banyan.places.models import Region
from banyan.response.models import Category, Incident

ZONE = ZoneInfo("Asia/Shanghai")  # settings.TIME_ZONE: NOW is 17:00 there

# Who opens the page (the same roles as the cockpit's); anonymous visitors are sent to sign in.
PAGE = {None: 302, **ROLES}


@pytest.fixture
def now():
    with clock.use(clock.SimulatedClock(NOW)) as simulated:
        yield simulated


@pytest.fixture
def community(db):
    return Region.objects.get(kind="community", code="330102001001")


def page(users, username):
    client = Client(headers={"Accept-Language": "zh-hans"})
    if username is not None:
        client.force_login(users[username])
    return client.get("/cockpit/street/")


@pytest.mark.parametrize(("username", "status"), PAGE.items())
def test_who_opens_the_street_view(users, now, username, status):
    response = page(users, username)
    assert response.status_code == status
    if status == 200:
        text = response.content.decode()
        assert f'data-time-zone="{settings.TIME_ZONE}"' in text
        assert "/api/v1/cockpit/street" in text


@pytest.mark.parametrize("username", ["grid01", "property01", "volunteer01", "resident01"])
def test_a_refusal_says_who_may_see_it_and_who_gives_roles(users, now, username):
    text = html.unescape(page(users, username).content.decode())
    assert "街道视图供街道工作人员、社区主任（仅本社区）、审计员和平台管理员使用。" in text
    assert "角色由平台管理员授予" in text
    assert "联系社区主任" not in text


def test_the_director_sees_her_own_community_and_is_told_so(users, now):
    text = page(users, "director").content.decode()
    assert "街道视图：本社区" in text
    assert "街道的其他社区由街道办查看" in text
    assert "联系社区主任" not in text
    assert "街道视图：本社区" not in page(users, "street01").content.decode()


@pytest.mark.parametrize(("username", "status"), [(k, v) for k, v in PAGE.items() if k is not None])
def test_who_gets_the_street_data(api, now, username, status):
    response = api(username).get("cockpit/street")
    assert response.status_code == status, response.data


def test_each_sees_the_communities_of_their_scope(api, community, now, outside):
    def codes(username):
        return [c["code"] for c in api(username).get("cockpit/street").data["communities"]]

    assert codes("director") == [community.code]
    assert sorted(codes("street01")) == sorted([community.code, "T-SIB"])
    assert sorted(codes("admin")) == sorted([community.code, "T-SIB", "T-FAR"])
    assert sorted(codes("auditor")) == sorted([community.code, "T-SIB", "T-FAR"])


def test_streets_are_drawn_only_for_those_whose_scope_holds_them(api, community, now, outside):
    street = community.parent
    director = api("director").get("cockpit/street").data
    assert director["streets"] == [] and director["whole_street"] is False
    assert director["communities"][0]["street"] is None
    officer = api("street01").get("cockpit/street").data
    assert [s["code"] for s in officer["streets"]] == [street.code] and officer["whole_street"] is True
    assert officer["streets"][0]["name"] == street.name_en  # the API client asks in English
    assert {c["street"] for c in officer["communities"]} == {street.code}
    admin = api("admin").get("cockpit/street").data
    assert sorted(s["code"] for s in admin["streets"]) == sorted([street.code, "T-STREET2"])


def test_every_boundary_comes_with_a_point_inside_it_for_its_name(api, community, now):
    data = api("street01").get("cockpit/street").data
    assert data["time_zone"] == settings.TIME_ZONE
    (shown,) = data["communities"]
    assert shown["name"] == community.name_en and shown["boundary"] == community.boundary
    assert shown["state"] in {"calm", "red", "orange", "yellow", "blue"}
    grids = Region.objects.filter(parent=community, kind="grid").order_by("code")
    assert [g["code"] for g in shown["grids"]] == [g.code for g in grids]
    assert [g["name"] for g in shown["grids"]] == [g.name_en for g in grids]
    for region in [shown, *shown["grids"], *data["streets"]]:
        lat, lon = region["label_point"]
        assert shape(region["boundary"]).contains(Point(lon, lat)), region["code"]
    chinese = api("street01")
    chinese.headers["Accept-Language"] = "zh-hans"
    assert chinese.get("cockpit/street").data["communities"][0]["grids"][0]["name"] == grids[0].name_zh


def test_the_street_data_holds_no_personal_data(api, community, now):
    from banyan.people.models import Resident

    text = str(api("admin").get("cockpit/street").data)
    names = list(Resident.objects.values_list("name", flat=True)[:50])
    assert not [name for name in names if f"'{name}'" in text]


def test_the_community_map_names_its_grids_and_numbers_its_buildings(api, community, now):
    data = api("director").get("cockpit/map").data
    assert data["community"]["label_point"] and all(g["label_point"] for g in data["grids"])
    assert {b["name"] for b in data["buildings"]} >= {"1幢", "3幢"}


def test_the_cockpit_page_passes_the_community_time_zone(users, now):
    client = Client()
    client.force_login(users["director"])
    text = client.get("/cockpit/").content.decode()
    assert f'data-time-zone="{settings.TIME_ZONE}"' in text


def test_today_is_the_community_day_not_the_utc_one(api, community, now):
    """At 17:00 China time (09:00 UTC), an incident opened at 01:30 China time (17:30 UTC the day
    before) was opened today; one opened at 23:30 China time the day before was not."""
    grid = Region.objects.filter(parent=community, kind="grid").order_by("code").first()

    def opened(at: dt.datetime) -> Incident:
        return Incident.objects.create(
            category=Category.objects.get(code="flooding"),
            community=community,
            grid=grid,
            grade="blue",
            status="new",
            source="staff",
            accountable=Organisation.objects.get(code="ORG-COMMITTEE"),
            created_at=at,
            updated_at=at,
            acknowledge_due=at + dt.timedelta(minutes=5),
            arrive_due=at + dt.timedelta(minutes=30),
            resolve_due=at + dt.timedelta(hours=24),
        )

    before = api("director").get("cockpit/figures").data["sla"]["today"]["incidents"]
    opened(dt.datetime(2026, 7, 1, 1, 30, tzinfo=ZONE))
    opened(dt.datetime(2026, 6, 30, 23, 30, tzinfo=ZONE))
    figures = api("director").get("cockpit/figures").data
    assert figures["sla"]["today"]["incidents"] == before + 1
    hours = figures["timeline"]["hours"]
    assert hours[0] == "2026-06-30T18:00:00+08:00" and hours[-1] == "2026-07-01T17:00:00+08:00"
