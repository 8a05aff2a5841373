"""The care drill on the session's seeded community, and ``banyan drill care`` end to end."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.db import transaction

from banyan.care.models import CarePlan, CheckIn
from banyan.people.choices import CareKind, ConsentScope
from banyan.people.models import CareProfile, Consent
from banyan.sensing.kinds import get_kind
from banyan.sensing.models import Device, Reading
from banyan.sim import care_drill

CONTRACT = {
    "vulnerable_total",
    "checkins_due",
    "checkins_answered",
    "answered_by_channel",
    "missed",
    "wellness_visits",
    "missed_seen_within_60min_share",
    "missed_seen_within_24h_share",
    "readings_dropped_without_consent",
}


def _drill(seed: int = 7, days: int = 1) -> dict:
    return care_drill.run(seed=seed, start=care_drill.first_midnight(), days=days)


@pytest.mark.slow
def test_a_drilled_day_sees_every_missed_check_in_and_drops_withdrawn_readings(users):
    # The seed's one resident with an account lives alone from today: they tap "I'm fine" in the app.
    resident = users["resident01"].resident
    CareProfile.objects.create(resident=resident, kind=CareKind.ELDERLY_ALONE, since=dt.date(2026, 1, 1))

    result = _drill(seed=1)  # a seed in which resident01 answers (any seed has a few who never do)

    assert CONTRACT <= result.keys()
    json.dumps(result)  # plain JSON: no dates, no objects
    plans = CarePlan.objects.filter(is_active=True).count()
    daily = CarePlan.objects.filter(is_active=True, daily_checkin=True).count()
    assert result["vulnerable_total"] == plans > daily > 0, "children and the like: visits, no daily check-in"
    assert result["checkins_due"] == daily
    assert result["checkins_answered"] + result["missed"] == result["checkins_due"]
    assert sum(result["answered_by_channel"].values()) == result["checkins_answered"] > 0
    assert result["missed"] > 0 and result["wellness_visits"] > 0
    # Every missed check-in is seen within 24 hours, by someone on some channel.
    assert result["missed_seen_within_24h_share"] == 1.0 and result["not_seen"] == 0
    assert result["goals"]["all_missed_seen_within_24h"]
    assert 0 <= result["missed_seen_within_60min_share"] <= 1
    assert result["missed_seen_p50_s"] <= result["missed_seen_p90_s"] <= result["missed_seen_max_s"]
    # The goals say what the figures say.
    within_60 = result["missed_seen_within_60min_share"] >= 0.9
    assert result["goals"]["missed_seen_within_60min_at_least_90pct"] == within_60
    assert result["goals"]["answers_on_at_least_3_channels"] == (len(result["answered_by_channel"]) >= 3)
    # Check-ins arrive on several channels: replies by SMS and voice, carers, the visits' staff.
    channels = set(CheckIn.objects.values_list("channel", flat=True))
    assert {"app", "sms", "voice", "staff"} <= channels
    assert CheckIn.objects.filter(resident=resident, channel="app", by=users["resident01"]).exists()
    assert set(result["checkins_by_channel"]) <= channels
    # Consent at ingest: the withdrawn residents' monitoring devices kept nothing after the withdrawal.
    assert result["readings_dropped_without_consent"] > 0
    assert result["stored_after_withdrawal"] == 0
    withdrawn = Consent.objects.filter(scope=ConsentScope.CARE_MONITORING, withdrawn_at__isnull=False)
    assert withdrawn.count() == result["setup_and_steps"]["consents_withdrawn"] > 0
    for consent in withdrawn:
        devices = [
            d
            for d in Device.objects.filter(resident_id=consent.resident_id)
            if (kind := get_kind(d.kind)) is not None and kind.monitoring
        ]
        assert devices
        assert not Reading.objects.filter(device__in=devices, ts__gt=consent.withdrawn_at).exists()
    assert Reading.objects.filter(ts__gte=care_drill.first_midnight()).exists()  # others were stored


@pytest.mark.slow
def test_the_same_seed_gives_the_same_figures(db):
    with transaction.atomic():
        first = _drill()
        transaction.set_rollback(True)
    assert not CarePlan.objects.exists()
    again = _drill()
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)


@pytest.mark.slow
def test_the_command_seeds_a_community_and_writes_the_same_json_twice(tmp_path, capsys):
    outputs = []
    for name in ("one.json", "two.json"):
        path = tmp_path / name
        call_command("drill", "care", "--seed", "3", "--days", "1", "--residents", "300", "--json", str(path))
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1]
    result = json.loads(outputs[0])
    assert CONTRACT <= result.keys() and result["days"] == 1 and result["residents"] == 300
    printed = capsys.readouterr().out
    assert "check-ins due" in printed and "all missed seen within 24h" in printed
