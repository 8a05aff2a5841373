"""Readings → rule engine → alerts, for the ingest worker.

``RulePipeline`` owns one :class:`~banyan.warning.engine.Engine` for a partition (one community, or
every community). ``process`` evaluates newly stored readings and writes the resulting alerts and
the engine's checkpoint in one transaction; ``tick`` lets time-driven rules (no data, offline,
sustained, windows) fire, escalates overdue alerts, forgets subjects whose alerts a person resolved
and picks up rule changes. All time comes from ``banyan.core.clock``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.db import transaction

from banyan.core import clock
from banyan.sensing.models import Device
from banyan.warning import services
from banyan.warning.choices import AlertStatus
from banyan.warning.engine import Engine, Reading, rule_fingerprint
from banyan.warning.models import Alert, EngineCheckpoint

logger = logging.getLogger(__name__)


class RulePipeline:
    def __init__(self, community=None) -> None:
        self.community = community
        self.key = f"community:{community.code}" if community is not None else "all"
        self._devices: dict[int, tuple[str, str, str]] = {}
        checkpoint = EngineCheckpoint.objects.filter(key=self.key).first()
        self._resolved_seen_at = checkpoint.resolved_seen_at if checkpoint else None
        rules = services.engine_rules(community)
        self._fingerprints = [rule_fingerprint(r) for r in rules]
        if checkpoint and checkpoint.state:
            self.engine = Engine.restore(rules, checkpoint.state)
        else:
            self.engine = Engine(rules)

    # --- readings -------------------------------------------------------------------------

    def _device(self, device_id: int) -> tuple[str, str, str]:
        known = self._devices.get(device_id)
        if known is None:
            device = Device.objects.select_related("facility", "building", "unit", "grid").get(pk=device_id)
            known = (device.code, device.kind, services.place_key(device))
            self._devices[device_id] = known
        return known

    def process(self, new: Iterable[tuple[int, object]]) -> list[Alert]:
        """Evaluate ``(device id, reading)`` pairs that were just stored; write alerts and checkpoint."""
        events = []
        for device_id, reading in new:
            code, kind, place = self._device(device_id)
            events += self.engine.evaluate(
                Reading(code, kind, place, reading.metric, float(reading.value), reading.ts, reading.seq)
            )
        return self._commit(events)

    # --- time -----------------------------------------------------------------------------

    def tick(self, now: dt.datetime | None = None) -> list[Alert]:
        now = now or clock.now()
        self._reload_rules_if_changed()
        self._forget_resolved()
        alerts = self._commit(self.engine.tick(now))
        services.escalate_due(now)
        return alerts

    def _reload_rules_if_changed(self) -> None:
        rules = services.engine_rules(self.community)
        fingerprints = [rule_fingerprint(r) for r in rules]
        if fingerprints != self._fingerprints:
            self.engine = Engine.restore(rules, self.engine.checkpoint())
            self._fingerprints = fingerprints
            logger.info("rules changed: engine rebuilt with %d rules", len(rules))

    def _forget_resolved(self) -> None:
        """A person resolved an alert: the engine must be able to raise it again."""
        resolved = Alert.objects.filter(status=AlertStatus.RESOLVED)
        if self.community is not None:
            resolved = resolved.filter(rule__community=self.community)
        if self._resolved_seen_at is not None:
            resolved = resolved.filter(resolved_at__gt=self._resolved_seen_at)
        latest = self._resolved_seen_at
        for rule_id, subject, resolved_at in resolved.values_list("rule_id", "subject", "resolved_at"):
            self.engine.reset(str(rule_id), subject)
            latest = max(latest, resolved_at) if latest else resolved_at
        self._resolved_seen_at = latest

    # --- writing --------------------------------------------------------------------------

    def _commit(self, events: list) -> list[Alert]:
        with transaction.atomic():
            alerts = services.apply_events(events) if events else []
            EngineCheckpoint.objects.update_or_create(
                key=self.key,
                defaults={
                    "state": self.engine.checkpoint(),
                    "resolved_seen_at": self._resolved_seen_at,
                    "updated_at": clock.now(),
                },
            )
        return alerts
