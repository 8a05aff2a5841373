"""Consent enforced at ingest: readings of a resident who withdrew consent are dropped, counted, never kept.

A device that serves a resident (``Device.resident``: a wearable, a home meter, a door contact) is
monitoring that resident. Its readings are stored and evaluated only while the resident's consent
is in force:

- care-monitoring consent withdrawn (a withdrawn ``care_monitoring`` consent and none in force):
  every reading of the device is dropped with reason ``consent_withdrawn``, the device's status is
  ``no_consent`` ("consent withdrawn", not "offline") and time-driven rules (offline, no data,
  inactivity) no longer fire for it;
- health-data consent withdrawn: the device's health metrics (heart rate, SpO2, falls …, see
  :mod:`banyan.sensing.kinds`) are dropped with reason ``health_consent_withdrawn``; its other
  metrics (the battery) are kept.

Readings stored in the moment before the gate learnt of a withdrawal (newer than it) are deleted
and counted then. Granting consent again resumes both. A resident for whom no such consent was
ever recorded is not affected: devices registered before consents were recorded keep working
until a withdrawal says otherwise. Kinds that are not monitoring (an SOS button: the resident
calls for help) are never dropped.

What is dropped leaves one :class:`~banyan.sensing.models.DroppedReadings` row per device, reason and
day with a count: no value, no timestamp of a reading.

Speed: the ingest writer does not look consents up per reading. A :class:`ConsentGate` holds the
map device → reason in memory and refreshes it every ``refresh_s`` (0.25 s: two small queries while
nothing is withdrawn), so a withdrawal takes effect within about a second of its answer (the
contract says 5 s); a reading then costs one dict lookup.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import F, Sum

from banyan.core import clock
from banyan.people.choices import ConsentScope
from banyan.people.models import Consent
from banyan.sensing.choices import DeviceStatus, DropReason
from banyan.sensing.kinds import HEALTH_METRICS, get_kind
from banyan.sensing.models import Device, DroppedReadings, Reading
from banyan.sensing.parsing import ReadingIn

REFRESH_S = 0.25

# (device id, reason) → readings dropped
Dropped = dict[tuple[int, str], int]


class Blocked(NamedTuple):
    reason: str  # a DropReason
    code: str  # the device's code
    since: dt.datetime  # when the consent was withdrawn


def _withdrawn_residents(scope: str, residents: Iterable[int] | None = None) -> dict[int, dt.datetime]:
    """Residents with a withdrawn consent of ``scope`` and none of that scope in force → the latest
    withdrawal."""
    consents = Consent.objects.filter(scope=scope, withdrawn_at__isnull=False)
    if residents is not None:
        consents = consents.filter(resident_id__in=list(residents))
    withdrawn: dict[int, dt.datetime] = {}
    for resident, at in consents.values_list("resident_id", "withdrawn_at"):
        if at is not None:
            withdrawn[resident] = max(at, withdrawn.get(resident, at))
    if not withdrawn:
        return withdrawn
    in_force = Consent.objects.filter(scope=scope, withdrawn_at__isnull=True, resident_id__in=list(withdrawn))
    for resident in in_force.values_list("resident_id", flat=True):
        withdrawn.pop(resident, None)
    return withdrawn


def withdrawn_devices(
    *, community: str | None = None, device_ids: Iterable[int] | None = None
) -> dict[int, Blocked]:
    """Devices whose readings are dropped now, by id. ``device_ids`` limits the look-up."""
    devices = Device.objects.filter(resident__isnull=False)
    if community:
        devices = devices.filter(community__code=community)
    if device_ids is not None:
        devices = devices.filter(pk__in=list(device_ids))
    residents = None
    if device_ids is not None:
        residents = set(devices.values_list("resident_id", flat=True))
        if not residents:
            return {}
    no_monitoring = _withdrawn_residents(ConsentScope.CARE_MONITORING, residents)
    no_health = _withdrawn_residents(ConsentScope.HEALTH_DATA, residents)
    if not no_monitoring and not no_health:
        return {}
    blocked: dict[int, Blocked] = {}
    rows = devices.filter(resident_id__in=list(no_monitoring.keys() | no_health.keys())).values_list(
        "id", "code", "kind", "resident_id"
    )
    for pk, code, kind_code, resident in rows:
        kind = get_kind(kind_code)
        if kind is None or not kind.monitoring:
            continue
        if resident in no_monitoring:
            blocked[pk] = Blocked(DropReason.CONSENT_WITHDRAWN, code, no_monitoring[resident])
        elif kind.health_data:
            blocked[pk] = Blocked(DropReason.HEALTH_CONSENT_WITHDRAWN, code, no_health[resident])
    return blocked


def purge_since_withdrawal(blocked: Mapping[int, Blocked]) -> int:
    """Delete what was stored of these devices after the withdrawal (in the second before the gate
    knew), counting it as dropped: the readings then hold nothing newer than the withdrawal."""
    dropped: Dropped = {}
    for pk, (reason, _code, since) in blocked.items():
        readings = Reading.objects.filter(device_id=pk, ts__gt=since)
        if reason == DropReason.HEALTH_CONSENT_WITHDRAWN:
            readings = readings.filter(metric__in=sorted(HEALTH_METRICS))
        deleted, _rows = readings.delete()
        if deleted:
            dropped[(pk, reason)] = deleted
    return record_dropped(dropped) if dropped else 0


def sync_device_status(blocked: Mapping[int, Blocked], *, community: str | None = None) -> int:
    """Devices of residents who withdrew care-monitoring consent show ``no_consent``; those whose consent
    came back show ``offline`` until they report again. Devices out of service stay so. Returns the
    devices changed."""
    ids = [pk for pk, found in blocked.items() if found.reason == DropReason.CONSENT_WITHDRAWN]
    changed = 0
    for start in range(0, len(ids), 500):
        changed += (
            Device.objects.filter(pk__in=ids[start : start + 500])
            .exclude(status__in=[DeviceStatus.CONSENT_WITHDRAWN, DeviceStatus.MAINTENANCE])
            .update(status=DeviceStatus.CONSENT_WITHDRAWN)
        )
    back = Device.objects.filter(status=DeviceStatus.CONSENT_WITHDRAWN)
    if community:
        back = back.filter(community__code=community)
    withdrawn = set(ids)
    resumed = [pk for pk in back.values_list("id", flat=True) if pk not in withdrawn]
    for start in range(0, len(resumed), 500):
        changed += Device.objects.filter(
            pk__in=resumed[start : start + 500], status=DeviceStatus.CONSENT_WITHDRAWN
        ).update(status=DeviceStatus.OFFLINE)
    return changed


class ConsentGate:
    """The in-process map device → why its readings are dropped, refreshed every ``refresh_s``.

    Owned by one thread (the ingest writer's). :meth:`refresh` is cheap when nothing was withdrawn
    (two queries on the consents); :meth:`keep` costs one dict lookup for a device not blocked.
    """

    def __init__(self, community: str | None = None, *, refresh_s: float = REFRESH_S) -> None:
        self.community = community
        self.refresh_s = refresh_s
        self.blocked: dict[int, Blocked] = {}
        self.blocked_codes: frozenset[str] = frozenset()
        self._next = 0.0
        self._synced = False

    def refresh(self, *, force: bool = False) -> bool:
        """Look consents up again if ``refresh_s`` passed (or ``force``); whether the map changed."""
        if not force and time.monotonic() < self._next:
            return False
        self._next = time.monotonic() + self.refresh_s
        blocked = withdrawn_devices(community=self.community)
        changed = blocked != self.blocked
        if changed or not self._synced:
            with transaction.atomic():
                purge_since_withdrawal({pk: b for pk, b in blocked.items() if self.blocked.get(pk) != b})
                sync_device_status(blocked, community=self.community)
            self._synced = True
        self.blocked = blocked
        self.blocked_codes = frozenset(
            b.code for b in blocked.values() if b.reason == DropReason.CONSENT_WITHDRAWN
        )
        return changed

    def resync(self) -> int:
        """Set the devices' status from the map again (a person may have changed one by hand)."""
        return sync_device_status(self.blocked, community=self.community)

    def keep(self, device_id: int, readings: Sequence[ReadingIn], dropped: Dropped) -> Sequence[ReadingIn]:
        """The readings of ``device_id`` that may be stored; the others are counted in ``dropped``."""
        found = self.blocked.get(device_id)
        if found is None:
            return readings
        return keep(found.reason, device_id, readings, dropped)


def keep(reason: str, device_id: int, readings: Sequence[ReadingIn], dropped: Dropped) -> list[ReadingIn]:
    if reason == DropReason.CONSENT_WITHDRAWN:
        kept: list[ReadingIn] = []
    else:
        kept = [r for r in readings if r.metric not in HEALTH_METRICS]
    if len(kept) < len(readings):
        key = (device_id, reason)
        dropped[key] = dropped.get(key, 0) + len(readings) - len(kept)
    return kept


def record_dropped(dropped: Dropped, *, at: dt.datetime | None = None) -> int:
    """Add the counts to today's rows (one per device and reason); returns the readings counted."""
    at = at or clock.now()
    day = clock.today()
    total = 0
    for (device_id, reason), count in sorted(dropped.items()):
        if count <= 0:
            continue
        total += count
        rows = DroppedReadings.objects.filter(device_id=device_id, reason=reason, day=day)
        if rows.update(count=F("count") + count, last_at=at):
            continue
        try:
            with transaction.atomic():
                DroppedReadings.objects.create(
                    device_id=device_id, reason=reason, day=day, count=count, last_at=at
                )
        except IntegrityError:  # another writer created today's row meanwhile
            rows.update(count=F("count") + count, last_at=at)
    return total


def readings_dropped(*, reason: str | None = None, since: dt.date | None = None, devices=None) -> int:
    """How many readings were dropped (of ``reason``, since ``since``, of ``devices``)."""
    rows = DroppedReadings.objects.all()
    if reason is not None:
        rows = rows.filter(reason=reason)
    if since is not None:
        rows = rows.filter(day__gte=since)
    if devices is not None:
        rows = rows.filter(device__in=devices)
    return rows.aggregate(total=Sum("count"))["total"] or 0
