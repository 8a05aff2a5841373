"""Plans as data: the shipped templates (every hazard × level, in Chinese and English) pass the body's
check; a bad body is refused naming the path of the bad value; plans are installed once, changed as new
versions (the old one stays, audited) by those who manage emergencies; the pages by role, and the editor
with its sections and rows."""

from __future__ import annotations

import copy
import re

import pytest
from django.utils import translation

from banyan.audit.models import AuditEntry
from banyan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from banyan.emergency import plans
from banyan.emergency.choices import HazardKind, Level
from banyan.emergency.models import Plan
from banyan.emergency.plan_templates import COMMON_TASKS, TEMPLATES, build_body, plan_titles
from banyan.places.models import Region


@pytest.fixture
def demo(db):
    return Region.objects.filter(kind="community").order_by("id").first()


@pytest.fixture
def typhoon(demo):
    """The demo community's level II typhoon plan in force."""
    return plans.current_plan(demo, "typhoon", 2)


# --- the templates -----------------------------------------------------------------------------------


def test_every_hazard_has_a_template_at_every_level_in_both_languages():
    assert set(TEMPLATES) == set(HazardKind.values)
    for hazard in HazardKind.values:
        previous_tasks = None
        for level in sorted(Level.values, reverse=True):  # IV → I
            body = plans.validate_body(build_body(hazard, level))
            assert body == build_body(hazard, level), (hazard, level)  # already normalised
            title_zh, title_en = plan_titles(hazard, level)
            assert "级" in title_zh and "Level" in title_en
            for task in body["tasks"]:
                assert task["title_zh"] and task["title_en"], task["key"]
            for notice in body["notices"]:
                assert notice["text_zh"] and notice["text_en"], notice["key"]
            assert body["triggers"]["cap"]["events"] and body["roll_call"]["wait_minutes"] > 0
            keys = {task["key"] for task in body["tasks"]}
            assert {task.key for task in COMMON_TASKS if level <= task.from_level} <= keys
            # A more severe level keeps every task of the milder one, each due no later.
            if previous_tasks is not None:
                due = {task["key"]: task["due_minutes"] for task in body["tasks"]}
                for key, minutes in previous_tasks.items():
                    assert key in due and due[key] <= minutes, (hazard, level, key)
            previous_tasks = {task["key"]: task["due_minutes"] for task in body["tasks"]}


def test_a_red_typhoon_plan_evacuates_opens_the_shelter_and_the_street_leads():
    red, blue = build_body("typhoon", 1), build_body("typhoon", 4)
    assert {"transfer", "shelter_open"} <= {task["key"] for task in red["tasks"]}
    assert not {"transfer", "shelter_open"} & {task["key"] for task in blue["tasks"]}
    assert "shelter" in red["facilities"] and "shelter" not in blue["facilities"]
    assert red["lead"] == {"organisation_kind": "street_office", "role": "street_officer"}
    assert blue["lead"] == {"organisation_kind": "community_committee", "role": "community_director"}
    assert (
        red["triggers"]["cap"]["min_severity"] == "Extreme"
        and blue["triggers"]["cap"]["min_severity"] == "Minor"
    )
    sandbags = {s["kind"]: s["quantity"] for s in red["supplies"]}["sandbags"]
    assert sandbags == 4 * {s["kind"]: s["quantity"] for s in blue["supplies"]}["sandbags"]


# --- the check ---------------------------------------------------------------------------------------


def _bad(change) -> InvalidInput:
    body = copy.deepcopy(build_body("flood", 3))
    change(body)
    with pytest.raises(InvalidInput) as caught:
        plans.validate_body(body)
    return caught.value


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b["tasks"][2].update(due_minutes=-5), "tasks[2].due_minutes"),
        (lambda b: b["tasks"][2].update(due_minutes="30"), "tasks[2].due_minutes"),
        (lambda b: b["tasks"][1].update(owner_role="resident"), "tasks[1].owner_role"),
        (lambda b: b["tasks"][0].update(owner_kind="army"), "tasks[0].owner_kind"),
        (lambda b: b["tasks"][3].update(key=b["tasks"][0]["key"]), "tasks[3].key"),
        (lambda b: b["tasks"][0].update(key="Bad Key"), "tasks[0].key"),
        (lambda b: b["tasks"][0].update(title_zh="  "), "tasks[0].title_zh"),
        (lambda b: b["tasks"][0].update(colour="red"), "tasks[0]"),
        (lambda b: b.update(tasks=[]), "tasks"),
        (lambda b: b.pop("lead"), "lead"),
        (lambda b: b["lead"].update(role="auditor"), "lead.role"),
        (lambda b: b["notices"][0].update(channels=["sms", "fax"]), "notices[0].channels[1]"),
        (lambda b: b["notices"][0].update(channels=[]), "notices[0].channels"),
        (lambda b: b["notices"][0].update(audience="martians"), "notices[0].audience"),
        (lambda b: b["notices"][0].update(text_zh="长" * 501), "notices[0].text_zh"),
        (lambda b: b["triggers"]["cap"].update(min_severity="Severe-ish"), "triggers.cap.min_severity"),
        (lambda b: b["triggers"]["cap"].update(events=[]), "triggers.cap.events"),
        (lambda b: b["triggers"].update(alert_rules=["flooding", "volcano"]), "triggers.alert_rules[1]"),
        (lambda b: b["triggers"].update(manual="yes"), "triggers.manual"),
        (lambda b: b.update(facilities=["shelter", "castle"]), "facilities[1]"),
        (lambda b: b["supplies"][0].update(quantity=0), "supplies[0].quantity"),
        (
            lambda b: b["supplies"].append({"kind": b["supplies"][0]["kind"], "quantity": 1}),
            "supplies[5].kind",
        ),
        (lambda b: b.update(roll_call={"wait_minutes": 0}), "roll_call.wait_minutes"),
        (lambda b: b.update(extra=1), "body"),
    ],
)
def test_a_bad_body_is_refused_naming_the_path(change, field):
    error = _bad(change)
    assert error.field == field, error.message


def test_the_message_says_what_is_accepted():
    with translation.override("en"):
        error = _bad(lambda b: b["tasks"][2].update(due_minutes=99999))
        assert error.message == "A whole number from 0 to 10080."
        error = _bad(lambda b: b["notices"][0].update(audience="x"))
        assert error.message == "One of area, vulnerable, all."
    with translation.override("zh-hans"):
        assert _bad(lambda b: b["tasks"][2].update(due_minutes=99999)).message == "0 到 10080 之间的整数。"


def test_no_cap_trigger_and_no_roll_call_are_allowed():
    body = build_body("gas_leak", 4)
    body["triggers"]["cap"] = None
    body["roll_call"] = None
    checked = plans.validate_body(body)
    assert checked["triggers"]["cap"] is None and checked["roll_call"] is None


# --- services -----------------------------------------------------------------------------------------


def test_the_seeded_community_has_every_plan_in_force(demo):
    assert Plan.objects.filter(community=demo, is_current=True).count() == 44
    plan = plans.current_plan(demo, "flood", 1)
    assert plan.version == 1 and plan.title_zh == plan_titles("flood", 1)[0]
    assert plan.body == build_body("flood", 1)


def test_install_plans_is_idempotent(outside):
    community = outside["sibling"]["community"]
    assert plans.install_plans(community) == 44
    assert plans.install_plans(community) == 0
    assert Plan.objects.filter(community=community).count() == 44
    entry = AuditEntry.objects.get(action="plan.install", subject_id=str(community.pk))
    assert entry.details == {"plans": 44}


def test_a_new_version_keeps_the_old_one(users, demo, typhoon):
    body = copy.deepcopy(typhoon.body)
    body["tasks"][0]["due_minutes"] = 10
    made = plans.new_version(actor=users["director"], plan=typhoon, body=body, change_note="开会提前")
    typhoon.refresh_from_db()
    assert not typhoon.is_current and typhoon.body["tasks"][0]["due_minutes"] == 11  # 15 × 0.75
    assert made.version == typhoon.version + 1 and made.is_current and made.change_note == "开会提前"
    assert made.body["tasks"][0]["due_minutes"] == 10 and made.created_by == users["director"]
    assert plans.current_plan(demo, "typhoon", 2) == made
    assert list(plans.versions_of(made).values_list("version", flat=True)) == [2, 1]
    entry = AuditEntry.objects.get(action="plan.version", subject_id=str(made.pk))
    assert entry.details == {"replaces": typhoon.pk, "version": 2, "level": 2}
    # The old version cannot be changed any more: its successor must.
    with pytest.raises(Conflict):
        plans.new_version(actor=users["director"], plan=typhoon, body=body, change_note="again")


def test_a_new_version_is_checked_and_needs_a_note(users, typhoon):
    body = copy.deepcopy(typhoon.body)
    with pytest.raises(InvalidInput) as caught:
        plans.new_version(actor=users["director"], plan=typhoon, body=body, change_note=" ")
    assert caught.value.field == "change_note"
    body["tasks"][1]["owner_kind"] = "nobody"
    with pytest.raises(InvalidInput) as caught:
        plans.new_version(actor=users["director"], plan=typhoon, body=body, change_note="x")
    assert caught.value.field == "tasks[1].owner_kind"
    typhoon.refresh_from_db()
    assert typhoon.is_current and not AuditEntry.objects.filter(action="plan.version").exists()


def test_only_managers_in_scope_make_versions(users, typhoon, outside):
    for username in ("grid01", "property01", "volunteer01", "auditor", "resident01"):
        with pytest.raises(PermissionDenied):
            plans.new_version(actor=users[username], plan=typhoon, body=typhoon.body, change_note="x")
    community = outside["sibling"]["community"]
    plans.install_plans(community)
    elsewhere = plans.current_plan(community, "typhoon", 2)
    with pytest.raises(NotFound):
        plans.new_version(actor=users["director"], plan=elsewhere, body=elsewhere.body, change_note="x")
    with pytest.raises(NotFound):
        plans.get_plan_for(users["director"], elsewhere.pk)
    made = plans.new_version(
        actor=users["street01"], plan=elsewhere, body=elsewhere.body, change_note="街道统一"
    )
    assert made.version == 2


# --- pages --------------------------------------------------------------------------------------------


def test_the_plan_list_by_role(signed_in, typhoon):
    for username in ("admin", "director", "grid01", "property01", "volunteer01", "auditor"):
        page = signed_in(username).get("/emergency/plans/")
        assert page.status_code == 200, username
        assert f'href="/emergency/plans/{typhoon.pk}/"'.encode() in page.content
    assert signed_in("resident01").get("/emergency/plans/").status_code == 403


def test_a_plan_page_reads_in_the_readers_language(signed_in, typhoon):
    english = signed_in("grid01").get(f"/emergency/plans/{typhoon.pk}/").content.decode()
    assert "Move the people of the danger area to the shelter" in english
    assert "Typhoon warning:" in english and "Change this plan" not in english
    chinese = signed_in("grid01", "zh-hans").get(f"/emergency/plans/{typhoon.pk}/").content.decode()
    assert "组织危险区域人员转移至避灾安置点" in chinese and "Typhoon" not in chinese
    director = signed_in("director").get(f"/emergency/plans/{typhoon.pk}/").content.decode()
    assert f'href="/emergency/plans/{typhoon.pk}/edit"' in director


def _form_data(client, plan) -> dict:
    """What the editor's form sends unchanged: every field as the page shows it."""
    page = client.get(f"/emergency/plans/{plan.pk}/edit")
    assert page.status_code == 200
    context = page.context
    data: dict = {}
    for form in (context["sections"],):
        for name, field in form.fields.items():
            value = form.initial.get(name, field.initial)
            if value is None or value is False:
                continue
            data[name] = "on" if value is True else value
    for prefix in ("tasks", "notices", "supplies"):
        formset = context[prefix]
        data[f"{prefix}-TOTAL_FORMS"] = str(formset.total_form_count())
        data[f"{prefix}-INITIAL_FORMS"] = str(formset.initial_form_count())
        for i, row in enumerate(formset.initial or []):
            for name, value in row.items():
                data[f"{prefix}-{i}-{name}"] = value
        # The blank row at the end, as a browser sends it: every text and list empty.
        blank = formset.forms[-1]
        for name in blank.fields:
            if name not in ("DELETE", "channels"):
                data[f"{prefix}-{len(formset.initial or [])}-{name}"] = ""
    return data


def test_a_director_saves_a_new_version_in_the_editor(signed_in, typhoon):
    client = signed_in("director")
    page = client.get(f"/emergency/plans/{typhoon.pk}/edit")
    assert page.content.count(b'data-row="task"') == len(typhoon.body["tasks"]) + 1  # and a blank row
    # The blank row's lists show no choice (a browser sends what is selected: nothing, so it is left out).
    blank = len(typhoon.body["tasks"])
    for name in ("owner_kind", "owner_role"):
        select = re.search(
            rf'<select name="tasks-{blank}-{name}"[^>]*>\s*<option value="" selected>', page.content.decode()
        )
        assert select, name
    data = _form_data(client, typhoon)
    data["tasks-0-due_minutes"] = "7"
    data["change_note"] = "十分钟内召集"
    last = len(typhoon.body["tasks"])  # the blank row: a new task
    data.update(
        {
            f"tasks-{last}-key": "sirens",
            f"tasks-{last}-title_zh": "拉响防空警报器",
            f"tasks-{last}-title_en": "Sound the sirens",
            f"tasks-{last}-owner_kind": "community_committee",
            f"tasks-{last}-owner_role": "community_director",
            f"tasks-{last}-due_minutes": "20",
        }
    )
    data["tasks-TOTAL_FORMS"] = str(last + 1)
    data["notices-0-DELETE"] = "on"
    response = client.post(f"/emergency/plans/{typhoon.pk}/edit", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    made = Plan.objects.get(community=typhoon.community, hazard="typhoon", level=2, is_current=True)
    assert response["Location"] == f"/emergency/plans/{made.pk}/"
    assert made.version == 2 and made.change_note == "十分钟内召集"
    assert made.body["tasks"][0]["due_minutes"] == 7 and made.body["tasks"][-1]["key"] == "sirens"
    assert [n["key"] for n in made.body["notices"]] == [n["key"] for n in typhoon.body["notices"][1:]]
    assert made.body["facilities"] == typhoon.body["facilities"]
    assert made.body["triggers"] == typhoon.body["triggers"]
    assert made.body["supplies"] == typhoon.body["supplies"]


def test_the_editor_shows_errors_at_their_fields(signed_in, typhoon):
    client = signed_in("director")
    data = _form_data(client, typhoon)
    data["tasks-2-due_minutes"] = "-3"
    data["change_note"] = "x"
    response = client.post(f"/emergency/plans/{typhoon.pk}/edit", data)
    assert response.status_code == 200
    assert response.context["tasks"].forms[2].errors["due_minutes"]
    # A duplicate key passes the row's form but not the plan's check: shown at that row's key.
    data = _form_data(client, typhoon)
    data["tasks-3-key"] = data["tasks-0-key"]
    data["change_note"] = "x"
    response = client.post(f"/emergency/plans/{typhoon.pk}/edit", data)
    assert response.status_code == 200
    assert "used twice" in str(response.context["tasks"].forms[3].errors["key"])
    assert Plan.objects.filter(community=typhoon.community, hazard="typhoon", level=2).count() == 1


def test_viewers_may_not_open_the_editor(signed_in, typhoon):
    for username in ("grid01", "property01", "volunteer01", "auditor"):
        client = signed_in(username)
        assert client.get(f"/emergency/plans/{typhoon.pk}/edit").status_code == 403
        assert client.post(f"/emergency/plans/{typhoon.pk}/edit", {"change_note": "x"}).status_code == 403
    assert Plan.objects.filter(community=typhoon.community, hazard="typhoon", level=2).count() == 1


def test_an_old_version_is_not_edited(signed_in, users, typhoon):
    made = plans.new_version(actor=users["director"], plan=typhoon, body=typhoon.body, change_note="v2")
    client = signed_in("director")
    data = _form_data(client, made)
    data["change_note"] = "from the old one"
    response = client.post(f"/emergency/plans/{typhoon.pk}/edit", data)
    assert response.status_code == 409 and b"message--warning" in response.content
    assert b'data-row="task"' not in response.content
    assert plans.current_plan(typhoon.community, "typhoon", 2) == made
    assert (
        f'href="/emergency/plans/{typhoon.pk}/edit"'.encode()
        not in client.get(f"/emergency/plans/{typhoon.pk}/").content
    )
