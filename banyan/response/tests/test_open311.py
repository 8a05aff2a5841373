"""Open311 GeoReport v2: every endpoint in JSON and XML, every error code, answers checked against the
spec's JSON Schemas (vendored in ``banyan/response/standards/open311``), contact details never shown."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.test import Client
from lxml import etree

from banyan.response.models import Incident, Report
from banyan.response.reports import services as reports
from banyan.response.tests.conftest import NOW

BASE = "/open311/v2"
PHONE = "13987654321"
EMAIL = "li.si@example.org"
SCHEMAS = Path(__file__).resolve().parents[1] / "standards" / "open311"  # vendored: standards/SOURCES.md


@pytest.fixture(scope="module")
def schema():
    """``schema("requests.json")`` — a Draft 4 validator with the folder's relative $refs resolved."""
    assert SCHEMAS.is_dir(), f"the vendored Open311 schemas are missing from {SCHEMAS}"
    from jsonschema import Draft4Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    documents = {
        p.name: json.loads(p.read_text()) for p in SCHEMAS.glob("*.json") if p.name != "swagger.json"
    }
    registry = Registry().with_resources(
        (name, Resource.from_contents(doc, default_specification=DRAFT4)) for name, doc in documents.items()
    )

    def validator(name: str):
        return Draft4Validator(
            documents[name], registry=registry, format_checker=Draft4Validator.FORMAT_CHECKER
        )

    return validator


@pytest.fixture
def client():
    return Client(headers={"Accept-Language": "en"})


@pytest.fixture
def api_key(db):
    """A key made the way operators make one: the command's last line."""
    out = io.StringIO()
    call_command("open311", "key", "create", "city-app", stdout=out, stderr=io.StringIO())
    return out.getvalue().strip().splitlines()[-1]


def post(client, fmt="json", **fields):
    body = urlencode({k: v for k, v in fields.items() if v is not None})
    return client.post(
        f"{BASE}/requests.{fmt}", body, content_type="application/x-www-form-urlencoded; charset=utf-8"
    )


def xml(response):
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    assert response.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    return etree.fromstring(response.content)


def assert_error(response, status, fmt="json"):
    assert response.status_code == status
    if fmt == "json":
        assert response["Content-Type"] == "application/json; charset=utf-8"
        body = response.json()
        assert isinstance(body, list) and len(body) == 1
        assert set(body[0]) == {"code", "description"} and body[0]["code"] == status
        assert body[0]["description"]
        return body[0]["description"]
    root = xml(response)
    assert root.tag == "errors"
    assert [child.tag for child in root] == ["error"]
    assert [child.tag for child in root[0]] == ["code", "description"]
    assert root[0].findtext("code") == str(status) and root[0].findtext("description")
    return root[0].findtext("description")


# --- discovery and services ----------------------------------------------------------------------------


def test_discovery_json_and_xml(client, db):
    body = client.get(f"{BASE}/discovery.json").json()
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    (endpoint,) = body["endpoints"]
    assert endpoint == {
        "specification": "http://wiki.open311.org/GeoReport_v2",
        "url": "http://testserver/open311/v2/",
        "changeset": body["changeset"],
        "type": "production",
        "formats": ["text/xml", "application/json"],
    }
    root = xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.find("endpoints/endpoint/formats")] == ["text/xml", "application/json"]
    assert root.findtext("endpoints/endpoint/specification") == "http://wiki.open311.org/GeoReport_v2"


def test_service_list_json_and_xml_in_the_request_language(client, schema, db):
    answer = client.get(f"{BASE}/services.json")
    assert answer["Content-Type"] == "application/json; charset=utf-8"
    services = answer.json()
    schema("services.json").validate(services)
    flooding = next(s for s in services if s["service_code"] == "flooding")
    assert flooding["service_name"] == "Flooding"
    assert (flooding["metadata"], flooding["type"], flooding["group"]) == (False, "realtime", "environment")
    assert "积水内涝" in flooding["keywords"]
    chinese = Client(headers={"Accept-Language": "zh-hans"}).get(f"{BASE}/services.json").json()
    assert next(s for s in chinese if s["service_code"] == "flooding")["service_name"] == "积水内涝"
    root = xml(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services" and len(root) == len(services)
    first = root[0]
    assert [c.tag for c in first] == [
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    ]
    assert first.findtext("metadata") == "false"


def test_inactive_categories_are_not_offered(client, db):
    from banyan.response.models import Category

    Category.objects.filter(code="noise").update(is_active=False)
    codes = [s["service_code"] for s in client.get(f"{BASE}/services.json").json()]
    assert "noise" not in codes and "flooding" in codes
    assert_error(client.get(f"{BASE}/services/noise.json"), 404)


def test_service_definition_json_xml_and_404(client, schema, db):
    body = client.get(f"{BASE}/services/flooding.json").json()
    schema("service-definition.json").validate(body)
    assert body == {"service_code": "flooding", "attributes": []}
    root = xml(client.get(f"{BASE}/services/flooding.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "flooding"
    assert_error(client.get(f"{BASE}/services/volcano.json"), 404)
    assert_error(client.get(f"{BASE}/services/volcano.xml"), 404, "xml")


# --- posting requests --------------------------------------------------------------------------------------


def test_post_by_address_string_becomes_a_report_and_routed_incident(client, site, api_key, caplog):
    caplog.set_level(logging.DEBUG)
    building = site["building"]
    answer = post(
        client,
        api_key=api_key,
        service_code="flooding",
        address_string=building.code,
        description="地下车库进水",
        first_name="四",
        last_name="李",
        phone=PHONE,
        email=EMAIL,
        media_url="https://example.org/p/1.jpg",
        jurisdiction_id="",
    )
    assert answer.status_code == 200, answer.content
    (created,) = answer.json()
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    assert created["account_id"] is None and "is responsible" in created["service_notice"]
    report = Report.objects.get(pk=int(created["service_request_id"]))
    assert (report.source, report.reporter, report.open311_key.name) == ("open311", None, "city-app")
    assert (report.contact_name, report.contact_phone, report.contact_email) == ("四 李", PHONE, EMAIL)
    assert report.building == building and report.address_string == building.code
    incident = report.incident
    assert (incident.source, incident.accountable, incident.responsibility) == (
        "open311",
        site["committee"],
        site["cell"],
    )
    assert incident.assignee_id == site["responders"][0].user_id
    assert PHONE not in caplog.text and EMAIL not in caplog.text


def test_post_by_building_name_and_by_lat_long_in_xml(client, site, api_key):
    building = site["building"]
    answer = post(client, api_key=api_key, service_code="flooding", address_string=building.name)
    assert answer.status_code == 200
    answer = post(
        client,
        "xml",
        api_key=api_key,
        service_code="flooding",
        lat=str(building.latitude),
        long=str(building.longitude),
    )
    assert answer.status_code == 200
    root = xml(answer)
    assert root.tag == "service_requests" and [c.tag for c in root] == ["request"]
    request_id = root.findtext("request/service_request_id")
    assert [c.tag for c in root[0]] == ["service_request_id", "service_notice", "account_id"]
    report = Report.objects.get(pk=int(request_id))
    assert report.incident.grid == site["building"].grid
    assert report.latitude == building.latitude


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_errors(client, site, api_key, fmt):
    before = (Report.objects.count(), Incident.objects.count())
    where = {"address_string": site["building"].code}
    assert_error(post(client, fmt, service_code="flooding", **where), 403, fmt)
    assert_error(post(client, fmt, api_key="o311_wrong", service_code="flooding", **where), 403, fmt)
    assert_error(post(client, fmt, api_key=api_key, **where), 400, fmt)
    assert_error(post(client, fmt, api_key=api_key, service_code="volcano", **where), 404, fmt)
    assert_error(post(client, fmt, api_key=api_key, service_code="flooding"), 400, fmt)
    assert_error(
        post(client, fmt, api_key=api_key, service_code="flooding", address_string="Nowhere 9"), 400, fmt
    )
    assert_error(post(client, fmt, api_key=api_key, service_code="flooding", lat="10", long="10"), 400, fmt)
    assert_error(post(client, fmt, api_key=api_key, service_code="flooding", lat="north", long="1"), 400, fmt)
    assert_error(post(client, fmt, api_key=api_key, service_code="flooding", lat="nan", long="1"), 400, fmt)
    too_long = "水" * 4001
    assert_error(
        post(client, fmt, api_key=api_key, service_code="flooding", description=too_long, **where), 400, fmt
    )
    described = assert_error(
        post(client, fmt, api_key=api_key, service_code="flooding", email="not-an-email", **where), 400, fmt
    )
    assert "not-an-email" not in described
    described = assert_error(
        post(client, fmt, api_key=api_key, service_code="flooding", phone="139-abc-5678", **where), 400, fmt
    )
    assert "139" not in described
    assert_error(
        post(client, fmt, api_key=api_key, service_code="flooding", media_url="ftp://x/y", **where), 400, fmt
    )
    assert (Report.objects.count(), Incident.objects.count()) == before


def test_the_spec_error_text_for_a_bad_key(client, site):
    described = assert_error(post(client, service_code="flooding", address_string=site["building"].code), 403)
    assert described == "Invalid api_key received -- can't proceed with create_request."


def test_key_command_create_and_revoke(client, site, api_key):
    where = {"service_code": "flooding", "address_string": site["building"].code}
    assert api_key.startswith("o311_")
    assert post(client, api_key=api_key, **where).status_code == 200
    out = io.StringIO()
    call_command("open311", "key", "revoke", "city-app", stdout=out)
    assert "revoked" in out.getvalue()
    assert_error(post(client, api_key=api_key, **where), 403)
    # The name may be used again: a new key, and the old one stays refused.
    again = io.StringIO()
    call_command("open311", "key", "create", "city-app", stdout=again, stderr=io.StringIO())
    new_key = again.getvalue().strip().splitlines()[-1]
    assert new_key != api_key
    assert post(client, api_key=new_key, **where).status_code == 200
    assert_error(post(client, api_key=api_key, **where), 403)


def test_key_command_refuses_a_live_duplicate_name(api_key):
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command("open311", "key", "create", "city-app", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError):
        call_command("open311", "key", "revoke", "nobody", stdout=io.StringIO())


# --- reading requests -------------------------------------------------------------------------------------


@pytest.fixture
def filed(client, site, api_key, users):
    """Two requests over Open311 (one later closed) and one resident report."""
    where = {"api_key": api_key, "address_string": site["building"].code, "phone": PHONE, "email": EMAIL}
    first = post(client, service_code="flooding", description="一号", **where).json()[0]["service_request_id"]
    second = post(client, service_code="noise", description="二号", **where).json()[0]["service_request_id"]
    resident = reports.submit_report(
        actor=users["resident01"], category="flooding", home=True, description="我家 3-502 漏水"
    )
    closed = Report.objects.get(pk=int(second)).incident
    Incident.objects.filter(pk=closed.pk).update(
        status="closed", closed_at=NOW + dt.timedelta(hours=1), updated_at=NOW + dt.timedelta(hours=1)
    )
    return {"open": first, "closed": second, "resident": str(resident.pk)}


def test_get_requests_json_matches_the_schema_and_hides_contacts(client, schema, filed):
    answer = client.get(f"{BASE}/requests.json")
    assert answer.status_code == 200
    body = answer.json()
    schema("requests.json").validate(body)
    assert [r["service_request_id"] for r in body] == [filed["resident"], filed["closed"], filed["open"]]
    text = answer.content.decode()
    assert PHONE not in text and EMAIL not in text and "li.si" not in text
    by_id = {r["service_request_id"]: r for r in body}
    opened = by_id[filed["open"]]
    assert set(opened) == {
        "service_request_id",
        "status",
        "status_notes",
        "service_name",
        "service_code",
        "description",
        "agency_responsible",
        "service_notice",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "address",
        "address_id",
        "zipcode",
        "lat",
        "long",
        "media_url",
    }
    assert (opened["status"], opened["service_code"], opened["description"]) == ("open", "flooding", "一号")
    assert opened["agency_responsible"] == "Dongpo Residents' Committee"
    assert opened["requested_datetime"] == "2026-07-01T09:00:00Z"
    assert by_id[filed["closed"]]["status"] == "closed"
    assert by_id[filed["closed"]]["updated_datetime"] == "2026-07-01T10:00:00Z"
    # A resident's own words in the app are not published, nor their unit.
    mine = by_id[filed["resident"]]
    assert mine["description"] is None and "3-502" not in text
    assert mine["address"] and mine["address_id"]


def test_get_requests_xml(client, filed):
    root = xml(client.get(f"{BASE}/requests.xml"))
    assert root.tag == "service_requests" and [c.tag for c in root] == ["request"] * 3
    closed = next(r for r in root if r.findtext("service_request_id") == filed["closed"])
    assert closed.findtext("status") == "closed"
    assert closed.find("zipcode") is not None and closed.findtext("zipcode") == ""
    assert PHONE.encode() not in etree.tostring(root)


def test_get_requests_filters(client, filed):
    def ids(**params):
        answer = client.get(f"{BASE}/requests.json", params)
        assert answer.status_code == 200, answer.content
        return sorted(r["service_request_id"] for r in answer.json())

    everything = sorted(filed.values())
    assert ids() == everything
    assert ids(status="open") == sorted([filed["open"], filed["resident"]])
    assert ids(status="closed") == [filed["closed"]]
    assert ids(status="open,closed") == everything
    assert ids(service_code="noise") == [filed["closed"]]
    assert ids(service_code="noise,flooding") == everything
    assert ids(service_request_id=f"{filed['open']},{filed['closed']}", status="open") == sorted(
        [filed["open"], filed["closed"]]
    )  # the list overrides every other filter
    assert ids(start_date="2026-07-01T08:00:00Z", end_date="2026-07-01T10:00:00+01:00") == everything
    assert ids(start_date="2026-07-02T00:00:00Z") == []
    assert ids(end_date="2026-06-30T00:00:00Z") == []
    assert ids(status="", service_code="") == everything  # empty is absent


def test_get_requests_default_window_is_90_days(client, filed, now):
    now.advance(dt.timedelta(days=91))
    assert client.get(f"{BASE}/requests.json").json() == []


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-07-01T00:00:00Z"},
        {"start_date": "yesterday"},
        {"start_date": "2026-07-01T00:00:00"},
        {"start_date": "2026-07-02T00:00:00Z", "end_date": "2026-07-01T00:00:00Z"},
        {"status": "pending"},
        {"service_request_id": "1,abc"},
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_get_requests_bad_filters(client, db, params, fmt):
    assert_error(client.get(f"{BASE}/requests.{fmt}", params), 400, fmt)


def test_one_request_json_xml_and_404(client, schema, filed):
    body = client.get(f"{BASE}/requests/{filed['open']}.json").json()
    schema("requests.json").validate(body)
    assert len(body) == 1 and body[0]["service_request_id"] == filed["open"]
    root = xml(client.get(f"{BASE}/requests/{filed['open']}.xml"))
    assert root.tag == "service_requests" and root.findtext("request/service_request_id") == filed["open"]
    for fmt in ("json", "xml"):
        assert_error(client.get(f"{BASE}/requests/999999999.{fmt}"), 404, fmt)
        assert_error(client.get(f"{BASE}/requests/abc.{fmt}"), 404, fmt)


def test_tokens_json_xml_and_404(client, filed):
    token = Report.objects.get(pk=int(filed["open"])).token
    body = client.get(f"{BASE}/tokens/{token}.json").json()
    assert body == [{"service_request_id": filed["open"], "token": token}]
    root = xml(client.get(f"{BASE}/tokens/{token}.xml"))
    assert [c.tag for c in root[0]] == ["service_request_id", "token"]
    assert root.findtext("request/service_request_id") == filed["open"]
    for fmt in ("json", "xml"):
        assert_error(client.get(f"{BASE}/tokens/nope.{fmt}"), 404, fmt)


def test_bad_urls_formats_and_methods(client, db):
    assert_error(client.get(f"{BASE}/services.csv"), 400, "xml")
    assert_error(client.get(f"{BASE}/nothing.json"), 404)
    assert_error(client.get(f"{BASE}/nothing.xml"), 404, "xml")
    assert_error(client.get(f"{BASE}/nothing"), 404, "xml")
    assert_error(client.post(f"{BASE}/services.json"), 400)
    assert_error(client.delete(f"{BASE}/requests.json"), 400)


def test_control_characters_never_break_the_xml(client, site, api_key):
    answer = post(
        client,
        api_key=api_key,
        service_code="flooding",
        address_string=site["building"].code,
        description='bell\x07 and <tag> & "quotes"',
    )
    request_id = answer.json()[0]["service_request_id"]
    root = xml(client.get(f"{BASE}/requests/{request_id}.xml"))
    assert root.findtext("request/description") == 'bell and <tag> & "quotes"'
