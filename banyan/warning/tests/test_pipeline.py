"""Stored readings → engine → alerts, with the checkpoint that lets a restarted worker resume."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from banyan.sensing.parsing import ReadingIn
from banyan.sensing.services import store_readings
from banyan.warning.choices import AlertStatus
from banyan.warning.models import Alert, EngineCheckpoint, EngineProgress, Rule
from banyan.warning.pipeline import RulePipeline
from banyan.warning.services import resolve_alert
from banyan.warning.tests.conftest import NOW, make_rule, seeded_device


@pytest.fixture
def water(db, now):
    Rule.objects.update(is_active=False)  # only this test's rules
    device = seeded_device("water_level")
    rule = make_rule(device.community, device_codes=[device.code], auto_clear=True)
    return device, rule


def feed(pipeline, device, values, start=NOW, step=60):
    readings = [
        ReadingIn("water_level_cm", value, start + dt.timedelta(seconds=i * step), seq=None)
        for i, value in enumerate(values)
    ]
    report = store_readings([(device, readings)])
    return pipeline.process(report.new, report.ids)


def test_readings_raise_repeat_and_clear_one_alert(water):
    device, rule = water
    pipeline = RulePipeline(device.community)
    feed(pipeline, device, [30, 55, 60])
    alert = Alert.objects.get(rule=rule)
    assert (alert.status, alert.subject, alert.count, alert.last_value) == (
        AlertStatus.OPEN,
        device.code,
        2,
        60,
    )
    feed(pipeline, device, [45, 35], start=NOW + dt.timedelta(minutes=10))
    alert.refresh_from_db()
    assert alert.status == AlertStatus.CLEARED
    assert Alert.objects.filter(rule=rule).count() == 1


def test_duplicate_readings_do_not_count_twice(water):
    device, rule = water
    pipeline = RulePipeline(device.community)
    feed(pipeline, device, [55, 60])
    feed(pipeline, device, [55, 60])  # redelivered: stored nothing new, so nothing evaluated
    assert Alert.objects.get(rule=rule).count == 2


def test_a_restarted_pipeline_resumes_from_the_checkpoint(water):
    device, rule = water
    feed(RulePipeline(device.community), device, [55])
    assert EngineCheckpoint.objects.filter(key=f"community:{device.community.code}").exists()
    restarted = RulePipeline(device.community)
    feed(restarted, device, [45], start=NOW + dt.timedelta(minutes=5))  # inside the hysteresis band
    feed(restarted, device, [35], start=NOW + dt.timedelta(minutes=6))
    assert Alert.objects.get(rule=rule).status == AlertStatus.CLEARED


def test_a_resolved_alert_can_be_raised_again_after_a_tick(water, users, now):
    device, rule = water
    rule.auto_clear = False
    rule.save(update_fields=["auto_clear"])
    pipeline = RulePipeline(device.community)
    feed(pipeline, device, [55])
    alert = Alert.objects.get(rule=rule)
    resolve_alert(actor=users["admin"], alert=alert, note="抽水完毕")
    now.advance(60)
    pipeline.tick()
    feed(pipeline, device, [58], start=NOW + dt.timedelta(minutes=2))
    assert Alert.objects.filter(rule=rule, status=AlertStatus.OPEN).count() == 1
    assert Alert.objects.filter(rule=rule).count() == 2


def test_tick_fires_time_driven_rules_and_picks_up_rule_changes(water, now):
    device, rule = water
    pipeline = RulePipeline(device.community)
    offline = make_rule(
        device.community,
        name="offline",
        kind="offline",
        grade="blue",
        interval_s=60,
        missed=3,
        device_codes=[device.code],
    )
    pipeline.tick()  # sees the new rule and starts watching the listed device
    now.advance(200)
    pipeline.tick()
    alert = Alert.objects.get(rule=offline)
    assert (alert.grade, alert.subject) == ("blue", device.code)


def test_a_restart_between_checkpoints_replays_without_writing_events_twice(water):
    device, rule = water
    pipeline = RulePipeline(device.community)
    feed(pipeline, device, [55, 60])  # raised, then a repeat; the full state is not saved yet
    checkpoint = EngineCheckpoint.objects.get(key=pipeline.key)
    assert checkpoint.state_mark < EngineProgress.objects.get(key=pipeline.key).reading_id

    restarted = RulePipeline(device.community)  # replays the two readings, writes nothing
    alert = Alert.objects.get(rule=rule)
    assert (alert.count, alert.status) == (2, AlertStatus.OPEN)
    feed(restarted, device, [45], start=NOW + dt.timedelta(minutes=5))  # inside the hysteresis band
    alert.refresh_from_db()
    assert (alert.count, alert.status) == (2, AlertStatus.OPEN)
    feed(restarted, device, [35], start=NOW + dt.timedelta(minutes=6))
    alert.refresh_from_db()
    assert alert.status == AlertStatus.CLEARED
    assert Alert.objects.filter(rule=rule).count() == 1


def test_readings_stored_by_others_are_evaluated_in_id_order(water, now):
    """An HTTP gateway's readings (stored without the worker) reach the rules: before the worker's
    own next batch, or at the next tick."""
    device, rule = water
    pipeline = RulePipeline(device.community)
    store_readings([(device, [ReadingIn("water_level_cm", 70.0, NOW, seq=None)])])  # someone else
    assert not Alert.objects.filter(rule=rule).exists()
    feed(pipeline, device, [75], start=NOW + dt.timedelta(minutes=1))
    alert = Alert.objects.get(rule=rule)
    assert (alert.count, alert.last_value) == (2, 75)  # 70 first, then 75

    store_readings([(device, [ReadingIn("water_level_cm", 20.0, NOW + dt.timedelta(minutes=2))])])
    pipeline.tick()
    alert.refresh_from_db()
    assert alert.status == AlertStatus.CLEARED
    pipeline.tick()  # nothing new: evaluated once only
    assert Alert.objects.filter(rule=rule).count() == 1


def test_readings_posted_over_http_raise_alerts_at_the_next_tick(water, api, now):
    """``POST /api/v1/readings`` stores; the ingest worker's engine evaluates them within a tick."""
    device, rule = water
    pipeline = RulePipeline(device.community)
    body = {
        "readings": [
            {
                "device": device.code,
                "metric": "water_level_cm",
                "value": value,
                "ts": (NOW + offset).isoformat(),
            }
            for value, offset in ((35.0, dt.timedelta(0)), (66.0, dt.timedelta(seconds=30)))
        ]
    }
    response = api("director").post("readings", body)
    assert response.status_code == 200 and response.data["accepted"] == 2
    assert not Alert.objects.filter(rule=rule).exists()
    pipeline.tick()
    alert = Alert.objects.get(rule=rule)
    assert (alert.status, alert.count, alert.last_value) == (AlertStatus.OPEN, 1, 66.0)
    assert alert.reading_at == NOW + dt.timedelta(seconds=30)


def test_a_tick_saves_the_full_state_when_it_is_due(water, monkeypatch):
    device, _rule = water
    pipeline = RulePipeline(device.community)
    feed(pipeline, device, [55])
    pipeline.tick()  # not yet due: only the progress mark moved
    checkpoint = EngineCheckpoint.objects.get(key=pipeline.key)
    progress = EngineProgress.objects.get(key=pipeline.key).reading_id
    assert checkpoint.state_mark < progress
    monkeypatch.setattr(RulePipeline, "state_every_s", 0.0)
    pipeline.tick()
    checkpoint.refresh_from_db()
    assert checkpoint.state_mark == progress
    assert checkpoint.state == pipeline.engine.checkpoint()


def test_the_first_batch_after_a_first_start_survives_a_rebuild(water, now):
    """The engine is built before the batch it first sees is stored: that batch is not history, and
    an engine rebuilt (after a failure) before any state was saved replays it."""
    from banyan.sensing.ingest.writer import BatchWriter

    device, rule = water
    writer = BatchWriter(rules_factory=lambda _code: RulePipeline(device.community))
    topic = f"banyan/{device.community.code}/devices/{device.code}/readings"

    def send(value, minutes):
        ts = (NOW - dt.timedelta(minutes=10 - minutes)).isoformat()  # the clock stands at NOW
        writer.write([(topic, json.dumps({"metric": "water_level_cm", "value": value, "ts": ts}).encode())])

    send(95.0, 0)  # the engine's very first batch raises the alert
    assert Alert.objects.get(rule=rule).status == AlertStatus.OPEN
    writer._rules = None  # what write() and tick() do after any failure
    send(45.0, 1)  # inside the hysteresis band: nothing
    send(30.0, 2)  # clears only if the rebuilt engine knows the alert is open
    alert = Alert.objects.get(rule=rule)
    assert (alert.status, alert.count, alert.last_value) == (AlertStatus.CLEARED, 1, 30.0)
