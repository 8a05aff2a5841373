# ruff: noqa: F401, F811 -- the fixtures imported from board_fixtures are used as arguments
"""The cockpit's emergency mode: the state's ``emergency`` key (None while no emergency is active, else
the most severe one with its tasks, roll call, shelters, low stocks, incidents and timeline as counts), its
scope, and the stream's ``emergency`` event when it changes."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import AsyncClient

from banyan.cockpit import views
from banyan.cockpit.emergency_mode import emergency_state
from banyan.cockpit.tests.test_risks import other_director
from banyan.core import clock
from banyan.emergency import services
from banyan.emergency.models import Emergency, Task
from banyan.emergency.rollcall import services as rollcall
from banyan.emergency.rollcall.models import Entry
from banyan.emergency.shelters import services as shelters
from banyan.emergency.shelters.models import Shelter, Stock
from banyan.emergency.tests.board_fixtures import community, make_plan, plan, sim
from banyan.notify.tests.test_stream import Stream
from banyan.people.auth import create_token
from banyan.people.models import Resident
from banyan.places.choices import FacilityKind

STATE_KEYS = {"now", "community", "alerts", "incidents", "responders", "buildings", "emergency", "risks"}


@pytest.fixture
def active(plan, users):
    """The orange (II) typhoon emergency of the seeded community, activated by its director over the whole
    community (four checklist tasks)."""
    return services.activate(actor=users["director"], community=community(), hazard="typhoon", level=2)


def state(api, username: str = "director", **query) -> dict:
    response = api(username).get("cockpit/state", data=query)
    assert response.status_code == 200, response.data
    return response.data


def test_without_an_active_emergency_the_state_is_as_before(api, plan, users):
    for status in ("proposed", "stood_down", "dismissed"):  # none of them active
        Emergency.objects.create(
            community=community(), hazard="typhoon", level=1, status=status, title="台风", trigger="manual",
            created_at=clock.now(),
        )  # fmt: skip
    data = state(api)
    assert set(data) == STATE_KEYS and data["emergency"] is None


def test_an_active_emergency_leads_with_its_tasks_and_timeline(api, active, sim, users):
    data = state(api)["emergency"]
    assert (data["id"], data["level"], data["grade"], data["hazard"]) == (active.pk, 2, "orange", "typhoon")
    assert (data["level_name"], data["hazard_label"]) == ("Level II, orange", "Typhoon")
    assert data["url"] == f"/emergency/{active.pk}/" and data["community"] == community().code
    assert data["tasks"] == {"open": 4, "late": 0, "done": 0, "cancelled": 0}
    assert data["minutes_since_activation"] == 0
    assert [e["kind"] for e in data["timeline"]] == ["activated"]
    assert data["roll_call"] is None and data["others"] == []
    assert data["shelters"] == {"open": 0, "occupied": 0, "capacity": 0, "items": []}
    assert [row["status"] for row in data["incidents"]["by_status"]] == [
        "new",
        "assigned",
        "accepted",
        "on_scene",
    ]

    sim.advance(dt.timedelta(minutes=20))  # the 24-hour duty was due after 15
    duty = Task.objects.get(emergency=active, key="duty")
    services.complete_task(actor=users["director"], task=Task.objects.get(emergency=active, key="patrol"))
    data = state(api)["emergency"]
    assert data["tasks"] == {"open": 2, "late": 1, "done": 1, "cancelled": 0}
    assert data["minutes_since_activation"] == 20
    assert [e["kind"] for e in data["timeline"]] == ["task_done", "activated"]
    assert duty.status == "open"

    zh = api("director")
    zh.headers["Accept-Language"] = "zh-hans"
    chinese = zh.get("cockpit/state").data["emergency"]
    assert (chinese["level_name"], chinese["hazard_label"]) == ("二级（橙色）", "台风")
    assert [e["label"] for e in chinese["timeline"]] == ["任务已完成", "已启动"]


def test_counts_follow_a_roll_call_answer_and_a_shelter_check_in(api, active, sim, users):
    director = users["director"]
    roll_call = rollcall.start_roll_call(actor=director, emergency=active)
    asked = Entry.objects.filter(roll_call=roll_call).count()
    vulnerable = Entry.objects.filter(roll_call=roll_call, vulnerable=True).count()
    before = state(api)["emergency"]["roll_call"]
    assert before["asked"] == asked > 0 and before["safe"] == 0 and before["unaccounted"] == asked
    assert before["vulnerable_unaccounted"] == vulnerable and before["open"] is True
    assert before["url"] == f"/emergency/{active.pk}/rollcall/"

    resident = users["resident01"]
    entry = Entry.objects.get(roll_call=roll_call, household_id=resident.resident.household_id)
    rollcall.answer(actor=resident, entry=entry, status="safe")
    shelters.install_shelters(community())
    centre = Shelter.objects.get(community=community(), facility__kind=FacilityKind.COMMUNITY_CENTRE)
    shelters.open_shelter(actor=director, shelter=centre, emergency=active)
    person = Resident.objects.restrict(director).order_by("id").first()
    shelters.check_in(actor=director, shelter=centre, resident=person)
    water = Stock.objects.filter(community=community(), kind="water").order_by("pk").first()
    Stock.objects.filter(pk=water.pk).update(quantity=1, low_at=5, reserved=0)

    data = state(api)["emergency"]
    after = data["roll_call"]
    assert (after["asked"], after["safe"], after["unaccounted"]) == (asked, 1, asked - 1)
    assert data["shelters"]["open"] == 1 and data["shelters"]["occupied"] == 1
    assert data["shelters"]["capacity"] == centre.capacity
    assert data["shelters"]["items"] == [
        {"id": centre.pk, "name": centre.facility.name_en or centre.facility.name_zh, "occupied": 1,
         "capacity": centre.capacity}
    ]  # fmt: skip
    low = data["low_stocks"]
    assert low["count"] >= 1 and any(s["kind"] == "water" and s["quantity"] == 1 for s in low["items"])
    assert "name" not in after and resident.resident.name not in str(data)  # counts only, no names


def test_the_most_severe_leads_and_the_others_are_listed(api, active, users):
    make_plan(level=1)
    red = services.activate(actor=users["director"], community=community(), hazard="typhoon", level=1)
    data = state(api)["emergency"]
    assert (data["id"], data["grade"]) == (red.pk, "red")
    assert [(o["id"], o["grade"], o["url"]) for o in data["others"]] == [
        (active.pk, "orange", f"/emergency/{active.pk}/")
    ]
    services.stand_down(actor=users["director"], emergency=red)
    assert state(api)["emergency"]["id"] == active.pk
    services.stand_down(actor=users["director"], emergency=active)
    assert state(api)["emergency"] is None


def test_a_director_of_another_community_sees_nothing_of_it(api, active, outside, users):
    other, client = other_director(api, outside, "t-cockpit-sib")
    own = client.get("cockpit/state")
    assert own.status_code == 200 and own.data["community"] == other.region.code
    assert own.data["emergency"] is None
    assert client.get("cockpit/state", data={"community": community().code}).status_code == 404
    assert state(api, "street01", community=community().code)["emergency"]["id"] == active.pk
    assert state(api, "auditor", community=community().code)["emergency"]["id"] == active.pk


def test_the_emergency_is_read_in_few_queries(active, users, django_assert_max_num_queries):
    rollcall.start_roll_call(actor=users["director"], emergency=active)
    with django_assert_max_num_queries(12):
        data = emergency_state(users["director"], community(), language="en")
    assert data is not None and data["roll_call"] is not None


def test_the_stream_sends_the_emergency_when_it_changes(active, users, monkeypatch):
    monkeypatch.setattr(views, "EMERGENCY_POLL_S", 0.05)
    # The stream reads in the test's transaction: its connection stays open between rounds.
    monkeypatch.setattr(views, "close_old_connections", lambda: None)
    token = create_token(users["director"])

    async def next_event(stream: Stream, name: str) -> dict:
        while True:
            block = await stream.next_block()
            if block.get("event") == name:
                return block["data"]

    async def run():
        client = AsyncClient()
        response = await client.get("/cockpit/stream", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        stream = Stream(response)
        first = await next_event(stream, "state")
        task = await sync_to_async(Task.objects.get)(emergency=active, key="duty")
        await sync_to_async(services.complete_task)(actor=users["director"], task=task)
        changed = await next_event(stream, "emergency")
        await sync_to_async(services.stand_down)(actor=users["director"], emergency=active)
        ended = await next_event(stream, "emergency")
        return first, changed, ended

    first, changed, ended = async_to_sync(run)()
    assert first["emergency"]["tasks"]["done"] == 0
    assert changed["tasks"]["done"] == 1
    assert ended is None
