"""Rate limits on what residents and outside systems send (issue 10, finding 12): reports per resident
over the API and the web form, photos counted one by one, Open311 per address and per api_key. A spent
limit answers 429 with a clear, translated message, and nothing is written."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.test import Client

from banyan.core import clock
from banyan.people.auth import create_token
from banyan.response.models import Incident, Report
from banyan.response.tests import conftest as response_fixtures
from banyan.response.tests.conftest import jpeg_with_gps

now = response_fixtures.now  # the response tests' simulated clock and site (matrix, responders)
site = response_fixtures.site

REPORT = {"category": "flooding", "home": True, "description": "楼道积水"}


def report_over_api(client, **fields):
    return client.post("reports", {**REPORT, **fields})


def test_the_11th_report_in_an_hour_is_a_429_and_nothing_is_written(site, api, now):
    client = api("resident01")
    for _number in range(10):
        assert report_over_api(client).status_code == 201
    before = Report.objects.count(), Incident.objects.count()

    refused = report_over_api(client)

    assert refused.status_code == 429
    assert refused.data["code"] == "throttled"
    assert refused.data["detail"].startswith("Too many requests: try again in ")
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert (Report.objects.count(), Incident.objects.count()) == before


def test_the_limit_is_per_resident_and_frees_up_after_an_hour(site, api, now, users):
    from banyan.people.models import User

    client = api("resident01")
    for _number in range(10):
        report_over_api(client)
    assert report_over_api(client).status_code == 429

    neighbour = User.objects.create_user("resident-neighbour", password="x-pass-2026", role="resident")
    other = api()
    other.headers["Authorization"] = f"Bearer {create_token(neighbour)}"
    assert report_over_api(other, home=False, building=site["building"].code).status_code == 201

    now.advance(dt.timedelta(hours=1, seconds=1))
    assert report_over_api(client).status_code == 201


def test_the_429_is_translated(site, api, now):
    client = api("resident01")
    client.headers["Accept-Language"] = "zh-hans"
    for _number in range(10):
        report_over_api(client)
    refused = report_over_api(client)
    assert refused.status_code == 429
    assert refused.data["detail"].startswith("请求过于频繁")


def test_the_rates_come_from_settings(site, api, now, settings):
    settings.BANYAN_RATE_LIMITS = {**settings.BANYAN_RATE_LIMITS, "reports": "2/hour"}
    client = api("resident01")
    assert [report_over_api(client).status_code for _n in range(3)] == [201, 201, 429]


def test_photos_are_counted_one_by_one_on_incident_steps(site, api, now, settings):
    settings.BANYAN_RATE_LIMITS = {**settings.BANYAN_RATE_LIMITS, "photos": "3/hour"}
    opened = api("director").post("incidents", {"category": "flooding", "building": site["building"].pk}).data
    worker = api(site["responders"][0].user.username)
    url = f"incidents/{opened['id']}/actions"
    photo = base64.b64encode(jpeg_with_gps()).decode()
    assert worker.post(url, {"move": "accept"}).status_code == 200

    refused = worker.post(url, {"move": "on_scene", "photos_base64": [photo] * 4})

    assert refused.status_code == 429
    assert refused.data["field"] == "photos_base64"
    assert refused.data["detail"].startswith("Too many photos sent.")
    assert Incident.objects.get(pk=opened["id"]).status == "accepted"
    arrived = worker.post(url, {"move": "on_scene", "photos_base64": [photo] * 3})
    assert arrived.status_code == 200, arrived.data
    resolved = worker.post(url, {"move": "resolve", "note": "已抽水", "photos_base64": [photo]})
    assert resolved.status_code == 429
    assert Incident.objects.get(pk=opened["id"]).status == "on_scene"


def test_a_report_photo_counts_towards_the_photo_limit(site, api, now, settings):
    settings.BANYAN_RATE_LIMITS = {**settings.BANYAN_RATE_LIMITS, "photos": "1/hour"}
    client = api("resident01")
    photo = base64.b64encode(jpeg_with_gps()).decode()
    assert report_over_api(client, photo_base64=photo).status_code == 201
    refused = report_over_api(client, photo_base64=photo)
    assert refused.status_code == 429 and refused.data["field"] == "photo"
    assert report_over_api(client).status_code == 201  # without a photo


def test_the_web_form_shows_the_limit_and_writes_nothing(site, users, now):
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(users["resident01"])
    form = {"category": "flooding", "place": "home", "description": "楼道进水", "photo": ""}
    for _number in range(10):
        assert client.post("/reports/new/", form).status_code == 302
    before = Report.objects.count()

    refused = client.post("/reports/new/", form)

    assert refused.status_code == 429
    assert "Too many requests: try again in" in refused.content.decode()
    assert 'name="description"' in refused.content.decode()  # the form, to send later
    assert Report.objects.count() == before


def test_api_and_web_form_share_one_count(site, api, users, now):
    client = api("resident01")
    for _number in range(10):
        report_over_api(client)
    page = Client(headers={"Accept-Language": "en"})
    page.force_login(users["resident01"])
    form = {"category": "flooding", "place": "home", "description": "x", "photo": ""}
    assert page.post("/reports/new/", form).status_code == 429


@pytest.fixture
def api_key(db):
    out = io.StringIO()
    call_command("open311", "key", "create", "city-app", stdout=out, stderr=io.StringIO())
    return out.getvalue().strip().splitlines()[-1]


def open311_post(client, site, **fields):
    building = site["building"]
    where = {"lat": str(building.latitude), "long": str(building.longitude)}
    body = urlencode({"service_code": "flooding", **where, **fields})
    return client.post(
        "/open311/v2/requests.json", body, content_type="application/x-www-form-urlencoded; charset=utf-8"
    )


def test_open311_is_limited_per_address(site, api_key, now, settings):
    settings.BANYAN_RATE_LIMITS = {**settings.BANYAN_RATE_LIMITS, "open311_address": "2/hour"}
    client = Client(headers={"Accept-Language": "en"})
    answers = [open311_post(client, site, api_key=api_key).status_code for _n in range(3)]
    before = Report.objects.count()
    refused = open311_post(client, site, api_key=api_key)
    assert answers[:2] == [200, 200] and answers[2] == 429
    assert refused.status_code == 429
    (error,) = json.loads(refused.content)
    assert error["code"] == 429 and error["description"].startswith("Too many requests")
    assert Report.objects.count() == before
    elsewhere = Client(headers={"Accept-Language": "en"}, REMOTE_ADDR="192.0.2.7")
    assert open311_post(elsewhere, site, api_key=api_key).status_code == 200


def test_open311_forwarded_for_does_not_escape_the_address_limit(site, api_key, now, settings):
    settings.BANYAN_RATE_LIMITS = {**settings.BANYAN_RATE_LIMITS, "open311_address": "1/hour"}
    client = Client(headers={"Accept-Language": "en"})
    assert open311_post(client, site, api_key=api_key).status_code == 200
    spoofed = Client(headers={"Accept-Language": "en", "X-Forwarded-For": "198.51.100.9"})
    assert open311_post(spoofed, site, api_key=api_key).status_code == 429


def test_open311_is_limited_per_api_key(site, api_key, now, settings):
    settings.BANYAN_RATE_LIMITS = {**settings.BANYAN_RATE_LIMITS, "open311_key": "2/hour"}
    statuses = [
        open311_post(Client(REMOTE_ADDR=f"192.0.2.{n}"), site, api_key=api_key).status_code
        for n in range(1, 4)
    ]
    assert statuses == [200, 200, 429]


def test_the_throttle_counts_on_the_banyan_clock(site, api, now, settings):
    settings.BANYAN_RATE_LIMITS = {**settings.BANYAN_RATE_LIMITS, "reports": "1/min"}
    client = api("resident01")
    assert report_over_api(client).status_code == 201
    assert report_over_api(client).status_code == 429
    with clock.use(clock.SimulatedClock(now.now() + dt.timedelta(minutes=2))):
        assert report_over_api(client).status_code == 201
