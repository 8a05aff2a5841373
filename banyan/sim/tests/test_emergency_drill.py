"""The emergency drills (``banyan drill typhoon`` …): the inner run on the session's seeded community, and
the command end to end on a small fresh community, twice with the same seed."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from banyan.emergency.choices import EmergencyStatus, Trigger
from banyan.emergency.epidemic.models import CheckIn, Delivery, HouseholdStatus
from banyan.emergency.models import Emergency
from banyan.emergency.rollcall.models import Entry
from banyan.people.models import CareProfile
from banyan.places.models import Region
from banyan.response.models import Incident
from banyan.sim import emergency_drill
from banyan.warning.cap import validate_cap
from banyan.warning.models import OfficialWarning

CONTRACT = {
    "hazard",
    "residents",
    "vulnerable_total",
    "activation_s",
    "accounted_share_at_10min",
    "accounted_share_at_30min",
    "accounted_share_at_60min",
    "all_accounted_min",
    "tasks_late",
    "shelter_peak",
    "resilience_loss",
}


@pytest.mark.slow
def test_a_typhoon_goes_from_the_government_warning_to_the_stand_down(db):
    result = emergency_drill.run(hazard="typhoon", seed=7, start=emergency_drill.first_morning())

    assert CONTRACT <= result.keys()
    json.dumps(result)  # plain JSON
    # The warning came as CAP, was stored, proposed the plan and was confirmed by the director.
    warning = OfficialWarning.objects.get()
    assert validate_cap(warning.raw.encode()) == []
    assert warning.sender_name == "浙江省气象台" and "橙色" in warning.headline_zh
    emergency = Emergency.objects.get()
    assert emergency.trigger == Trigger.CAP and emergency.official_warning == warning
    assert emergency.status == EmergencyStatus.STOOD_DOWN and emergency.level == 2
    assert result["activation_s"] > 0
    # Every household of the community was asked; each is accounted for by the end.
    entries = Entry.objects.filter(roll_call__emergency=emergency)
    assert entries.count() == result["area_households"] > 0
    assert result["households_accounted"] == result["area_households"]
    assert {"sms", "visit"} <= set(result["answered_by"])
    assert result["door_knocks"] > 0
    # The shares rise and end at one; the goals say what the figures say.
    shares = [result[f"accounted_share_at_{m}min"] for m in (10, 30, 60)]
    assert 0 < shares[0] <= shares[1] <= shares[2] <= 1
    assert result["vulnerable_total"] > 0
    assert result["goals"]["vulnerable_accounted_at_30min_at_least_90pct"] == (shares[1] >= 0.9)
    met_60 = result["all_accounted_min"] is not None and result["all_accounted_min"] <= 60
    assert result["goals"]["all_vulnerable_accounted_within_60min"] == met_60
    assert result["shelter_peak"] > 0
    # the basements' and garages' water-level sensors report through the ingest writer and the rules
    assert result["sensor_readings"] > 0
    assert result["sensor_incidents"] == Incident.objects.filter(alert__device__kind="water_level").count()
    # Loss: nobody is accounted for from the warning to the activation, so at least that much is lost.
    assert result["resilience_loss"] >= 100 * result["activation_s"] / 3600
    assert result["resilience_loss"] < 100 * (result["stand_down_h"] + result["activation_s"] / 3600)


@pytest.mark.slow
def test_a_fire_asks_only_the_burning_building(db):
    result = emergency_drill.run(hazard="fire", seed=3, start=emergency_drill.first_morning())

    assert CONTRACT <= result.keys() and result["hazard"] == "fire"
    emergency = Emergency.objects.get()
    assert len(emergency.area_buildings) == 1
    buildings = set(
        Entry.objects.filter(roll_call__emergency=emergency).values_list(
            "household__unit__building_id", flat=True
        )
    )
    assert buildings == {int(emergency.area_buildings[0])}
    # the burning building's smoke detectors alarm: red fire_smoke alerts there, their incidents worked
    smoke = Incident.objects.filter(alert__device__kind="smoke")
    assert result["sensor_alerts"] >= 1 and result["sensor_incidents"] == smoke.count() >= 1
    assert {i.alert.device.building_id for i in smoke} == {int(emergency.area_buildings[0])}
    assert all(i.category.code == "fire_smoke" and i.grade == "red" for i in smoke)
    assert result["first_sensor_alert_min"] is not None and result["first_sensor_alert_min"] < 10


@pytest.mark.slow
def test_an_epidemic_isolates_households_delivers_and_checks_in(db):
    result = emergency_drill.run(hazard="epidemic", seed=3, start=emergency_drill.first_morning())

    figures = result["epidemic"]
    emergency = Emergency.objects.get()
    statuses = HouseholdStatus.objects.filter(emergency=emergency, is_current=True)
    assert figures["isolating_households"] == statuses.count() > 0
    deliveries = Delivery.objects.filter(emergency=emergency).select_related("incident", "task")
    assert figures["deliveries"] == deliveries.count() > 0
    for delivery in deliveries:  # each went on foot as an incident and a task of the emergency
        assert delivery.incident.category.code == "wellness_check" and delivery.task.kind == "delivery"
        assert statuses.filter(household=delivery.household, status="needs_deliveries").exists()
    assert figures["deliveries_done"] == deliveries.filter(status="done").count() > 0
    # the residents in care of isolating households were asked from 09:00 and answered or were visited
    checkins = CheckIn.objects.filter(emergency=emergency)
    assert figures["checkins"] == checkins.count() > 0
    assert not checkins.filter(status="waiting").exists()
    in_care = CareProfile.objects.filter(
        is_active=True, resident__household__in=statuses.values("household")
    ).values_list("resident_id", flat=True)
    assert set(checkins.values_list("resident_id", flat=True)) == set(in_care)


def test_the_warning_is_valid_cap_for_every_hazard(db):
    community = Region.objects.filter(kind="community").order_by("pk").first()
    for name, drill in emergency_drill.DRILLS.items():
        data = emergency_drill.build_warning(
            drill, community, sent=emergency_drill.first_morning(), building=None
        )
        assert validate_cap(data) == [], name


@pytest.mark.slow
def test_the_command_writes_the_contract_and_the_same_json_for_the_same_seed(tmp_path, capsys):
    outputs = []
    for name in ("one.json", "two.json"):
        path = tmp_path / name
        call_command("drill", "flood", "--seed", "5", "--residents", "300", "--json", str(path))
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1]
    result = json.loads(outputs[0])
    assert CONTRACT <= result.keys() and result["hazard"] == "flood" and result["residents"] == 300
    assert "vulnerable accounted for" in capsys.readouterr().out
