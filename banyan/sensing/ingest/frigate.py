"""Frigate ``frigate/events`` messages turned into camera readings: pure, no Django import.

A message is ``{"type": "new"|"update"|"end", "before": {...}, "after": {...}}`` (see
``standards/camera-events.md``). Each tracked object keeps its ``id`` for its whole life.

What comes out, for the camera device whose ``metadata.frigate_camera`` is ``after.camera``:
- ``person_count``: the number of people the camera tracks now, in the device's
  ``metadata.frigate_zone`` (a zone name from ``current_zones``; ``"all"`` or none counts every
  person in view). The count needs the set of live objects, which :class:`FrigateTracker` keeps in
  memory (lost on restart: the next events rebuild it). The reading's time is ``after.frame_time``
  (``end_time`` on ``end``), so a redelivered message maps to the same reading and is stored once.
- ``fall`` = 1: an object labelled ``fall``, or one carrying a ``fall`` attribute. Its time is the
  object's ``start_time``, the same for every message about that object (``new``, ``update`` …),
  so one fall gives one reading whatever is redelivered or repeated: the event id and type are the
  idempotency key, and storage (unique device+metric+ts) enforces it.
False positives are ignored. A message that is not a Frigate event, or names an unknown camera,
is a :class:`FrigateProblem` for the dead-letter table.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from typing import Any

TOPIC = "frigate/events"
# A community's own Frigate publishes under ``mqtt.topic_prefix: frigate/<community-code>``, so a
# worker partitioned by community receives only its cameras' events.
COMMUNITY_TOPIC = "frigate/{community}/events"


def topic_community(topic: str) -> str | None | bool:
    """For a Frigate events topic, the community it is scoped to (``None`` for ``frigate/events``);
    ``False`` if the topic is not a Frigate events topic."""
    if topic == TOPIC:
        return None
    parts = topic.split("/")
    if len(parts) == 3 and parts[0] == "frigate" and parts[2] == "events" and parts[1]:
        return parts[1]
    return False


EVENT_TYPES = ("new", "update", "end")
ALL_ZONES = "all"


@dataclass(frozen=True, slots=True)
class Camera:
    """A camera device as the mapping needs it."""

    code: str
    community: str
    zone: str = ALL_ZONES


@dataclass(frozen=True, slots=True)
class CameraReading:
    camera: Camera
    metric: str
    value: float
    ts: dt.datetime


@dataclass(frozen=True, slots=True)
class FrigateProblem:
    reason: str  # a dead-letter reason code
    detail: str
    camera_name: str = ""


def _epoch(value: Any) -> dt.datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    try:
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _is_fall(obj: dict) -> bool:
    if obj.get("label") == "fall":
        return True
    attributes = obj.get("attributes")
    if isinstance(attributes, dict) and "fall" in attributes:
        return True
    current = obj.get("current_attributes")
    return isinstance(current, list) and any(
        isinstance(a, dict) and a.get("label") == "fall" for a in current
    )


@dataclass
class FrigateTracker:
    """People each camera tracks now, by object id → the zones it is in."""

    people: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)

    def count(self, camera_name: str, zone: str) -> int:
        objects = self.people.get(camera_name, {})
        if zone == ALL_ZONES:
            return len(objects)
        return sum(1 for zones in objects.values() if zone in zones)

    def translate(
        self, payload: bytes | str, cameras: dict[str, list[Camera]]
    ) -> tuple[list[CameraReading], FrigateProblem | None]:
        """Readings for one ``frigate/events`` message, or the problem that refuses it.

        ``cameras`` maps a Frigate camera name to the camera devices that watch it (usually one).
        """
        try:
            message = json.loads(payload)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return [], FrigateProblem("bad_json", "The Frigate event is not valid JSON.")
        if not isinstance(message, dict) or message.get("type") not in EVENT_TYPES:
            return [], FrigateProblem(
                "not_a_reading", "Not a Frigate event: type must be new, update or end."
            )
        after = message.get("after")
        if not isinstance(after, dict) or not isinstance(after.get("id"), str):
            return [], FrigateProblem("missing_field", "The Frigate event has no after.id.")
        camera_name = after.get("camera")
        if not isinstance(camera_name, str) or not camera_name:
            return [], FrigateProblem("missing_field", "The Frigate event names no camera.")
        devices = cameras.get(camera_name)
        if not devices:
            return [], FrigateProblem(
                "unknown_device", "No camera device has this frigate_camera.", camera_name
            )
        if after.get("false_positive") is True:
            return [], None
        kind = message["type"]
        object_id = after["id"]
        frame = _epoch(after.get("end_time") if kind == "end" else None) or _epoch(after.get("frame_time"))
        if frame is None:
            return [], FrigateProblem(
                "bad_timestamp", "The Frigate event has no usable frame_time.", camera_name
            )
        readings: list[CameraReading] = []
        if _is_fall(after) and kind != "end":
            started = _epoch(after.get("start_time")) or frame
            readings += [CameraReading(device, "fall", 1.0, started) for device in devices]
        if after.get("label") == "person":
            live = self.people.setdefault(camera_name, {})
            if kind == "end":
                live.pop(object_id, None)
            else:
                zones = after.get("current_zones")
                live[object_id] = (
                    frozenset(z for z in zones if isinstance(z, str))
                    if isinstance(zones, list)
                    else frozenset()
                )
            readings += [
                CameraReading(device, "person_count", float(self.count(camera_name, device.zone)), frame)
                for device in devices
            ]
        return readings, None


def reading_message(reading: CameraReading) -> tuple[str, bytes]:
    """The reading as the MQTT message a device would have sent: one storage path for all."""
    body = {"metric": reading.metric, "value": reading.value, "ts": reading.ts.isoformat()}
    topic = f"banyan/{reading.camera.community}/devices/{reading.camera.code}/readings"
    return topic, json.dumps(body).encode()
