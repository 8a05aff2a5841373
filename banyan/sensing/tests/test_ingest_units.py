"""The ingest worker's parts without a broker: the Frigate mapping, the batch writer, heartbeats."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from banyan.core.mqtt import Backoff, parse_broker_url
from banyan.sensing.choices import DeviceStatus
from banyan.sensing.ingest import frigate
from banyan.sensing.ingest.worker import IngestConfig, default_client_id
from banyan.sensing.ingest.writer import BatchWriter, mark_silent_devices_offline, silent_device_ids
from banyan.sensing.models import DeadLetter, Device, Reading
from banyan.sensing.tests.conftest import NOW

CAMERAS = {"cam_gate": [frigate.Camera("CAM-1", "C1", "all"), frigate.Camera("CAM-2", "C1", "gate")]}
T0 = NOW.timestamp()


def event(kind="new", **after):
    body = {"id": "1.0-abcdef", "camera": "cam_gate", "label": "person", "false_positive": False}
    body.update({"start_time": T0, "frame_time": T0 + 1, "current_zones": []}, **after)
    return json.dumps({"type": kind, "before": {}, "after": body})


def counts(readings):
    return [(r.camera.code, r.metric, r.value) for r in readings]


def test_person_counts_follow_objects_and_zones():
    tracker = frigate.FrigateTracker()
    readings, problem = tracker.translate(event(current_zones=["gate"]), CAMERAS)
    assert problem is None
    assert counts(readings) == [("CAM-1", "person_count", 1.0), ("CAM-2", "person_count", 1.0)]
    readings, _ = tracker.translate(event(id="2.0-second", frame_time=T0 + 2), CAMERAS)
    assert counts(readings) == [("CAM-1", "person_count", 2.0), ("CAM-2", "person_count", 1.0)]
    readings, _ = tracker.translate(event("end", current_zones=["gate"], end_time=T0 + 3), CAMERAS)
    assert counts(readings) == [("CAM-1", "person_count", 1.0), ("CAM-2", "person_count", 0.0)]
    assert readings[0].ts == dt.datetime.fromtimestamp(T0 + 3, tz=dt.UTC)


def test_a_fall_is_one_reading_at_its_start_whatever_the_message():
    tracker = frigate.FrigateTracker()
    first, _ = tracker.translate(event(label="fall"), CAMERAS)
    again, _ = tracker.translate(event("update", label="fall", frame_time=T0 + 9), CAMERAS)
    by_attribute, _ = tracker.translate(event(id="3.0-attrib", attributes={"fall": 0.9}), CAMERAS)
    assert counts(first) == [("CAM-1", "fall", 1.0), ("CAM-2", "fall", 1.0)]
    assert [r.ts for r in first] == [r.ts for r in again] == [NOW, NOW]  # same key: stored once
    assert ("CAM-1", "fall", 1.0) in counts(by_attribute)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{oops", "bad_json"),
        (json.dumps({"type": "gone", "after": {}}), "not_a_reading"),
        (json.dumps({"type": "new", "after": {"camera": "cam_gate"}}), "missing_field"),
        (event(camera="cam_elsewhere"), "unknown_device"),
        (event(frame_time="yesterday"), "bad_timestamp"),
    ],
)
def test_events_that_cannot_be_mapped_are_problems(payload, reason):
    readings, problem = frigate.FrigateTracker().translate(payload, CAMERAS)
    assert readings == []
    assert problem is not None and problem.reason == reason


def test_false_positives_are_ignored():
    assert frigate.FrigateTracker().translate(event(false_positive=True), CAMERAS) == ([], None)


def test_the_camera_reading_travels_as_a_device_message():
    reading = frigate.CameraReading(CAMERAS["cam_gate"][0], "person_count", 3.0, NOW)
    topic, payload = frigate.reading_message(reading)
    assert topic == "banyan/C1/devices/CAM-1/readings"
    assert json.loads(payload) == {"metric": "person_count", "value": 3.0, "ts": NOW.isoformat()}


def test_broker_urls_and_client_ids():
    assert parse_broker_url("mqtt://127.0.0.1:1884") == parse_broker_url("tcp://127.0.0.1:1884")
    secure = parse_broker_url("mqtts://ingest:s%40cret@broker.example")
    assert (secure.host, secure.port, secure.tls, secure.username, secure.password) == (
        "broker.example",
        8883,
        True,
        "ingest",
        "s@cret",
    )
    with pytest.raises(ValueError, match="mqtt://"):
        parse_broker_url("http://127.0.0.1")
    assert default_client_id("330102001001").endswith("-330102001001")
    assert default_client_id(None) == default_client_id(None)  # stable: the session lives under it
    assert IngestConfig(community="C1", frigate=False).topics == ["banyan/C1/devices/+/readings"]
    assert IngestConfig(community="C1").topics == ["banyan/C1/devices/+/readings", "frigate/C1/events"]
    assert IngestConfig().topics == ["banyan/+/devices/+/readings", "frigate/+/events", "frigate/events"]


def test_backoff_is_bounded():
    backoff = Backoff(maximum=4)
    assert [backoff.next() for _ in range(6)] == [0.5, 1, 2, 4, 4, 4]
    backoff.reset()
    assert backoff.next() == 0.5


def test_silent_devices_are_those_three_intervals_late():
    devices = [
        (1, NOW - dt.timedelta(seconds=301), 100),
        (2, NOW - dt.timedelta(seconds=299), 100),
        (3, None, 60),
    ]
    assert silent_device_ids(devices, NOW) == [1]


def test_mark_silent_devices_offline(device_factory, now):
    late = device_factory(expected_interval_s=60, last_seen_at=NOW - dt.timedelta(minutes=4))
    fresh = device_factory(expected_interval_s=60, last_seen_at=NOW - dt.timedelta(minutes=2))
    resting = device_factory(
        expected_interval_s=60, last_seen_at=NOW - dt.timedelta(hours=1), status=DeviceStatus.MAINTENANCE
    )
    Device.objects.exclude(pk__in=[late.pk, fresh.pk, resting.pk]).update(last_seen_at=None)
    assert mark_silent_devices_offline() == 1
    statuses = dict(Device.objects.filter(pk__in=[late.pk, fresh.pk, resting.pk]).values_list("pk", "status"))
    assert statuses == {late.pk: "offline", fresh.pk: "online", resting.pk: "maintenance"}


def test_the_writer_stores_maps_and_calls_the_hook_after_commit(
    device_factory, now, django_capture_on_commit_callbacks
):
    level = device_factory()
    camera = device_factory(kind="camera", metadata={"frigate_camera": "cam_test", "frigate_zone": "all"})
    seen = []
    writer = BatchWriter(on_new_readings=seen.append)
    readings_topic = f"banyan/{level.community.code}/devices/{level.code}/readings"
    body = json.dumps({"metric": "water_level_cm", "value": 12.0, "ts": NOW.isoformat(), "seq": 1}).encode()
    messages = [
        (readings_topic, body),
        (readings_topic, body),
        ("frigate/events", event(camera="cam_test").encode()),
        ("frigate/events", event(camera="cam_unknown").encode()),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        result = writer.write(messages)
    assert (result.messages, result.accepted, result.duplicates, result.dead_letters) == (4, 2, 1, 1)
    assert [[(device_id, r.metric) for device_id, r in batch] for batch in seen] == [
        [(level.pk, "water_level_cm"), (camera.pk, "person_count")]
    ]
    assert Reading.objects.get(device=camera).value == 1.0
    letter = DeadLetter.objects.get(source="frigate")
    assert (letter.reason, letter.device_code, letter.topic) == (
        "unknown_device",
        "cam_unknown",
        "frigate/events",
    )

    with django_capture_on_commit_callbacks(execute=True):
        again = writer.write(messages)  # a redelivered batch
    assert (again.accepted, again.duplicates) == (0, 3)
    assert len(seen) == 1  # nothing new, no call


def test_frigate_topics_and_their_communities():
    assert frigate.topic_community("frigate/events") is None
    assert frigate.topic_community("frigate/330102001001/events") == "330102001001"
    for other in ("frigate/330102001001/available", "frigate//events", "banyan/C1/devices/X/readings"):
        assert frigate.topic_community(other) is False, other


def test_a_communitys_own_frigate_maps_only_its_cameras(device_factory, outside, now):
    """Two communities' Frigates may both name a camera "gate": frigate/<code>/events is scoped."""
    from banyan.places.models import Region

    far_grid = Region.objects.get(code="T-FAR-G1")
    home = device_factory(kind="camera", metadata={"frigate_camera": "gate", "frigate_zone": "all"})
    far = device_factory(kind="camera", grid=far_grid, metadata={"frigate_camera": "gate"})
    writer = BatchWriter()
    result = writer.write(
        [
            (f"frigate/{far.community.code}/events", event(camera="gate").encode()),
            (
                f"frigate/{far.community.code}/events",
                event(camera="gate", id="2.0-x", frame_time=T0 + 2).encode(),
            ),
            (f"frigate/{home.community.code}/events", event(camera="gate", id="3.0-y").encode()),
        ]
    )
    assert result.dead_letters == 0
    latest = Reading.objects.filter(metric="person_count").order_by("device__code", "-ts")
    counts_by_device: dict[str, float] = {}
    for code, value in latest.values_list("device__code", "value"):
        counts_by_device.setdefault(code, value)
    # Each community's tracker counts its own people only: 2 at the far gate, 1 at home.
    assert counts_by_device == {far.code: 2.0, home.code: 1.0}
    unknown = writer.write([(f"frigate/{home.community.code}/events", event(camera="lobby").encode())])
    assert unknown.dead_letters == 1
    assert DeadLetter.objects.get(source="frigate").topic == f"frigate/{home.community.code}/events"
