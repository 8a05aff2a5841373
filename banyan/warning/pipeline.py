"""Readings → rule engine → alerts, for the ingest worker.

``RulePipeline`` owns one :class:`~banyan.warning.engine.Engine` for a partition (one community, or
every community) and follows the readings table by id. ``process`` evaluates the readings a batch
just stored (after any that others, such as ``POST /api/v1/readings``, stored before them) and
writes the resulting alerts and the progress mark in the batch's transaction; ``tick`` (about once
a second) evaluates readings others stored since, lets time-driven rules (no data, offline,
sustained, windows) fire, escalates overdue alerts, forgets subjects whose alerts a person
resolved, picks up rule changes and, every ``state_every_s``, saves the engine's full state.

Exactly once, across crashes: the state saved at a tick covers readings up to its
``state_mark``; the progress mark says whose events are written. On restore the readings between
the two are evaluated again with their events dropped (they are in the database already), and
those after the progress mark are evaluated as new. Writers of readings hold one lock
(``sensing.services.lock_readings``), so ids become visible in order. All time comes from
``banyan.core.clock``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import Max

from banyan.core import clock
from banyan.sensing.models import Device
from banyan.sensing.models import Reading as StoredReading
from banyan.sensing.parsing import ReadingIn
from banyan.sensing.services import lock_readings
from banyan.warning import services
from banyan.warning.choices import AlertStatus
from banyan.warning.engine import Engine, Reading, rule_fingerprint
from banyan.warning.models import Alert, EngineCheckpoint, EngineProgress

logger = logging.getLogger(__name__)


class RulePipeline:
    # How often a tick saves the full state. Between saves the progress mark alone moves on and a
    # restart replays the readings since the last save (about this many seconds' worth).
    state_every_s = 10.0

    def __init__(self, community=None) -> None:
        self._state_saved_at = time.monotonic()
        self.community = community
        self.key = f"community:{community.code}" if community is not None else "all"
        self._devices: dict[int, tuple[str, str, str, str]] = {}
        checkpoint = EngineCheckpoint.objects.filter(key=self.key).first()
        progress = EngineProgress.objects.filter(key=self.key).first()
        self._resolved_seen_at = checkpoint.resolved_seen_at if checkpoint else None
        rules = services.engine_rules(community)
        self._fingerprints = [rule_fingerprint(r) for r in rules]
        newest = self._readings().aggregate(newest=Max("id"))["newest"] or 0
        if checkpoint and checkpoint.state:
            self.engine = Engine.restore(rules, checkpoint.state)
            self.mark = checkpoint.state_mark if checkpoint.state_mark is not None else newest
            written = progress.reading_id if progress else self.mark
            # Readings the state has not seen but whose events are written: evaluate, write nothing.
            replayed = self._evaluate_stored(until=written + 1)
            if replayed:
                logger.info("engine %s resumed: %d readings replayed", self.key, replayed)
        else:
            # A first start: readings stored before it are history, not news. Its (empty) state is
            # saved at once, so a restart before the first tick replays from here.
            self.engine = Engine(rules)
            self.mark = newest
            self._save_state()
        if progress is None:
            EngineProgress.objects.update_or_create(key=self.key, defaults={"reading_id": self.mark})

    def _readings(self):
        readings = StoredReading.objects.all()
        if self.community is not None:
            readings = readings.filter(device__community=self.community)
        return readings

    # --- readings -------------------------------------------------------------------------

    def _device(self, device_id: int) -> tuple[str, str, str, str]:
        """(code, kind, place key, community code) of a device: what the engine selects rules by."""
        known = self._devices.get(device_id)
        if known is None:
            device = Device.objects.select_related("facility", "building", "unit", "grid", "community").get(
                pk=device_id
            )
            known = (device.code, device.kind, services.place_key(device), device.community.code)
            self._devices[device_id] = known
        return known

    def _evaluate(self, device_id: int, metric: str, value: float, ts: dt.datetime, seq) -> list:
        code, kind, place, community = self._device(device_id)
        return self.engine.evaluate(Reading(code, kind, place, metric, float(value), ts, seq, community))

    def _evaluate_stored(self, *, until: int | None = None, events: list | None = None) -> int:
        """Evaluate stored readings after the mark (and before ``until``) in id order; their events
        go to ``events`` when given, else nowhere. Returns how many were evaluated."""
        readings = self._readings().filter(id__gt=self.mark)
        if until is not None:
            readings = readings.filter(id__lt=until)
        count = 0
        rows = readings.order_by("id").values_list("id", "device_id", "metric", "value", "ts", "seq")
        for pk, device_id, metric, value, ts, seq in rows.iterator(chunk_size=2000):
            found = self._evaluate(device_id, metric, value, ts, seq)
            if events is not None:
                events += found
            self.mark = pk
            count += 1
        return count

    def process(self, new: Iterable[tuple[int, ReadingIn]], ids: Sequence[int]) -> list[Alert]:
        """Evaluate ``(device id, reading)`` pairs just stored (in this transaction, under the readings
        lock) with their reading ``ids``, after any readings someone else stored before them; write
        the alerts and move the progress mark on."""
        pairs = sorted(zip(ids, new, strict=True), key=lambda pair: pair[0])
        events: list = []
        if pairs:
            self._evaluate_stored(until=pairs[0][0], events=events)
        for pk, (device_id, reading) in pairs:
            events += self._evaluate(device_id, reading.metric, reading.value, reading.ts, reading.seq)
            self.mark = max(self.mark, pk)
        return self._commit(events)

    # --- time -----------------------------------------------------------------------------

    def tick(self, now: dt.datetime | None = None) -> list[Alert]:
        """Readings others stored, time-driven rules, escalations; saves the full state."""
        now = now or clock.now()
        with transaction.atomic():
            lock_readings()
            changed = self._reload_rules_if_changed() | self._forget_resolved()
            events: list = []
            self._evaluate_stored(events=events)
            timed = self.engine.tick(now)
            events += timed
            # Replay restores what readings did; what the clock, a person or a rule change did is
            # saved at once, so that a restart never writes those events again.
            due = time.monotonic() - self._state_saved_at >= self.state_every_s
            alerts = self._commit(events, save_state=due or changed or bool(timed))
            services.escalate_due(now)
        return alerts

    def mark_pushed(self, pushed: Iterable[tuple[int, dt.datetime]]) -> None:
        """The alert events the worker published: their alerts' ``pushed_at`` (first push only)."""
        by_time: dict[dt.datetime, list[int]] = {}
        for alert_id, at in pushed:
            by_time.setdefault(at, []).append(alert_id)
        for at, ids in by_time.items():
            services.mark_pushed(ids, at=at)

    def _reload_rules_if_changed(self) -> bool:
        rules = services.engine_rules(self.community)
        fingerprints = [rule_fingerprint(r) for r in rules]
        if fingerprints == self._fingerprints:
            return False
        self.engine = Engine.restore(rules, self.engine.checkpoint())
        self._fingerprints = fingerprints
        logger.info("rules changed: engine rebuilt with %d rules", len(rules))
        return True

    def _forget_resolved(self) -> bool:
        """A person resolved an alert: the engine must be able to raise it again."""
        resolved = Alert.objects.filter(status=AlertStatus.RESOLVED)
        if self.community is not None:
            resolved = resolved.filter(rule__community=self.community)
        if self._resolved_seen_at is not None:
            resolved = resolved.filter(resolved_at__gt=self._resolved_seen_at)
        latest = self._resolved_seen_at
        forgotten = False
        for rule_id, subject, resolved_at in resolved.values_list("rule_id", "subject", "resolved_at"):
            self.engine.reset(str(rule_id), subject)
            latest = max(latest, resolved_at) if latest else resolved_at
            forgotten = True
        self._resolved_seen_at = latest
        return forgotten

    # --- writing --------------------------------------------------------------------------

    def _commit(self, events: list, *, save_state: bool = False) -> list[Alert]:
        with transaction.atomic():
            alerts = services.apply_events(events) if events else []
            EngineProgress.objects.filter(key=self.key).update(reading_id=self.mark)
            if save_state:
                self._save_state()
        return alerts

    def _save_state(self) -> None:
        self._state_saved_at = time.monotonic()
        EngineCheckpoint.objects.update_or_create(
            key=self.key,
            defaults={
                "state": self.engine.checkpoint(),
                "state_mark": self.mark,
                "resolved_seen_at": self._resolved_seen_at,
                "updated_at": clock.now(),
            },
        )
