# ruff: noqa: F401, F811 -- the fixtures imported from review_fixtures are used as arguments
"""The purge of an emergency (issue 15, Must have 9): after stand-down + retention, nothing that links the
emergency to a resident, a household or a phone remains in any table its parts wrote; counts, the
timeline (ids only) and the review's figures stay; the purge is audited; the worker's sweep runs it."""

from __future__ import annotations

import datetime as dt

from django.apps import apps
from django.db import models

from banyan.audit.models import AuditEntry
from banyan.core import clock
from banyan.emergency import purge, review, services
from banyan.emergency.models import Emergency, Task, TimelineEntry
from banyan.emergency.relay import services as relay
from banyan.emergency.relay.models import Notice, Recipient
from banyan.emergency.rollcall import services as rollcall
from banyan.emergency.rollcall.models import Entry, RollCall
from banyan.emergency.shelters import services as shelters
from banyan.emergency.shelters.choices import MoveKind
from banyan.emergency.shelters.models import Move, Shelter, Stay, Stock
from banyan.emergency.tests.review_fixtures import activated, grid_g01, sim
from banyan.notify.models import Delivery, Message
from banyan.people.models import Household, Resident
from banyan.places.choices import FacilityKind
from banyan.processes.management.commands.worker import run_once

PART_APPS = ("emergency", "rollcall", "shelters", "relay")


def _emergency_paths(model) -> list[str]:
    """How rows of ``model`` lead to an emergency (``emergency``, ``roll_call__emergency``, ...)."""
    paths = []
    for field in model._meta.get_fields():
        if not (field.is_relation and field.many_to_one):
            continue
        if field.related_model is Emergency:
            paths.append(field.name)
        elif field.related_model in (RollCall, Notice):
            paths.append(f"{field.name}__emergency")
    return paths


def _personal_fields(model) -> list[str]:
    """The fields of ``model`` that name a resident, a household or a phone."""
    names = []
    for field in model._meta.get_fields():
        if field.is_relation and field.many_to_one and field.related_model in (Resident, Household):
            names.append(field.name)
        elif isinstance(field, models.CharField) and "phone" in field.name:
            names.append(field.name)
    return names


def personal_rows(emergency: Emergency) -> dict[str, int]:
    """Rows of every table of the emergency's parts that link it to a person, by table."""
    found: dict[str, int] = {}
    for label in PART_APPS:
        for model in apps.get_app_config(label).get_models():
            for path in _emergency_paths(model):
                for name in _personal_fields(model):
                    rows = model.objects.filter(**{path: emergency}).exclude(**{f"{name}__isnull": True})
                    if isinstance(model._meta.get_field(name), models.CharField):
                        rows = rows.exclude(**{name: ""})
                    if rows.exists():
                        found[f"{model._meta.label}.{name}"] = rows.count()
    return found


def messages_of(emergency: Emergency):
    roll_calls = [str(pk) for pk in RollCall.objects.filter(emergency=emergency).values_list("pk", flat=True)]
    return Message.objects.filter(
        subject_type="roll_call", subject_id__in=roll_calls
    ) | Message.objects.filter(subject_type="emergency", subject_id=str(emergency.pk))


def run_an_emergency(users, emergency, sim) -> None:
    """A roll call with answers and door-knocking, a notice, shelter stays and supplies to a household."""
    director = users["director"]
    roll_call = rollcall.start_roll_call(actor=director, emergency=emergency, wait_minutes=5)
    entry = Entry.objects.filter(roll_call=roll_call, vulnerable=True).first()
    rollcall.record_safe(actor=users["grid01"], entry=entry, note="电话联系上了")
    relay.send_notice(actor=director, emergency=emergency, text_zh="请远离地下车库", audience="area")
    sim.advance(dt.timedelta(minutes=6))
    assert rollcall.follow_up_roll_calls()["visits"] > 0
    community = emergency.community
    shelters.install_shelters(community)
    centre = Shelter.objects.get(community=community, facility__kind=FacilityKind.COMMUNITY_CENTRE)
    shelters.open_shelter(actor=director, shelter=centre, emergency=emergency)
    first, second = Resident.objects.restrict(director).order_by("id")[:2]
    shelters.check_in(actor=director, shelter=centre, resident=first)
    water = Stock.objects.get(community=community, place__kind=FacilityKind.COMMUNITY_CENTRE, kind="water")
    shelters.move_stock(
        actor=director,
        stock=water,
        kind=MoveKind.DISTRIBUTED,
        quantity=2,
        emergency=emergency,
        household=second.household,
    )
    sim.advance(dt.timedelta(minutes=30))
    services.stand_down(actor=director, emergency=emergency, retention_days=7)


def test_nothing_personal_remains_after_the_purge(users, activated, sim):
    emergency = activated
    run_an_emergency(users, emergency, sim)
    before = personal_rows(emergency)
    # the test sees what it must: every part wrote something personal
    assert {"rollcall.Entry.household", "rollcall.Entry.phone_index", "shelters.Stay.resident"} <= set(before)
    assert {"shelters.Move.household", "relay.Recipient.resident"} <= set(before)
    assert messages_of(emergency).exists()
    knocks = Task.objects.filter(emergency=emergency, kind="door_knock")
    assert knocks.exists() and all(
        "敲门" in t.title_zh and any(ch.isdigit() for ch in t.title_zh) for t in knocks
    )
    figures = review.after_action_review(emergency)["roll_call"]
    timeline = TimelineEntry.objects.filter(emergency=emergency).count()

    sim.advance(dt.timedelta(days=6, hours=23))
    assert purge.purge_due() == 0, "not before its retention has run out"
    sim.advance(dt.timedelta(hours=1))
    assert run_once()["purged"] == 1  # the worker's sweep
    emergency.refresh_from_db()
    assert emergency.purged_at == clock.now()

    assert personal_rows(emergency) == {}
    assert not Entry.objects.filter(roll_call__emergency=emergency).exists()
    assert not Stay.objects.filter(emergency=emergency).exists()
    assert not Move.objects.filter(emergency=emergency, household__isnull=False).exists()
    assert not Recipient.objects.filter(notice__emergency=emergency).exists()
    assert not messages_of(emergency).exists()
    assert not Delivery.objects.filter(
        message__subject_type="roll_call",
        message__subject_id__in=[
            str(pk) for pk in RollCall.objects.filter(emergency=emergency).values_list("pk", flat=True)
        ],
    ).exists()
    knocks = Task.objects.filter(emergency=emergency, kind="door_knock")
    assert {t.title_en for t in knocks} == {"Door-knock (address purged)"} and not any(t.note for t in knocks)
    # kept: the roll call, the notice's text, the timeline (one line more) and the review's figures
    assert (
        RollCall.objects.filter(emergency=emergency).exists()
        and Notice.objects.filter(emergency=emergency).exists()
    )
    assert TimelineEntry.objects.filter(emergency=emergency).count() == timeline + 1
    after = review.after_action_review(emergency)
    assert after["roll_call"] == figures and after["roll_call"]["counts"]["asked"] > 0
    assert after["emergency"]["purged_at"] == clock.now().isoformat()
    audit = AuditEntry.objects.get(action="emergency.purge")
    assert audit.subject_id == str(emergency.pk) or audit.subject_id == emergency.pk
    assert audit.details["roll_call_entries"] == figures["counts"]["asked"]
    assert (
        audit.details["stays"] == 1 and audit.details["moves"] == 1 and audit.details["notice_recipients"] > 0
    )
    assert purge.purge_due() == 0 and purge.purge_emergency(emergency) == {}, "once"


def test_a_running_emergency_is_never_purged(users, activated, sim):
    sim.advance(dt.timedelta(days=400))
    assert purge.purge_due() == 0
    activated.refresh_from_db()
    assert activated.purged_at is None and purge.due_at(activated) is None
