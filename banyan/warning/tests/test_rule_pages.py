"""The alert rule pages (``/rules/``): role × scope as the API's ``/api/v1/rules`` (every role that sees
alerts reads the rules of its communities; administrators, street officers and directors change them,
in their area), the engine's refusals shown at the field they name (in the page's language), names,
kinds, grades and incident categories in words, and every change audited as through the API."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from banyan.audit.models import AuditEntry
from banyan.places.models import Region
from banyan.warning.models import Rule
from banyan.warning.tests.conftest import make_rule

ROLES = ["admin", "street01", "director", "grid01", "property01", "volunteer01", "resident01", "auditor"]
VIEWERS = {"admin", "street01", "director", "grid01", "property01", "auditor"}
CHANGERS = {"admin", "street01", "director"}


@pytest.fixture
def rules(outside):
    """A rule of the demo community, of its sibling in the same street, and of a community far away."""
    demo = Region.objects.filter(kind="community").exclude(code__startswith="T-").order_by("code").first()
    return {
        "demo": make_rule(community=demo, name="地下车库积水"),
        "sibling": make_rule(community=outside["sibling"]["community"], name="邻居社区积水"),
        "far": make_rule(community=outside["other_street"]["community"], name="远方积水"),
    }


def seen_by(username: str) -> set[str]:
    """Which of the ``rules`` fixture's rules a role sees (and, if it changes rules, changes)."""
    if username in ("admin", "auditor"):
        return {"demo", "sibling", "far"}
    if username == "street01":
        return {"demo", "sibling"}
    return {"demo"} if username in VIEWERS else set()


def detail(rule) -> str:
    return reverse("warning:rule-detail", args=[rule.pk])


def form_body(rule, **changes) -> dict:
    body = {
        "name": rule.name,
        "name_en": rule.name_en,
        "grade": rule.grade,
        "incident_category": rule.incident_category,
        "settings": json.dumps(rule.params),
    }
    if rule.is_active:
        body["is_active"] = "on"
    if rule.auto_clear:
        body["auto_clear"] = "on"
    body.update(changes)
    return {key: value for key, value in body.items() if value is not None}


def rule_audits(rule) -> list[str]:
    entries = AuditEntry.objects.filter(subject_type="rule", subject_id=str(rule.pk)).order_by("id")
    return list(entries.values_list("action", flat=True))


# --- role × scope ---------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ROLES)
def test_reading_the_rules_by_role_and_scope(username, rules, signed_in):
    client = signed_in(username)
    listing = client.get(reverse("warning:rule-list"))
    assert listing.status_code == (200 if username in VIEWERS else 403)
    visible = seen_by(username)
    for key, rule in rules.items():
        response = client.get(detail(rule))
        expected = 200 if key in visible else (404 if username in VIEWERS else 403)
        assert response.status_code == expected, (username, key)
        if username in VIEWERS:
            assert (detail(rule) in listing.content.decode()) == (key in visible), (username, key)
        if response.status_code == 200:
            editable = username in CHANGERS
            assert ('name="settings"' in response.content.decode()) == editable, (username, key)
    new = client.get(reverse("warning:rule-new"))
    assert new.status_code == (200 if username in CHANGERS else 403)
    if username in VIEWERS:
        assert (reverse("warning:rule-new") in listing.content.decode()) == (username in CHANGERS)


@pytest.mark.parametrize("username", ROLES)
def test_changing_a_rule_by_role_and_scope(username, rules, signed_in):
    client = signed_in(username)
    for key, rule in rules.items():
        response = client.post(detail(rule), form_body(rule, name=f"{rule.name}（改）", grade="red"))
        stored = Rule.objects.get(pk=rule.pk)
        if username in CHANGERS and key in seen_by(username):
            assert response.status_code == 302 and response["Location"] == detail(rule), (username, key)
            assert stored.name.endswith("（改）") and stored.grade == "red"
            assert rule_audits(rule) == ["rule.update"]
        else:
            expected = 403 if username not in CHANGERS else 404
            assert response.status_code == expected, (username, key)
            assert stored.name == rule.name and stored.grade == rule.grade and rule_audits(rule) == []


def test_anonymous_visitors_are_sent_to_sign_in(rules):
    client = Client()
    rule = rules["demo"]
    for url in (reverse("warning:rule-list"), detail(rule), reverse("warning:rule-new")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), url
    client.post(detail(rule), form_body(rule, name="x"))
    assert Rule.objects.get(pk=rule.pk).name == rule.name


# --- the page in words ------------------------------------------------------------------------------


def test_the_list_names_rules_kinds_grades_and_categories_in_the_page_language(rules, signed_in):
    rule = rules["demo"]
    Rule.objects.filter(pk=rule.pk).update(name_en="Garage flooding", incident_category="flooding")
    chinese = signed_in("director", "zh-hans").get(reverse("warning:rule-list")).content.decode()
    english = signed_in("director").get(reverse("warning:rule-list")).content.decode()
    assert "地下车库积水" in chinese and "Garage flooding" not in chinese
    assert "Garage flooding" in english
    assert "橙色" in chinese and "Orange (level II)" in english
    assert "数值超过限值" in chinese and "A value passes a limit" in english
    assert "积水" in chinese and ">threshold<" not in chinese and ">flooding<" not in chinese


def test_the_list_filters_by_community_and_state(rules, signed_in):
    client = signed_in("admin")
    sibling = rules["sibling"]
    Rule.objects.filter(pk=rules["far"].pk).update(is_active=False)
    page = client.get(reverse("warning:rule-list"), {"community": sibling.community.code}).content.decode()
    assert detail(sibling) in page and detail(rules["demo"]) not in page
    page = client.get(reverse("warning:rule-list"), {"state": "inactive"}).content.decode()
    assert detail(rules["far"]) in page and detail(rules["demo"]) not in page
    bad = client.get(reverse("warning:rule-list"), {"community": "NOPE", "state": "x" * 500, "page": "z"})
    assert bad.status_code == 200 and detail(rules["demo"]) in bad.content.decode()


def test_the_category_is_picked_by_name(rules, signed_in):
    rule = rules["demo"]
    page = signed_in("director", "zh-hans").get(detail(rule)).content.decode()
    assert '<option value="flooding">积水内涝</option>' in page
    response = signed_in("director").post(detail(rule), form_body(rule, incident_category="flooding"))
    assert response.status_code == 302
    assert Rule.objects.get(pk=rule.pk).incident_category == "flooding"
    refused = signed_in("director").post(detail(rule), form_body(rule, incident_category="no-such"))
    assert refused.status_code == 200 and refused.context["form"].errors["incident_category"]


# --- the engine's refusals, at the field ------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "language", "expected"),
    [
        ({"metric": "water_level_cm", "raise_at": "high"}, "en", "raise_at: must be a number"),
        ({"metric": "water_level_cm", "raise_at": "high"}, "zh-hans", "raise_at：必须是数字"),
        (
            {"metric": "water_level_cm", "raise_at": 50, "clear_bellow": 40},
            "en",
            "clear_bellow: is not a setting of this kind of rule",
        ),
        (
            {"metric": "water_level_cm", "raise_at": 50, "clear_below": 60},
            "en",
            "clear_below: must be at most raise_at (50)",
        ),
    ],
)
def test_a_setting_the_engine_refuses_is_named_at_the_settings(
    rules, signed_in, settings, language, expected
):
    rule = rules["demo"]
    before = Rule.objects.get(pk=rule.pk).params
    response = signed_in("director", language).post(
        detail(rule), form_body(rule, settings=json.dumps(settings))
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["settings"], errors
    assert expected in errors["settings"][0], errors["settings"][0]
    assert expected.split(":")[0] in response.content.decode()
    assert Rule.objects.get(pk=rule.pk).params == before and rule_audits(rule) == []


def test_a_column_the_engine_refuses_is_named_at_its_field(rules, signed_in):
    rule = rules["demo"]
    response = signed_in("director").post(detail(rule), form_body(rule, grade=""))
    assert response.status_code == 200
    assert "must be one of" in response.context["form"].errors["grade"][0]
    assert Rule.objects.get(pk=rule.pk).grade == rule.grade


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"metric": "water_level_cm",', "not JSON: look at line 1"),
        ("[1, 2]", "must be a JSON object"),
        ('{"grade": "red"}', "is a field of this form"),
        ('{"metric": "water\\u200b_level"}', "U+200B"),
    ],
)
def test_settings_that_are_not_a_json_object_are_refused(rules, signed_in, text, expected):
    rule = rules["demo"]
    response = signed_in("director").post(detail(rule), form_body(rule, settings=text))
    assert response.status_code == 200
    assert expected in response.context["form"].errors["settings"][0]
    assert rule_audits(rule) == []


def test_a_setting_taken_out_of_the_text_is_removed(rules, signed_in):
    rule = rules["demo"]
    settings = {"metric": "water_level_cm", "raise_at": 60}
    response = signed_in("director").post(detail(rule), form_body(rule, settings=json.dumps(settings)))
    assert response.status_code == 302
    assert Rule.objects.get(pk=rule.pk).params == settings
    entry = AuditEntry.objects.filter(subject_type="rule", subject_id=str(rule.pk)).get()
    assert entry.details["changed"] == ["clear_below", "raise_at"]


def test_switching_a_rule_off_and_naming_it_in_english(rules, signed_in):
    rule = rules["demo"]
    body = form_body(rule, name_en="Garage flooding")
    del body["is_active"]
    assert signed_in("street01").post(detail(rule), body).status_code == 302
    stored = Rule.objects.get(pk=rule.pk)
    assert not stored.is_active and stored.name_en == "Garage flooding"
    page = signed_in("street01").get(detail(rule)).content.decode()
    assert "Garage flooding" in page and "Switched off" in page


def test_a_hidden_character_in_the_name_is_refused(rules, signed_in):
    rule = rules["demo"]
    response = signed_in("director").post(detail(rule), form_body(rule, name="地下\u202e车库"))
    assert response.status_code == 200 and "U+202E" in response.context["form"].errors["name"][0]


# --- adding a rule ------------------------------------------------------------------------------------


def test_adding_a_rule(users, signed_in):
    community = users["director"].region
    body = {
        "kind": "threshold",
        "community": community.code,
        "name": "楼道烟雾",
        "name_en": "Stairwell smoke",
        "grade": "red",
        "incident_category": "",
        "is_active": "on",
        "auto_clear": "on",
        "settings": '{"metric": "smoke_obscuration", "raise_at": 10, "clear_below": 5}',
    }
    response = signed_in("director").post(reverse("warning:rule-new"), body)
    rule = Rule.objects.get(name="楼道烟雾")
    assert response.status_code == 302 and response["Location"] == detail(rule)
    assert rule.community == community and rule.params["raise_at"] == 10 and rule.grade == "red"
    assert rule_audits(rule) == ["rule.create"]


def test_adding_a_rule_elsewhere_or_a_bad_one_is_refused(users, outside, signed_in):
    count = Rule.objects.count()
    body = {
        "kind": "threshold",
        "community": outside["sibling"]["community"].code,
        "name": "x",
        "grade": "red",
    }
    response = signed_in("director").post(reverse("warning:rule-new"), body)
    assert response.status_code == 200 and response.context["form"].errors["community"]
    body.update(community=users["director"].region.code, settings='{"metric": "smoke_obscuration"}')
    response = signed_in("director").post(reverse("warning:rule-new"), body)
    assert "raise_at: is required: a number" in response.context["form"].errors["settings"][0]
    body.update(kind="crowd_density", settings='{"areas_m2": {"F1": 100}}')
    response = signed_in("director").post(reverse("warning:rule-new"), body)
    assert "takes its grades from its levels" in response.context["form"].errors["grade"][0]
    assert Rule.objects.count() == count
