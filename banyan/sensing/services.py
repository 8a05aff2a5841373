"""Devices and readings: access functions, registry changes, storing readings, dead letters.

``store_readings`` is the one writer of readings, used by the MQTT worker and the HTTP batch
endpoint alike. It is idempotent: a reading is stored once per (device, metric, ts), so a
message delivered twice (QoS 1 after a crash) changes nothing the second time, and the report
says which readings were new — only those should reach the rule engine.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core import clock
from banyan.core.access import HOME_DEVICE_ROLES, Action, can
from banyan.core.choices import Role
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.people.models import Actor, Household, Resident, may_see_care
from banyan.places.choices import RegionKind
from banyan.places.models import Region
from banyan.places.services import get_building_for, get_facility_for, get_region_for, get_unit_for
from banyan.sensing import consent
from banyan.sensing.choices import DeadLetterSource, DeviceStatus
from banyan.sensing.kinds import HEALTH_METRICS, KINDS
from banyan.sensing.models import PAYLOAD_EXCERPT_BYTES, DeadLetter, Device, Reading, SequenceGap
from banyan.sensing.parsing import (
    ProblemCode,
    ReadingIn,
    check_against_kind,
    parse_item,
    parse_payload,
    parse_topic,
)

BATCH = 1000
KEY_CHUNK = 500
INSERT_CHUNK = 1000  # rows per INSERT: 6,000 parameters, well under both databases' limits
BATTERY_METRIC = "battery_pct"
MAX_HTTP_ITEMS = 10_000

# --- access --------------------------------------------------------------------------------


def devices_for(user: Actor, action: Action = Action.VIEW_PLACES):
    """The devices ``user`` may see: where every device list and detail starts.

    Communal devices (stairwell smoke, water levels, crowd counters, a facility's sensors) are scoped
    by region, as places are. A home's devices — installed in a unit or serving a resident — mark who
    is in and who is vulnerable: only the roles of ``HOME_DEVICE_ROLES`` see them (in their region), a
    resident those of their own household (a device serving someone sits with that person's
    household), a volunteer those of the people they care for; property staff and auditors none.
    (Sending readings, ``ingest_http_batch``, stays scoped by region: a gateway writes, it reads nothing.)
    """
    devices = Device.objects.restrict(user, action)
    if not can(user, action) or user.role in HOME_DEVICE_ROLES:
        return devices
    communal = devices.filter(unit__isnull=True, resident__isnull=True)
    if user.role not in (Role.RESIDENT, Role.VOLUNTEER):
        return communal
    people = Resident.objects.restrict(user, Action.VIEW_PEOPLE).values("pk")
    homes = Household.objects.restrict(user, Action.VIEW_PEOPLE).values("unit")
    return communal | Device.objects.filter(Q(resident__in=people) | Q(resident__isnull=True, unit__in=homes))


def get_device_for(user: Actor, pk, action: Action = Action.VIEW_PLACES) -> Device:
    device = (
        devices_for(user, action)
        .select_related("community", "grid", "building", "unit", "facility")
        .filter(pk=pk)
        .first()
    )
    if device is None:
        raise NotFound(_("Device not found."))
    return device


def visible_resident_ids(user: Actor, resident_ids: Iterable[int | None]) -> set[int]:
    """Which of these residents ``user`` may see linked to a device: care data, so care roles only."""
    wanted = {pk for pk in resident_ids if pk is not None}
    if not wanted or not may_see_care(user):
        return set()
    return set(
        Resident.objects.restrict(user, Action.VIEW_PEOPLE).filter(pk__in=wanted).values_list("pk", flat=True)
    )


def may_read_readings(user: Actor, device: Device) -> bool:
    """Readings of a device that carries health data (a wearable) are health data of its wearer: a
    resident reads only their own (like their own care details), care roles those in their scope.
    Whether the device may be seen at all is ``devices_for``'s answer."""
    kind = device.kind_spec
    if kind is None or not kind.health_data:
        return True
    if device.resident_id is None:
        return may_see_care(user)
    if user.role == Role.RESIDENT:
        return device.resident_id == user.resident_id
    return device.resident_id in visible_resident_ids(user, [device.resident_id])


# --- registry ------------------------------------------------------------------------------

LOCATION_FIELDS = ("grid", "building", "unit", "facility")
EDITABLE_FIELDS = (
    "kind",
    "status",
    "battery_pct",
    "expected_interval_s",
    "installed_at",
    "zone",
    "metadata",
)


def _location(actor: Actor, ids: dict[str, int | None]) -> dict[str, Any]:
    """grid, community, building, unit and facility from the ids given, each loaded in scope."""
    change = Action.CHANGE_PLACES
    unit = get_unit_for(actor, ids["unit"], change) if ids.get("unit") else None
    building = get_building_for(actor, ids["building"], change) if ids.get("building") else None
    facility = get_facility_for(actor, ids["facility"], change) if ids.get("facility") else None
    grid = get_region_for(actor, ids["grid"], change) if ids.get("grid") else None
    if grid is not None and grid.kind != RegionKind.GRID:
        raise InvalidInput(
            _("A device stands in a grid; region %(code)s is a %(kind)s.")
            % {"code": grid.code, "kind": grid.kind},
            field="grid",
        )
    if unit is not None:
        if building is not None and building.pk != unit.building_id:
            raise InvalidInput(_("This unit is not in the building given."), field="unit")
        building = unit.building
    if building is not None:
        if grid is not None and grid.pk != building.grid_id:
            raise InvalidInput(_("This building is not in the grid given."), field="building")
        grid = building.grid
    if facility is not None:
        region = facility.region
        if grid is None and region.kind == RegionKind.GRID:
            grid = region
        elif grid is None:
            raise InvalidInput(
                _("This facility serves a whole %(kind)s: give the grid the device stands in.")
                % {"kind": region.kind},
                field="grid",
            )
        elif not grid.path.startswith(region.path):
            raise InvalidInput(_("This facility is not in the grid given."), field="facility")
    if grid is None:
        raise InvalidInput(_("Say where the device is: a grid, building, unit or facility."), field="grid")
    community = Region.objects.filter(pk=grid.parent_id, kind=RegionKind.COMMUNITY).first()
    if community is None:
        raise InvalidInput(_("This grid belongs to no community."), field="grid")
    return {"grid": grid, "community": community, "building": building, "unit": unit, "facility": facility}


def _resident(actor: Actor, resident_id: int | None) -> Resident | None:
    if resident_id is None:
        return None
    if not may_see_care(actor) or not visible_resident_ids(actor, [resident_id]):
        raise NotFound(_("Resident not found."), field="resident")
    return Resident.objects.get(pk=resident_id)


def _validate(device: Device) -> None:
    try:
        device.full_clean(validate_unique=False, validate_constraints=True)
    except ValidationError as exc:
        name, errors = next(iter(exc.error_dict.items()))
        raise InvalidInput(
            " ".join(m for e in errors for m in e.messages), field=None if name == "__all__" else name
        ) from None


def _save(device: Device, **kwargs) -> None:
    try:
        with transaction.atomic():
            device.save(**kwargs)
    except IntegrityError:
        raise InvalidInput(
            _("A device with code %(code)s already exists.") % {"code": device.code},
            field="code",
            code="duplicate",
        ) from None


def _recheck_scope(actor: Actor, device: Device) -> None:
    if not devices_for(actor, Action.CHANGE_PLACES).filter(pk=device.pk).exists():
        raise NotFound(_("Device not found."))


def _audit_details(device: Device, changed: Iterable[str]) -> dict:
    # The resident a device serves is care data: the audit log says only whether one is linked.
    return {
        "code": device.code,
        "kind": device.kind,
        "grid": device.grid.code,
        "changed": sorted(changed),
        "resident_linked": device.resident_id is not None,
    }


@transaction.atomic(durable=True)
def create_device(*, actor: Actor, data: dict) -> Device:
    """Register a device; ``data`` holds ids for grid/building/unit/facility/resident."""
    if not can(actor, Action.CHANGE_PLACES):
        raise PermissionDenied(_("Your role cannot change places."))
    kind = KINDS.get(data.get("kind") or "")
    if kind is None:
        raise InvalidInput(
            _("Unknown device kind; one of: %(kinds)s.") % {"kinds": ", ".join(sorted(KINDS))}, field="kind"
        )
    if Device.objects.filter(code=data["code"]).exists():
        raise InvalidInput(
            _("A device with code %(code)s already exists.") % {"code": data["code"]},
            field="code",
            code="duplicate",
        )
    location = _location(actor, {name: data.get(name) for name in LOCATION_FIELDS})
    device = Device(
        code=data["code"],
        kind=kind.code,
        resident=_resident(actor, data.get("resident")),
        status=data.get("status") or DeviceStatus.ONLINE,
        battery_pct=data.get("battery_pct"),
        expected_interval_s=data.get("expected_interval_s") or kind.expected_interval_s,
        installed_at=data.get("installed_at") or clock.now(),
        zone=data.get("zone"),
        metadata=data.get("metadata") or {},
        **location,
    )
    _validate(device)
    _save(device)
    record(
        actor=actor,
        events=[Event(AuditAction.DEVICE_CREATE, "device", device.pk, details=_audit_details(device, ["*"]))],
    )
    _recheck_scope(actor, device)
    return device


@transaction.atomic(durable=True)
def update_device(*, actor: Actor, device: Device, data: dict) -> Device:
    """Change a device. Location fields are given together: those left out are cleared."""
    if not can(actor, Action.CHANGE_PLACES):
        raise PermissionDenied(_("Your role cannot change places."))
    changed: set[str] = set()
    if "kind" in data and data["kind"] not in KINDS:
        raise InvalidInput(
            _("Unknown device kind; one of: %(kinds)s.") % {"kinds": ", ".join(sorted(KINDS))}, field="kind"
        )
    if any(name in data for name in LOCATION_FIELDS):
        location = _location(actor, {name: data.get(name) for name in LOCATION_FIELDS})
        for name, value in location.items():
            if getattr(device, f"{name}_id") != (value.pk if value else None):
                setattr(device, name, value)
                changed.add(name)
    if "resident" in data:
        resident = _resident(actor, data["resident"])
        if device.resident_id != (resident.pk if resident else None):
            if device.resident_id is not None and not visible_resident_ids(actor, [device.resident_id]):
                raise NotFound(_("Resident not found."), field="resident")
            device.resident = resident
            changed.add("resident")
    for name in EDITABLE_FIELDS:
        if name in data and getattr(device, name) != data[name]:
            if name in ("status", "expected_interval_s", "installed_at", "kind") and data[name] is None:
                raise InvalidInput(_("This field cannot be empty."), field=name)
            setattr(device, name, data[name] if name != "metadata" else (data[name] or {}))
            changed.add(name)
    if not changed:
        return device
    _validate(device)
    _save(device, update_fields=sorted(changed))
    record(
        actor=actor,
        events=[
            Event(AuditAction.DEVICE_UPDATE, "device", device.pk, details=_audit_details(device, changed))
        ],
    )
    _recheck_scope(actor, device)
    return device


# --- storing readings -----------------------------------------------------------------------


@dataclass
class StoreReport:
    accepted: int = 0
    duplicates: int = 0
    gaps: int = 0
    # (device id, reading) for every reading this call stored: what the rule engine should see.
    new: list[tuple[int, ReadingIn]] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)  # the stored readings' ids, in the order of ``new``


READINGS_LOCK = 0x42414E59414E  # "BANYAN": the advisory lock every writer of readings holds


def lock_readings() -> None:
    """Serialise writers of readings until the transaction ends, so reading ids become visible in
    order and the rule engine can follow them by id (``warning.pipeline``). SQLite transactions
    here are ``IMMEDIATE`` and so already serialised; PostgreSQL takes a transaction advisory lock."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [READINGS_LOCK])


def _sqlite_utc_text(value: dt.datetime) -> str:
    return str(value.astimezone(dt.UTC).replace(tzinfo=None))


def _datetime_adapter() -> Callable[[dt.datetime], Any]:
    """How a datetime goes to the database: Django's own adapter, or for SQLite in UTC the same text
    without its per-call checks (a third of the cost of storing a reading)."""
    if connection.vendor == "sqlite" and connection.timezone_name == "UTC":
        return _sqlite_utc_text
    return connection.ops.adapt_datetimefield_value


def _as_sent(ts: Any, adapt: Callable[[dt.datetime], Any]) -> Any:
    """A returned ``ts`` in the form it was sent: SQLite gives back its UTC text (or, parsed by
    Django's converter, a naive UTC datetime), PostgreSQL an aware datetime."""
    if isinstance(ts, dt.datetime):
        return str(ts) if ts.tzinfo is None else adapt(ts)
    return ts


def _insert_new_readings(
    unique: dict[tuple[int, str, dt.datetime], ReadingIn], received_at: dt.datetime
) -> list[tuple[tuple[int, str, dt.datetime], ReadingIn]]:
    """Insert the readings; return ``(id, key, reading)`` of those not stored before, by id.

    One multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING`` per chunk (SQLite ≥ 3.35 and
    PostgreSQL): the database itself says which rows are new, so a reading that another writer
    stored meanwhile is neither stored twice nor evaluated twice. The ORM's ``bulk_create`` cost
    about 200 µs a row here, most of it preparing values; this is a few µs.
    """
    table = connection.ops.quote_name(Reading._meta.db_table)
    adapt = _datetime_adapter()
    received = adapt(received_at)
    by_row: dict[tuple[int, str, Any], tuple[tuple[int, str, dt.datetime], ReadingIn]] = {}
    inserted: dict[tuple[int, str, Any], int] = {}
    rows = []
    for key, reading in unique.items():
        ts = adapt(key[2])
        by_row[(key[0], key[1], ts)] = (key, reading)
        rows.append((key[0], key[1], reading.value, ts, reading.seq, received))
    columns = "device_id, metric, value, ts, seq, received_at"
    conflict = "ON CONFLICT (device_id, metric, ts) DO NOTHING RETURNING id, device_id, metric, ts"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[start : start + INSERT_CHUNK]
            if connection.vendor == "postgresql":
                # Six arrays and one constant statement: nothing for the driver to parse per row.
                cursor.execute(
                    f"INSERT INTO {table} ({columns}) SELECT * FROM unnest(%s::bigint[], %s::varchar[], "
                    f"%s::float8[], %s::timestamptz[], %s::bigint[], %s::timestamptz[]) {conflict}",
                    [list(column) for column in zip(*chunk, strict=True)],
                )
            else:
                values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(chunk))
                cursor.execute(
                    f"INSERT INTO {table} ({columns}) VALUES {values} {conflict}",
                    [item for row in chunk for item in row],
                )
            inserted.update(
                ((device_id, metric, _as_sent(ts, adapt)), pk)
                for pk, device_id, metric, ts in cursor.fetchall()
            )
    return sorted(
        ((inserted[row], key, reading) for row, (key, reading) in by_row.items() if row in inserted),
        key=lambda item: item[0],
    )


@dataclass
class _DeviceState:
    pk: int
    last_seq: int | None
    last_seen_at: dt.datetime | None
    battery_pct: int | None
    status: str


def _advance(device: _DeviceState, readings: list[ReadingIn], received_at: dt.datetime) -> list[SequenceGap]:
    """Move the device's last seen time, sequence and battery forward; return the gaps found."""
    gaps = []
    seen_before = device.last_seen_at
    last = device.last_seq
    ordered = sorted(readings, key=lambda r: (r.ts, r.seq if r.seq is not None else -1))
    for reading in ordered:
        seq = reading.seq
        if seq is None:
            continue
        if last is None or seq == last:
            last = seq
        elif seq > last:
            if seq > last + 1:
                gaps.append(
                    SequenceGap(
                        device_id=device.pk, expected_seq=last + 1, got_seq=seq, detected_at=received_at
                    )
                )
            last = seq
        elif seen_before is None or reading.ts > seen_before:
            last = seq  # a newer message with a lower number: the device restarted its count
        # else: a late message filling an earlier gap; the count stays where it is
    device.last_seq = last
    newest = ordered[-1].ts
    if seen_before is None or newest > seen_before:
        device.last_seen_at = newest
    battery = [r for r in ordered if r.metric == BATTERY_METRIC]
    if battery and (seen_before is None or battery[-1].ts >= seen_before):
        device.battery_pct = max(0, min(100, round(battery[-1].value)))
    if device.status in (DeviceStatus.OFFLINE, DeviceStatus.CONSENT_WITHDRAWN):
        device.status = DeviceStatus.ONLINE
    return gaps


def _save_device_state(devices: list[_DeviceState]) -> None:
    """One ``UPDATE … FROM (VALUES …)`` per 500 devices (SQLite ≥ 3.33 and PostgreSQL): ``bulk_update``
    builds a CASE per row and field (about 1.6 ms a device here), and one statement per device costs
    PostgreSQL a round trip each."""
    if not devices:
        return
    table = connection.ops.quote_name(Device._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        for start in range(0, len(devices), 500):
            chunk = devices[start : start + 500]
            rows = [(d.pk, d.last_seq, adapt(d.last_seen_at), d.battery_pct, d.status) for d in chunk]
            if connection.vendor == "postgresql":
                source = (
                    "unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::smallint[], %s::varchar[]) "
                    "AS v(column1, column2, column3, column4, column5)"
                )
                params: list = [list(column) for column in zip(*rows, strict=True)]
            else:  # VALUES columns are called column1 … column5
                source = f"(VALUES {', '.join(['(%s, %s, %s, %s, %s)'] * len(rows))}) AS v"
                params = [item for row in rows for item in row]
            cursor.execute(
                f"UPDATE {table} SET last_seq = v.column2, last_seen_at = v.column3, "
                f"battery_pct = v.column4, status = v.column5 FROM {source} WHERE {table}.id = v.column1",
                params,
            )


def store_readings(
    device_batches: Iterable[tuple[Device, Sequence[ReadingIn]]],
    *,
    received_at: dt.datetime | None = None,
) -> StoreReport:
    """Store checked readings once, move each device's state on and record its sequence gaps.

    Readings already stored (same device, metric and ts) count as duplicates and change nothing.
    Runs in one transaction (a savepoint inside the caller's): all of it is stored or none.
    """
    received_at = received_at or clock.now()
    report = StoreReport()
    unique: dict[tuple[int, str, dt.datetime], ReadingIn] = {}
    for device, readings in device_batches:
        for reading in readings:
            key = (device.pk, reading.metric, reading.ts)
            if key in unique:
                report.duplicates += 1
            else:
                unique[key] = reading
    if not unique:
        return report
    with transaction.atomic():
        lock_readings()
        stored = _insert_new_readings(unique, received_at)
        report.duplicates += len(unique) - len(stored)
        report.accepted = len(stored)
        report.ids = [pk for pk, _key, _reading in stored]
        report.new = [(key[0], reading) for _pk, key, reading in stored]
        new = [(key, reading) for _pk, key, reading in stored]
        per_device: dict[int, list[ReadingIn]] = defaultdict(list)
        for key, reading in new:
            per_device[key[0]].append(reading)
        devices = [
            _DeviceState(*row)
            for row in Device.objects.select_for_update()
            .filter(pk__in=per_device)
            .values_list("id", "last_seq", "last_seen_at", "battery_pct", "status")
        ]
        gaps: list[SequenceGap] = []
        for device in devices:
            gaps += _advance(device, per_device[device.pk], received_at)
        _save_device_state(devices)
        SequenceGap.objects.bulk_create(gaps, batch_size=BATCH)
        report.gaps = len(gaps)
    return report


# --- dead letters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetterIn:
    source: str
    reason: str
    detail: str = ""
    topic: str = ""
    device_code: str = ""
    device: Device | None = None
    region: Region | None = None
    item_index: int | None = None
    field: str = ""
    payload: Any = b""  # raw bytes of a message, or one item already decoded


def _redact(data: Any, *, health: bool) -> Any:
    if isinstance(data, list):
        return [_redact(item, health=health) for item in data]
    if isinstance(data, dict) and "value" in data and (health or data.get("metric") in HEALTH_METRICS):
        return {**data, "value": None}
    return data


def payload_excerpt(payload: Any, *, health: bool = False) -> str:
    """At most 2 KB of the payload, with the values of health metrics removed (see DeadLetter)."""
    if isinstance(payload, bytes | bytearray | memoryview | str):
        raw = bytes(payload) if not isinstance(payload, str) else payload.encode("utf-8", "replace")
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            if health:
                return ""
            return raw[:PAYLOAD_EXCERPT_BYTES].decode("utf-8", "replace").replace("\x00", "\ufffd")
    else:
        data = payload
    try:
        text = json.dumps(_redact(data, health=health), ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        return ""
    return text.encode("utf-8")[:PAYLOAD_EXCERPT_BYTES].decode("utf-8", "ignore")


def _dead_letter_row(letter: DeadLetterIn, received_at: dt.datetime) -> DeadLetter:
    device = letter.device
    health = bool(device is not None and device.kind_spec is not None and device.kind_spec.health_data)
    region = letter.region
    return DeadLetter(
        received_at=received_at,
        source=letter.source,
        topic=letter.topic[:255],
        device_code=(letter.device_code or (device.code if device else ""))[:64],
        device=device,
        region_id=device.community_id if device is not None else (region.pk if region else None),
        item_index=letter.item_index,
        reason=letter.reason[:32],
        field=(letter.field or "")[:32],
        detail=letter.detail[:500],
        payload=payload_excerpt(letter.payload, health=health),
    )


def record_dead_letters(letters: Iterable[DeadLetterIn], *, received_at: dt.datetime | None = None) -> int:
    """Keep messages or items that could not be stored, with the reason; returns how many."""
    received_at = received_at or clock.now()
    rows = [_dead_letter_row(letter, received_at) for letter in letters]
    DeadLetter.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


def record_dead_letter(**fields) -> DeadLetter:
    received_at = fields.pop("received_at", None) or clock.now()
    row = _dead_letter_row(DeadLetterIn(**fields), received_at)
    row.save()
    return row


# --- the HTTP batch -------------------------------------------------------------------------


@dataclass(frozen=True)
class RejectedItem:
    index: int
    code: str
    field: str | None
    message: str


@dataclass
class BatchReport:
    accepted: int = 0
    duplicates: int = 0
    gaps: int = 0
    rejected: list[RejectedItem] = field(default_factory=list)
    dropped: int = 0  # readings of a resident who withdrew consent: counted, not stored


def ingest_http_batch(*, actor: Actor, items: list[Any]) -> BatchReport:
    """Store the good readings of a gateway's batch; dead-letter and report the others by index.

    Each item is ``{"device": "<code>", "metric", "value", "ts", "seq"}``. A device outside the
    sender's scope is an unknown device, as if it did not exist.
    """
    if not can(actor, Action.SEND_READINGS):
        raise PermissionDenied(_("Your role may not send readings."))
    if len(items) > MAX_HTTP_ITEMS:
        raise InvalidInput(
            _("At most %(n)d readings per request.") % {"n": MAX_HTTP_ITEMS},
            field="readings",
            code="too_many",
        )
    now = clock.now()
    codes = {
        item["device"] for item in items if isinstance(item, dict) and isinstance(item.get("device"), str)
    }
    devices: dict[str, Device] = {}
    code_list = sorted(code for code in codes if len(code) <= 64)
    for start in range(0, len(code_list), KEY_CHUNK):
        scoped = Device.objects.restrict(actor, Action.SEND_READINGS).filter(
            code__in=code_list[start : start + KEY_CHUNK]
        )
        devices.update({d.code: d for d in scoped})
    good: dict[int, tuple[Device, list[ReadingIn]]] = {}
    letters: list[DeadLetterIn] = []
    report = BatchReport()
    sender_region = actor.region if actor.region_id else None

    def reject(index, code, field_name, message, item, device=None, device_code=""):
        report.rejected.append(RejectedItem(index, str(code), field_name, message))
        letters.append(
            DeadLetterIn(
                source=DeadLetterSource.HTTP,
                reason=str(code),
                detail=message,
                device_code=device_code,
                device=device,
                region=sender_region,
                item_index=index,
                field=field_name or "",
                payload=item,
            )
        )

    for index, item in enumerate(items):
        if not isinstance(item, dict):
            reject(index, ProblemCode.NOT_A_READING, None, "A reading is a JSON object.", item)
            continue
        code = item.get("device")
        if not isinstance(code, str) or not code:
            reject(index, ProblemCode.MISSING_FIELD, "device", "The reading names no device.", item)
            continue
        device = devices.get(code)
        if device is None:
            reject(
                index,
                ProblemCode.UNKNOWN_DEVICE,
                "device",
                "No device with this code.",
                item,
                device_code=code,
            )
            continue
        parsed = parse_item(item, index=index, now=now)
        problem = parsed if not isinstance(parsed, ReadingIn) else None
        kind = device.kind_spec
        if problem is None and kind is not None:
            problem = check_against_kind(parsed, kind, index=index)
        if problem is not None:
            reject(index, problem.code, problem.field, problem.message, item, device=device)
            continue
        good.setdefault(device.pk, (device, []))[1].append(parsed)
    dropped: consent.Dropped = {}
    blocked = consent.withdrawn_devices(device_ids=good) if good else {}
    for pk, found in blocked.items():
        device, readings = good[pk]
        good[pk] = (device, consent.keep(found.reason, pk, readings, dropped))
        if not good[pk][1]:
            del good[pk]
    with transaction.atomic():
        stored = store_readings(good.values(), received_at=now)
        record_dead_letters(letters, received_at=now)
        report.dropped = consent.record_dropped(dropped, at=now)
    report.accepted, report.duplicates, report.gaps = stored.accepted, stored.duplicates, stored.gaps
    return report


# --- MQTT messages ----------------------------------------------------------------------------


@dataclass
class MessageReport:
    messages: int = 0
    accepted: int = 0
    duplicates: int = 0
    gaps: int = 0
    dead_letters: int = 0
    dropped: int = 0  # readings of a resident who withdrew consent: counted, not stored
    # (device id, reading) for every reading stored by this call, for the rule engine.
    new: list[tuple[int, ReadingIn]] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)


def ingest_messages(
    messages: Sequence[tuple[str, bytes]],
    *,
    source: str = DeadLetterSource.MQTT,
    device_cache: dict[str, Device] | None = None,
    gate: consent.ConsentGate | None = None,
) -> MessageReport:
    """Parse, check and store a batch of MQTT messages ``(topic, payload)`` in one transaction.

    Topics are ``banyan/<community-code>/devices/<device-id>/readings``. A message for a device
    that is unknown, or registered in another community, is dead-lettered whole; within a known
    device's message each bad item is dead-lettered and the good ones stored. Never raises for
    bad input: the worker acknowledges the batch once this returns.

    ``device_cache`` (code → device with its community loaded) saves looking devices up for every
    batch; the worker owns it and drops it when devices change. ``gate`` drops (and counts) the
    readings of residents who withdrew consent (:mod:`banyan.sensing.consent`); without it the
    consents are looked up for the devices of this batch.
    """

    now = clock.now()
    report = MessageReport(messages=len(messages))
    addressed = [(topic, payload, parse_topic(topic)) for topic, payload in messages]
    devices: dict[str, Device] = device_cache if device_cache is not None else {}
    codes = sorted({address[1] for _t, _p, address in addressed if address} - devices.keys())
    for start in range(0, len(codes), KEY_CHUNK):
        chunk = Device.objects.select_related("community").filter(code__in=codes[start : start + KEY_CHUNK])
        devices.update({d.code: d for d in chunk})
    communities: dict[str, Region] = {}
    good: dict[int, tuple[Device, list[ReadingIn]]] = {}
    letters: list[DeadLetterIn] = []
    for topic, payload, address in addressed:
        if address is None:
            letters.append(
                DeadLetterIn(
                    source=source,
                    reason=ProblemCode.BAD_TOPIC,
                    detail="The topic is not banyan/<community-code>/devices/<device-id>/readings.",
                    topic=topic,
                    payload=payload,
                )
            )
            continue
        community_code, device_code = address
        device = devices.get(device_code)
        if device is None or device.community.code != community_code:
            if community_code not in communities:
                communities[community_code] = Region.objects.filter(
                    code=community_code, kind=RegionKind.COMMUNITY
                ).first()
            letters.append(
                DeadLetterIn(
                    source=source,
                    reason=ProblemCode.UNKNOWN_DEVICE,
                    detail="No device with this code in this community.",
                    topic=topic,
                    device_code=device_code,
                    region=communities[community_code],
                    payload=payload,
                )
            )
            continue
        readings, problems = parse_payload(payload, now=now)
        kind = device.kind_spec
        fitting = []
        if problems:
            refused = {p.index for p in problems if p.index is not None}
            positions: Iterable[int] = [i for i in range(len(readings) + len(refused)) if i not in refused]
        else:
            positions = range(len(readings))
        for index, item in zip(positions, readings, strict=True):
            problem = check_against_kind(item, kind, index=index) if kind is not None else None
            if problem is None:
                fitting.append(item)
            else:
                problems.append(problem)
        for problem in problems:
            letters.append(
                DeadLetterIn(
                    source=source,
                    reason=problem.code,
                    detail=problem.message,
                    topic=topic,
                    device=device,
                    item_index=problem.index,
                    field=problem.field or "",
                    payload=payload,
                )
            )
        if fitting:
            good.setdefault(device.pk, (device, []))[1].extend(fitting)
    dropped: consent.Dropped = {}
    blocked = gate.blocked if gate is not None else consent.withdrawn_devices(device_ids=good) if good else {}
    if blocked:
        for pk in good.keys() & blocked.keys():
            device, readings = good[pk]
            kept = consent.keep(blocked[pk].reason, pk, readings, dropped)
            if kept:
                good[pk] = (device, kept)
            else:
                del good[pk]
    with transaction.atomic():
        stored = store_readings(good.values(), received_at=now)
        report.dead_letters = record_dead_letters(letters, received_at=now)
        report.dropped = consent.record_dropped(dropped, at=now)
    report.accepted, report.duplicates, report.gaps = stored.accepted, stored.duplicates, stored.gaps
    report.new, report.ids = stored.new, stored.ids
    return report
