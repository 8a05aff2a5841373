"""The synchronous side of ``banyan ingest``: one thread that owns the database connection.

:class:`BatchWriter` stores a batch of MQTT messages in one transaction through
:func:`banyan.sensing.services.ingest_messages` (readings) and the same function for camera
readings mapped from Frigate events, dead-letters what cannot be stored, and calls the
``on_new_readings`` hook after the commit with the readings stored for the first time.
It also marks silent devices offline. Only the worker thread calls it.

Readings of a resident who withdrew consent are dropped and counted before they are stored (a
:class:`~banyan.sensing.consent.ConsentGate` refreshed about every second, see
:mod:`banyan.sensing.consent`); the rule pipeline is told which devices are so, and fires no timed
rule for them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from banyan.core import clock
from banyan.sensing.choices import DeadLetterSource, DeviceStatus
from banyan.sensing.consent import ConsentGate
from banyan.sensing.ingest import frigate
from banyan.sensing.models import Device
from banyan.sensing.parsing import ReadingIn
from banyan.sensing.services import DeadLetterIn, ingest_messages, record_dead_letters

log = logging.getLogger("banyan.ingest")

MISSED_HEARTBEATS = 3

NewReadings = list[tuple[int, ReadingIn]]


def no_hook(readings: NewReadings) -> None:
    """The default ``on_new_readings``: nothing (the rule engine is wired here later)."""


@dataclass
class BatchResult:
    messages: int = 0
    accepted: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    dropped: int = 0
    alerts: int = 0


def silent_device_ids(devices: Sequence[tuple[int, dt.datetime | None, int]], now: dt.datetime) -> list[int]:
    """Devices ``(id, last_seen_at, expected_interval_s)`` that missed three heartbeats.

    A device that never reported (no ``last_seen_at``) is left as it is: it may not be installed.
    """
    return [
        pk
        for pk, last_seen_at, interval in devices
        if last_seen_at is not None
        and last_seen_at < now - dt.timedelta(seconds=MISSED_HEARTBEATS * interval)
    ]


def mark_silent_devices_offline(now: dt.datetime | None = None) -> int:
    """Set ``offline`` on online devices whose last reading is older than 3 × their interval."""
    now = now or clock.now()
    online = Device.objects.filter(status=DeviceStatus.ONLINE, last_seen_at__isnull=False).values_list(
        "id", "last_seen_at", "expected_interval_s"
    )
    silent = silent_device_ids(list(online), now)
    changed = 0
    for start in range(0, len(silent), 500):
        chunk = silent[start : start + 500]
        # Readings are stored by this same thread, so none can arrive between the read and this
        # UPDATE from this worker; the status is checked again for the other writers.
        changed += Device.objects.filter(pk__in=chunk, status=DeviceStatus.ONLINE).update(
            status=DeviceStatus.OFFLINE
        )
    return changed


class BatchWriter:
    def __init__(
        self,
        *,
        on_new_readings: Callable[[NewReadings], None] = no_hook,
        community: str | None = None,
        rules_factory: Callable[[str | None], Any] | None = None,
    ) -> None:
        self.on_new_readings = on_new_readings
        self.community = community
        # Builds the rule pipeline (``banyan.warning.pipeline.RulePipeline``) in the database thread;
        # injected by the ``ingest`` command so that sensing does not import warning.
        self.rules_factory = rules_factory
        self._rules: Any = None
        self.device_cache: dict[str, Device] = {}
        self.cameras: dict[str, list[frigate.Camera]] | None = None
        # One tracker per Frigate topic: two communities' Frigates may both call a camera "gate".
        self.trackers: dict[str, frigate.FrigateTracker] = {}
        self.consent = ConsentGate(community)

    def forget_devices(self) -> None:
        """Devices may have changed (new ones, cameras re-pointed): look them up again."""
        self.device_cache = {}
        self.cameras = None

    def _camera_map(self) -> dict[str, list[frigate.Camera]]:
        if self.cameras is None:
            cameras: dict[str, list[frigate.Camera]] = {}
            rows = Device.objects.filter(kind="camera").select_related("community")
            if self.community:
                rows = rows.filter(community__code=self.community)
            for device in rows:
                name = (device.metadata or {}).get("frigate_camera")
                if isinstance(name, str) and name:
                    zone = (device.metadata or {}).get("frigate_zone") or frigate.ALL_ZONES
                    cameras.setdefault(name, []).append(
                        frigate.Camera(device.code, device.community.code, str(zone))
                    )
            self.cameras = cameras
        return self.cameras

    def _cameras_of(self, community: str | None) -> dict[str, list[frigate.Camera]]:
        """Cameras by Frigate name: all of them, or those of one community (its own Frigate's topic)."""
        cameras = self._camera_map()
        if community is None:
            return cameras
        scoped = {name: [c for c in found if c.community == community] for name, found in cameras.items()}
        return {name: found for name, found in scoped.items() if found}

    def rules(self) -> Any:
        if self._rules is None and self.rules_factory is not None:
            self._rules = self.rules_factory(self.community)
            bind = getattr(self._rules, "bind_consent", None)
            if bind is not None:
                bind(self.consent)
        return self._rules

    def refresh_consent(self) -> None:
        """Look consents up again (about once a second); devices are looked up again when they changed."""
        if self.consent.refresh():
            self.device_cache = {}

    def tick(self, pushed: Sequence[tuple[int, dt.datetime]] = ()) -> int:
        """Let time-driven rules fire and overdue alerts escalate, and record when alerts were first
        pushed (``(alert id, time)`` of the events published since); returns the alerts written."""
        self.refresh_consent()
        rules = self.rules()
        if rules is None:
            return 0
        try:
            if pushed:
                rules.mark_pushed(pushed)
            return len(rules.tick())
        except Exception:
            self._rules = None  # its state may be ahead of the database: rebuild from the checkpoint
            raise

    def write(self, messages: Sequence[tuple[str, bytes]]) -> BatchResult:
        """Store one batch in one transaction; raises only if the database fails (retry then).

        New readings go through the rules in the same transaction, with the engine's checkpoint, so
        a crash either keeps readings, alerts and engine state together or loses them together (and
        the broker redelivers the batch)."""
        try:
            return self._write(messages)
        except Exception:
            self._rules = None  # the engine saw readings that were rolled back: rebuild it
            raise

    def _write(self, messages: Sequence[tuple[str, bytes]]) -> BatchResult:
        readings_messages: list[tuple[str, bytes]] = []
        camera_messages: list[tuple[str, bytes]] = []
        letters: list[DeadLetterIn] = []
        # The trackers' state only moves on when the batch commits: a retried batch starts again
        # from the same counts.
        trackers = {
            topic: frigate.FrigateTracker({name: dict(live) for name, live in tracker.people.items()})
            for topic, tracker in self.trackers.items()
        }
        for topic, payload in messages:
            scope = frigate.topic_community(topic)
            if scope is False:
                readings_messages.append((topic, payload))
                continue
            tracker = trackers.setdefault(topic, frigate.FrigateTracker())
            mapped, problem = tracker.translate(payload, self._cameras_of(scope))
            if problem is not None:
                letters.append(
                    DeadLetterIn(
                        source=DeadLetterSource.FRIGATE,
                        reason=problem.reason,
                        detail=problem.detail,
                        topic=topic,
                        device_code=problem.camera_name,
                        payload=payload,
                    )
                )
            camera_messages += [frigate.reading_message(reading) for reading in mapped]
        result = BatchResult(messages=len(messages))
        self.refresh_consent()
        with transaction.atomic():
            # Built (or rebuilt after a failure) before this batch is stored: on a first start the
            # engine's mark must lie before the batch's readings, or they would count as history.
            rules = self.rules()
            new: NewReadings = []
            ids: list[int] = []
            for source, batch in (
                (DeadLetterSource.MQTT, readings_messages),
                (DeadLetterSource.FRIGATE, camera_messages),
            ):
                if not batch:
                    continue
                report = ingest_messages(
                    batch, source=source, device_cache=self.device_cache, gate=self.consent
                )
                result.accepted += report.accepted
                result.dropped += report.dropped
                result.duplicates += report.duplicates
                result.dead_letters += report.dead_letters
                new += report.new
                ids += report.ids
            result.dead_letters += record_dead_letters(letters)
            if rules is not None and new:
                result.alerts = len(rules.process(new, ids))
            if new:
                hook = self.on_new_readings
                transaction.on_commit(lambda: hook(new), robust=True)
        self.trackers = trackers
        return result
