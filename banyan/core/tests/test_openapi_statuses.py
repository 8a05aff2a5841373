"""The OpenAPI document declares every status an operation may answer (issue 10, finding 10): the
error answers that the shared handlers, the body parser, the throttles and the ASGI body limit give
are listed on every operation, so a client (and ``make fuzz``'s status_code_conformance) can rely on it."""

from __future__ import annotations

import pytest

from banyan.api import api as banyan_api

EVERY_OPERATION = {"400", "403", "404", "422", "429"}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def document():
    return banyan_api.get_openapi_schema()


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def test_there_are_operations_to_check(document):
    assert len(list(operations(document))) > 80


def test_every_operation_declares_every_error_status(document):
    missing = {}
    for name, operation in operations(document):
        declared = {str(status) for status in operation["responses"]}
        expected = set(EVERY_OPERATION)
        if operation.get("security"):
            expected.add("401")
        if "requestBody" in operation:
            expected.add("413")
        if expected - declared:
            missing[name] = sorted(expected - declared)
    assert missing == {}


def test_every_operation_is_signed_in(document):
    """Every API operation needs a session or a bearer token, so every one may answer 401."""
    assert [name for name, operation in operations(document) if not operation.get("security")] == []


def test_every_error_answer_has_a_json_schema(document):
    schemas = document["components"]["schemas"]
    for name, operation in operations(document):
        for status, answer in operation["responses"].items():
            if int(status) < 400:
                continue
            schema = answer["content"]["application/json"]["schema"]
            refs = [schema["$ref"]] if "$ref" in schema else [one["$ref"] for one in schema["anyOf"]]
            assert all(ref.rsplit("/", 1)[-1] in schemas for ref in refs), (name, status)
    assert {"detail", "code", "field"} <= set(schemas["ErrorOut"]["properties"])
    assert "errors" in schemas["ValidationErrorOut"]["properties"]


def test_every_json_body_is_an_object(document):
    """The body parser refuses a body that is not a JSON object; that is right only while no operation
    takes anything else."""
    schemas = document["components"]["schemas"]
    for name, operation in operations(document):
        for media, content in operation.get("requestBody", {}).get("content", {}).items():
            schema = content["schema"]
            if "$ref" in schema:
                schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
            assert schema.get("type") == "object", (name, media)


def test_the_served_document_is_the_same(client, document):
    served = client.get("/api/v1/openapi.json")
    if served.status_code == 200:  # the docs may be for signed-in staff only
        assert served.json()["paths"].keys() == document["paths"].keys()
        assert "422" in served.json()["paths"]["/api/v1/audit"]["get"]["responses"]


@pytest.mark.parametrize(
    "method, path, body, status",
    [
        ("get", "audit?limit=0", None, 422),
        ("get", "audit?action=%00", None, 400),
        ("get", "regions?limit=0", None, 422),
        ("patch", "rules/1", [], 400),
        ("post", "reports", {"category": "flooding", "latitude": "north"}, 400),
        ("get", "emergency/plans?level=9", None, 400),
        ("get", "emergency/hazards?limit=0", None, 422),
        ("get", "timebank/accounts?limit=0", None, 422),
        ("post", "timebank/transfers", {"from": 1, "to": 2, "hours": 0}, 422),
    ],
)
def test_answers_that_used_to_be_undeclared_are_declared(api, document, method, path, body, status):
    response = api("admin")._call(method, path, body)
    assert response.status_code == status, response.data
    template = "/api/v1/" + path.split("?")[0].replace("rules/1", "rules/{rule_id}")
    assert str(status) in {str(s) for s in document["paths"][template][method]["responses"]}


def test_the_emergency_parts_are_documented_under_the_emergency_tag(document):
    """The read-only parts outside tools read (issue 15): each under the tag ``emergency``, GET only, its
    200 answer the schema whose keys the README's contract names."""
    schemas = document["components"]["schemas"]
    parts = {
        "/api/v1/emergency/hazards": {"count", "items"},
        "/api/v1/emergency/plans": {"count", "items"},
        "/api/v1/emergency/plans/{plan_id}": {"id", "community", "hazard", "level", "version", "body"},
        "/api/v1/emergencies/{emergency_id}/roll-call": {"emergency", "roll_call"},
        "/api/v1/emergencies/{emergency_id}/shelters": {"emergency", "shelters", "supplies", "summary"},
        "/api/v1/emergencies/{emergency_id}/review": {"detection", "tasks", "roll_call", "sla", "lessons"},
    }
    for path, keys in parts.items():
        assert set(document["paths"][path]) == {"get"}, path
        operation = document["paths"][path]["get"]
        assert operation["tags"] == ["emergency"], path
        ref = operation["responses"][200]["content"]["application/json"]["schema"]["$ref"]
        assert keys <= set(schemas[ref.rsplit("/", 1)[-1]]["properties"]), path


def test_the_timebank_is_documented_as_the_contract_says(document):
    """Issue 16's contract: GET /timebank/accounts answers {"count", "items": [{"id", "owner", "kind",
    "balance"}]}; POST /timebank/transfers takes {"from", "to", "hours", "memo"} and answers 201 or 409."""
    schemas = document["components"]["schemas"]

    def schema(ref):
        return schemas[ref["$ref"].rsplit("/", 1)[-1]]

    accounts = document["paths"]["/api/v1/timebank/accounts"]["get"]
    listed = schema(accounts["responses"][200]["content"]["application/json"]["schema"])
    assert accounts["tags"] == ["timebank"] and {"count", "items"} <= set(listed["properties"])
    item = schema(listed["properties"]["items"]["items"])
    assert {"id", "owner", "kind", "balance"} <= set(item["properties"])
    transfers = document["paths"]["/api/v1/timebank/transfers"]["post"]
    assert {"201", "409", "422"} <= {str(status) for status in transfers["responses"]}
    body = schema(transfers["requestBody"]["content"]["application/json"]["schema"])
    assert {"from", "to", "hours", "memo"} == set(body["properties"])
