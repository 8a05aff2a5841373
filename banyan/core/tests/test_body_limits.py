"""Request bodies the API cannot use get a JSON 4xx naming ``body``, never a 500 or Django's HTML
400 page (issue 10, findings 10 and 12)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from banyan.core.api import MAX_JSON_DEPTH

RULE = {
    "name": "Basement water",
    "kind": "threshold",
    "metric": "water_level_cm",
    "device_codes": [],
    "raise_at": 50,
    "clear_below": 40,
    "grade": "orange",
}


def send(api, username: str, method: str, path: str, raw: bytes | str, content_type="application/json"):
    """Send ``raw`` as the body, exactly as given (the test client would re-encode a dict)."""
    client = api(username)
    response = getattr(client.client, method)(
        f"/api/v1/{path}", data=raw, content_type=content_type, headers=client.headers
    )
    return response, response.json()


@pytest.fixture
def rule_id(api):
    return api("director").post("rules", RULE).data["id"]


@pytest.mark.parametrize("raw", ["[]", "1", '"x"', "null", "[{}]", "true"])
def test_a_body_that_is_not_an_object_is_a_400_naming_body(api, rule_id, raw):
    response, body = send(api, "director", "patch", f"rules/{rule_id}", raw)
    assert response.status_code == 400
    assert body["field"] == "body"
    assert "JSON object" in body["detail"]
    assert api("director").get(f"rules/{rule_id}").data["params"]["raise_at"] == 50


@pytest.mark.parametrize("raw", ["{", '{"name": NaN}', '{"raise_at": 1e999999}', "\xff"])
def test_a_body_that_is_not_json_is_a_400_naming_body(api, raw):
    response, body = send(api, "director", "post", "rules", raw.encode("latin-1"))
    assert response.status_code == 400
    assert body["field"] == "body"
    assert "not valid JSON" in body["detail"]


def test_a_lone_surrogate_reaches_the_schema_which_names_the_field(api):
    """orjson refuses a lone surrogate outright; the body is read again so that the answer names the
    field, as the schema's refusal does (never a 500)."""
    response, body = send(api, "director", "post", "residents/lookup", '{"phone": "\\ud83d"}')
    assert response.status_code == 422
    assert body["field"] == "phone"


def test_100000_nested_brackets_in_a_report_are_a_400_not_a_recursion_error(api):
    from banyan.response.models import Report

    before = Report.objects.count()
    response, body = send(api, "resident01", "post", "reports", "[" * 100_000)
    assert response.status_code == 400
    assert body["field"] == "body"
    assert Report.objects.count() == before


def test_deep_nesting_inside_an_object_is_refused_with_the_limit(api):
    deep: object = 1
    for _level in range(MAX_JSON_DEPTH):
        deep = [deep]
    response, body = send(api, "director", "post", "rules", json.dumps({**RULE, "device_codes": deep}))
    assert response.status_code == 400
    assert body["field"] == "body"
    assert str(MAX_JSON_DEPTH) in body["detail"]


def test_100000_nested_brackets_on_any_json_operation_are_a_400(api, rule_id):
    response, body = send(api, "director", "patch", f"rules/{rule_id}", '{"a":' + "[" * 100_000)
    assert response.status_code == 400
    assert body["field"] == "body"


def test_a_20_mb_json_body_gets_a_json_413_naming_the_limit(api, settings):
    response, body = send(api, "director", "post", "rules", json.dumps({**RULE, "name": "x" * 20 * 2**20}))
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    assert body["code"] == "too_large"
    assert body["field"] == "body"
    assert f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 2**20:g} MB" in body["detail"]


def test_a_big_body_on_a_session_request_is_a_json_413_too(users):
    client = Client(enforce_csrf_checks=False)
    client.force_login(users["director"])
    response = client.post(
        "/api/v1/rules", data=json.dumps({**RULE, "name": "x" * 4 * 2**20}), content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_the_413_is_translated(api):
    client = api("director")
    client.headers["Accept-Language"] = "zh-hans"
    response = client.client.post(
        "/api/v1/rules",
        data=json.dumps({"name": "x" * 4 * 2**20}),
        content_type="application/json",
        headers=client.headers,
    )
    assert response.status_code == 413
    assert "请求正文" in response.json()["detail"]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"name": "a\\u0000b"}', "name"),
        ('{"params": {"x\\u0000": 1}}', "params"),
        ('{"x": ["ok", "\\u0000"]}', "x.1"),
        ('{"a\\u0000": 1}', "body"),
    ],
)
def test_a_nul_character_anywhere_in_a_json_body_is_a_400_naming_the_field(api, rule_id, raw, field):
    """PostgreSQL cannot store NUL in text: refused at the door, naming the field, instead of a 500 there."""
    response, body = send(api, "director", "patch", f"rules/{rule_id}", raw)
    assert response.status_code == 400
    assert body["field"] == field
    assert "NUL" in body["detail"]
    assert api("director").get(f"rules/{rule_id}").data["name"] == RULE["name"]
