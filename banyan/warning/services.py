"""Rules and alerts: access functions and every state change (STYLE 2, 8, 9).

``apply_events`` is the one writer of alerts from the rule engine: the ingest worker calls it inside
the transaction that stores the readings (and the engine checkpoint), so alerts, readings and the
checkpoint commit together. People move alerts on with ``acknowledge_alert`` and ``resolve_alert``;
``escalate_due`` (run about once a second by the worker, or a drill) moves alerts nobody acknowledged
in time up the escalation ladder. Every transition is audited and published after commit
(:mod:`banyan.core.events`: ``alert.raised``, ``alert.updated``, ``alert.cleared``,
``alert.acknowledged``, ``alert.resolved`` and ``alert.escalated``). Sending notifications to the next
level is issue 4's ``notify`` app, which subscribes to ``alert.*``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core import clock, vault
from banyan.core.access import Action, can
from banyan.core.errors import BanyanError, InvalidInput, NotFound, PermissionDenied
from banyan.core.events import AlertEscalatedPayload, AlertPayload, EventName, publish_on_commit
from banyan.people.choices import CarerKind
from banyan.people.models import Carer, Resident, may_see_care
from banyan.people.services import clean_reveal_request, reveal_resident
from banyan.places.choices import RegionKind
from banyan.places.models import Building, Facility, Region, Unit
from banyan.sensing.models import Device
from banyan.warning.cap import (
    GRADE_COLOUR_ZH,
    GRADE_LEVEL_ZH,
    CapAlert,
    CapArea,
    CapInfo,
    CapReference,
    grade_parameter,
    grade_to_severity,
    parse_cap,
    polygon_from_geojson,
)
from banyan.warning.choices import ACTIVE_STATUSES, AlertStatus
from banyan.warning.engine import Cleared, Raised, Updated
from banyan.warning.engine import Event as EngineEvent
from banyan.warning.models import RULE_COLUMNS, Alert, OfficialWarning, Rule

if TYPE_CHECKING:
    from banyan.people.models import Actor

logger = logging.getLogger(__name__)

SYSTEM_ACTOR = "rules"
DEFAULT_ESCALATION_SECONDS = {"red": 30, "orange": 120, "yellow": 600, "blue": 1800}
# Who is told at each escalation level: 0 is the grid's own staff, then upwards.
ESCALATION_LADDER = ("grid", "community", "street", "district")
MAX_ESCALATION_LEVEL = len(ESCALATION_LADDER) - 1


class AlertStateError(BanyanError):
    """The alert is not in a state that allows this step (e.g. acknowledging a resolved alert)."""

    status = 409
    code = "conflict"


# --- access --------------------------------------------------------------------------------


def get_rule_for(user, pk, action: Action = Action.VIEW_ALERTS) -> Rule:
    rule = Rule.objects.restrict(user, action).select_related("community").filter(pk=pk).first()
    if rule is None:
        raise NotFound(_("Rule not found."))
    return rule


def get_alert_for(user, pk, action: Action = Action.VIEW_ALERTS) -> Alert:
    alert = (
        Alert.objects.restrict(user, action)
        .select_related("rule", "community", *ALERT_PLACE_RELATED)
        .filter(pk=pk)
        .first()
    )
    if alert is None:
        raise NotFound(_("Alert not found."))
    return alert


# --- where an alert stands ----------------------------------------------------------------------

# What ``alert_place`` reads, for ``select_related``.
ALERT_PLACE_RELATED = (
    "device__unit__building",
    "device__building",
    "device__facility",
    "device__grid",
    "facility",
    "grid",
)


@dataclass(frozen=True)
class AlertPlace:
    """Where an alert stands: the unit, building and facility of its device (or the alert's facility),
    and a point (``latitude``, ``longitude``), the most precise known: the building's, else the
    facility's, else the centre of the device's zone, else a point inside the alert's grid."""

    unit: Unit | None = None
    building: Building | None = None
    facility: Facility | None = None
    latitude: float | None = None
    longitude: float | None = None

    @property
    def point(self) -> list[float] | None:
        """``[latitude, longitude]``, as the map draws it."""
        return None if self.latitude is None or self.longitude is None else [self.latitude, self.longitude]

    def for_incident(self) -> dict[str, Any]:
        """The place as ``response.services.open_incident`` takes it: the unit, else the building, else
        the facility, else the point (or nothing, where none is known)."""
        for field in ("unit", "building", "facility"):
            if getattr(self, field) is not None:
                return {field: getattr(self, field)}
        if self.latitude is None:
            return {}
        return {"latitude": self.latitude, "longitude": self.longitude}

    def for_walking(self) -> dict[str, Any]:
        """The place as the walking graph takes it (``response.services.walking_from``)."""
        return {
            "building_id": self.building.pk if self.building is not None else None,
            "facility_id": self.facility.pk if self.facility is not None else None,
            "latitude": self.latitude,
            "longitude": self.longitude,
        }


def _inner_point(geometry: dict | None) -> tuple[float, float] | None:
    """(latitude, longitude) of a point surely inside a GeoJSON polygon."""
    if not geometry:
        return None
    from shapely.geometry import shape

    point = shape(geometry).representative_point()
    return point.y, point.x


def alert_place(alert: Alert) -> AlertPlace:
    """Where ``alert`` stands (:class:`AlertPlace`): the one reading of an alert's place, for the
    incident it opens, the walk a responder has to it and its marker on the cockpit's map. Load the
    alert with ``select_related(*ALERT_PLACE_RELATED)``."""
    device = alert.device
    unit = device.unit if device is not None and device.unit_id else None
    building = unit.building if unit is not None else (device.building if device is not None else None)
    facility = alert.facility or (device.facility if device is not None else None)
    point: tuple[float, float] | None
    if building is not None:
        point = (building.latitude, building.longitude)
    elif facility is not None:
        point = (facility.latitude, facility.longitude)
    else:
        grid = alert.grid or (device.grid if device is not None else None)
        point = _inner_point(device.zone if device is not None else None) or _inner_point(
            grid.boundary if grid is not None else None
        )
    latitude, longitude = point if point is not None else (None, None)
    return AlertPlace(unit, building, facility, latitude, longitude)


def place_key(device) -> str:
    """The place a device's readings are tagged with for the engine: its facility code, else its
    building code (with the unit number after a slash), else its grid code."""
    if device.facility_id:
        return device.facility.code
    if device.unit_id:
        return f"{device.building.code}/{device.unit.number}"
    if device.building_id:
        return device.building.code
    return device.grid.code


# --- rules ---------------------------------------------------------------------------------


def engine_rules(community: Region | None = None) -> list:
    """The active rules (of ``community``, else of every community) as the engine's frozen rules, for
    ``Engine(rules)`` or ``Engine.restore(rules, checkpoint)``. Stored rules were validated when saved."""
    rules = Rule.objects.filter(is_active=True).select_related("community").order_by("id")
    if community is not None:
        rules = rules.filter(community=community)
    return [rule.engine_rule() for rule in rules]


def _split_rule_data(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    columns = {key: data[key] for key in (*RULE_COLUMNS, "is_active") if key in data}
    params = {
        key: value
        for key, value in data.items()
        if key not in (*RULE_COLUMNS, "is_active", "community", "id") and value is not None
    }
    return columns, params


def _community_for(actor: Actor, code: str | None) -> Region:
    communities = Region.objects.restrict(actor, Action.CHANGE_RULES).filter(kind=RegionKind.COMMUNITY)
    if code:
        community = communities.filter(code=code).first()
        if community is None:
            raise NotFound(_("Community not found."), field="community")
        return community
    choices = list(communities[:2])
    if len(choices) != 1:
        raise InvalidInput(_("Say which community the rule is for (its code)."), field="community")
    return choices[0]


def _save_rule(rule: Rule, **kwargs) -> None:
    try:
        rule.save(**kwargs)
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise InvalidInput(f"{field}: {' '.join(messages)}", field=field, code="invalid_rule") from None
    _check_devices(rule)


def _check_devices(rule: Rule) -> None:
    """A rule names only devices of its own community: a code that is no device there (another
    community's, or none at all) is refused, with the same answer either way. Called after the save,
    inside the service's transaction, so that a refused rule leaves nothing behind."""

    codes = set(rule.engine_rule().device_codes)
    if not codes:
        return
    known = set(
        Device.objects.filter(code__in=codes, community=rule.community).values_list("code", flat=True)
    )
    strangers = sorted(codes - known)
    if strangers:
        raise InvalidInput(
            _("A rule names only devices of its own community (%(community)s); these are not: %(codes)s.")
            % {"community": rule.community.code, "codes": ", ".join(strangers[:10])},
            field="device_codes",
            code="invalid_rule",
        )


def _rule_details(rule: Rule, changed: Iterable[str]) -> dict:
    return {
        "name": rule.name,
        "kind": rule.kind,
        "community": rule.community.code,
        "changed": sorted(changed),
    }


@transaction.atomic(durable=True)
def create_rule(*, actor: Actor, data: dict[str, Any]) -> Rule:
    """Store a rule. ``data`` is the engine's rule dict (``kind``, ``grade``, the kind's settings) plus
    ``name``, ``is_active`` and ``community`` (a code; optional when the actor can reach only one)."""
    if not can(actor, Action.CHANGE_RULES):
        raise PermissionDenied(_("Your role may not change warning rules."))
    columns, params = _split_rule_data(data)
    now = clock.now()
    rule = Rule(
        community=_community_for(actor, data.get("community")),
        created_by=actor if getattr(actor, "pk", None) else None,
        params=params,
        created_at=now,
        updated_at=now,
        **columns,
    )
    _save_rule(rule)
    record(
        actor=actor,
        events=[Event(AuditAction.RULE_CREATE, "rule", rule.pk, details=_rule_details(rule, ["*"]))],
    )
    publish_on_commit(EventName.RULE_CHANGED, {"rule": rule.pk, "community": rule.community.code})
    return rule


@transaction.atomic(durable=True)
def update_rule(*, actor: Actor, rule: Rule, data: dict[str, Any]) -> Rule:
    """Change a rule. Settings given replace the stored ones key by key; ``null`` removes a setting."""
    if not can(actor, Action.CHANGE_RULES):
        raise PermissionDenied(_("Your role may not change warning rules."))
    rule = Rule.objects.select_for_update(of=("self",)).select_related("community").get(pk=rule.pk)
    changed: set[str] = set()
    for key in (*RULE_COLUMNS, "is_active"):
        if key in data and data[key] is not None and getattr(rule, key) != data[key]:
            setattr(rule, key, data[key])
            changed.add(key)
    params = dict(rule.params)
    for key, value in data.items():
        if key in (*RULE_COLUMNS, "is_active", "community", "id"):
            continue
        if value is None:
            if params.pop(key, None) is not None:
                changed.add(key)
        elif params.get(key) != value:
            params[key] = value
            changed.add(key)
    if not changed:
        return rule
    rule.params = params
    rule.updated_at = clock.now()
    _save_rule(
        rule,
        update_fields=[*RULE_COLUMNS, "is_active", "params", "updated_at"],
    )
    record(
        actor=actor,
        events=[Event(AuditAction.RULE_UPDATE, "rule", rule.pk, details=_rule_details(rule, changed))],
    )
    if not Rule.objects.restrict(actor, Action.CHANGE_RULES).filter(pk=rule.pk).exists():
        raise NotFound(_("Rule not found."))
    publish_on_commit(EventName.RULE_CHANGED, {"rule": rule.pk, "community": rule.community.code})
    return rule


# --- alerts from the engine ---------------------------------------------------------------------


def escalation_seconds(grade: str) -> float:
    deadlines = getattr(settings, "BANYAN_ESCALATION_SECONDS", DEFAULT_ESCALATION_SECONDS)
    return float(deadlines.get(grade, DEFAULT_ESCALATION_SECONDS[grade]))


def alert_payload(alert: Alert) -> AlertPayload:
    """What the bus carries about an alert: no personal data, only codes, grades and times."""
    return {
        "id": alert.pk,
        "rule": alert.rule_id,
        "subject": alert.subject,
        "place": alert.place,
        "community": alert.community.code,
        "grid": alert.grid.code if alert.grid is not None else None,
        "grade": alert.grade,
        "status": alert.status,
        "count": alert.count,
        "last_value": alert.last_value,
        "escalation_level": alert.escalation_level,
        "reading_at": _iso(alert.reading_at),
        "raised_at": alert.raised_at.isoformat(),
        "acknowledged_at": _iso(alert.acknowledged_at),
        "cleared_at": _iso(alert.cleared_at),
        "resolved_at": _iso(alert.resolved_at),
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _subjects(rules: dict[int, Rule], events: Sequence[EngineEvent]) -> tuple[dict, dict]:

    codes = {e.subject for e in events if not _per_place(rules[int(e.rule_id)])}
    devices = {d.code: d for d in Device.objects.select_related("grid", "facility").filter(code__in=codes)}
    places = {e.subject for e in events} | {e.place for e in events if e.place}
    facilities = {f.code: f for f in Facility.objects.select_related("region").filter(code__in=places)}
    return devices, facilities


def _grid_of_facility(facility: Facility | None) -> Region | None:
    if facility is None:
        return None
    if facility.region.kind == RegionKind.GRID:
        return facility.region
    device = facility.devices.select_related("grid").order_by("id").first()
    return device.grid if device is not None else None


def _new_alert(rule: Rule, event: EngineEvent, devices: dict, facilities: dict, now: dt.datetime) -> Alert:
    device = devices.get(event.subject)
    facility = device.facility if device is not None else facilities.get(event.subject)
    if facility is None and event.place:
        facility = facilities.get(event.place)
    grid = device.grid if device is not None else _grid_of_facility(facility)
    raised_at = event.at
    return Alert(
        rule=rule,
        subject=event.subject,
        place=event.place or "",
        community=rule.community,
        grid=grid,
        device=device,
        facility=facility,
        grade=event.grade.code,
        status=AlertStatus.OPEN,
        count=1,
        last_value=event.value,
        reading_at=event.reading_ts,
        raised_at=raised_at,
        updated_at=now,
        next_escalation_at=raised_at + dt.timedelta(seconds=escalation_seconds(event.grade.code)),
    )


def _active(rule_id: int, subject: str) -> Alert | None:
    return (
        Alert.objects.select_for_update(of=("self",))
        .select_related("rule", "community", "grid")
        .filter(rule_id=rule_id, subject=subject, status__in=ACTIVE_STATUSES)
        .first()
    )


def _active_alerts(keys: set[tuple[int, str]]) -> dict[tuple[int, str], Alert]:
    """The open or acknowledged alert of each rule × subject in ``keys``, locked, in few queries."""
    found: dict[tuple[int, str], Alert] = {}
    rule_ids = {rule_id for rule_id, _subject in keys}
    subjects = sorted({subject for _rule_id, subject in keys})
    for start in range(0, len(subjects), 500):
        rows = (
            Alert.objects.select_for_update(of=("self",))
            .select_related("rule", "community", "grid")
            .filter(rule_id__in=rule_ids, subject__in=subjects[start : start + 500])
            .filter(status__in=ACTIVE_STATUSES)
        )
        found.update({(a.rule_id, a.subject): a for a in rows if (a.rule_id, a.subject) in keys})
    return found


def _repeat(alert: Alert, event: EngineEvent, now: dt.datetime) -> None:
    """Count a repeat in memory; :func:`_save_repeats` writes them all at once."""
    alert.count += 1
    alert.last_value = event.value
    if event.reading_ts is not None:
        alert.reading_at = event.reading_ts
    alert.grade = event.grade.code
    alert.updated_at = now


def _save_repeats(alerts: Iterable[Alert]) -> None:
    """One prepared UPDATE for every alert that counted repeats (rows locked by ``_active_alerts``;
    only the columns repeats change, so a person's acknowledgement is never overwritten)."""
    alerts = list(alerts)
    if not alerts:
        return
    table = connection.ops.quote_name(Alert._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET count = %s, last_value = %s, reading_at = %s, grade = %s, updated_at = %s "
            "WHERE id = %s",
            [
                (a.count, a.last_value, adapt(a.reading_at), a.grade, adapt(a.updated_at), a.pk)
                for a in alerts
            ],
        )


def apply_events(events: Iterable[EngineEvent]) -> list[Alert]:
    """Turn the engine's events into alerts, in the caller's transaction (or a new one).

    ``Raised`` opens an alert, or counts as a repeat of the one still active for that rule × subject;
    ``Updated`` counts a repeat (and a crowd density grade change); ``Cleared`` clears the active
    alert if its rule auto-clears. Repeats are coalesced into one bus event per alert and not audited
    one by one (the count says how many); raising and clearing are. Returns the alerts touched.

    The active alerts of the batch are read (and locked) in one query and repeats written in one
    statement, so a batch of readings that keep a rule broken costs a few queries, not a few per
    reading.
    """
    events = list(events)
    if not events:
        return []
    with transaction.atomic():
        rule_ids = {int(e.rule_id) for e in events if str(e.rule_id).isdigit()}
        rules = {r.pk: r for r in Rule.objects.select_related("community").filter(pk__in=rule_ids)}
        events = [e for e in events if str(e.rule_id).isdigit() and int(e.rule_id) in rules]
        devices, facilities = _subjects(rules, events)
        active = _active_alerts({(int(e.rule_id), e.subject) for e in events})
        now = clock.now()
        touched: dict[int, Alert] = {}
        # Raising and clearing are each an event, with the alert as it was then; repeats become one
        # "alert.updated" per alert still active at the end.
        events_out: list[tuple[EventName, AlertPayload]] = []
        repeated: dict[int, Alert] = {}
        audit: list[Event] = []
        for event in events:
            rule = rules[int(event.rule_id)]
            key = (rule.pk, event.subject)
            alert = active.get(key)
            if isinstance(event, Cleared):
                if alert is None or not rule.auto_clear:
                    continue
                _save_repeats([repeated.pop(alert.pk)] if alert.pk in repeated else [])
                alert.status, alert.cleared_at, alert.updated_at = AlertStatus.CLEARED, event.at, now
                alert.last_value, alert.next_escalation_at = event.value, None
                alert.save(
                    update_fields=["status", "cleared_at", "updated_at", "last_value", "next_escalation_at"]
                )
                del active[key]
                touched[alert.pk] = alert
                events_out.append((EventName.ALERT_CLEARED, alert_payload(alert)))
                audit.append(
                    Event(
                        AuditAction.ALERT_CLEAR,
                        "alert",
                        alert.pk,
                        details={"rule": rule.pk, "value": event.value},
                    )
                )
                continue
            if alert is not None:
                _repeat(alert, event, now)
                repeated[alert.pk] = alert
                touched[alert.pk] = alert
                continue
            if isinstance(event, Updated) and not isinstance(event, Raised):
                # A repeat for an alert a person already resolved: the engine is told to forget the
                # subject on ``alert.resolved``; until it has, repeats raise nothing new.
                logger.debug("no active alert for %s × %s; repeat ignored", rule.pk, event.subject)
                continue
            alert = _new_alert(rule, event, devices, facilities, now)
            if alert.grid is not None and alert.grid.parent_id != rule.community_id:
                # The engine applies a rule only to its community's devices; a rule stored before
                # its device codes were checked, or a device moved since, raises nothing elsewhere.
                logger.warning(
                    "rule %s: subject %s is in another community; no alert", rule.pk, event.subject
                )
                continue
            try:
                with transaction.atomic():
                    alert.save()
            except IntegrityError:  # raised concurrently by another writer: count it as a repeat
                alert = _active(rule.pk, event.subject)
                if alert is None:
                    raise
                active[key] = alert
                _repeat(alert, event, now)
                repeated[alert.pk] = alert
                touched[alert.pk] = alert
                continue
            alert.community = rule.community
            active[key] = alert
            touched[alert.pk] = alert
            events_out.append((EventName.ALERT_RAISED, alert_payload(alert)))
            audit.append(
                Event(
                    AuditAction.ALERT_RAISE,
                    "alert",
                    alert.pk,
                    details={
                        "rule": rule.pk,
                        "subject": alert.subject,
                        "grade": alert.grade,
                        "value": event.value,
                    },
                )
            )
        _save_repeats(repeated.values())
        record(actor=SYSTEM_ACTOR, events=audit)
        events_out += [
            (EventName.ALERT_UPDATED, alert_payload(alert))
            for alert in repeated.values()
            if alert.status in ACTIVE_STATUSES
        ]
        for name, payload in events_out:
            publish_on_commit(name, payload)
    return list(touched.values())


def _per_place(rule: Rule) -> bool:
    return rule.kind in ("composite", "crowd_density") or (
        rule.kind == "count_window" and (rule.params or {}).get("per") == "place"
    )


# --- alerts by people -----------------------------------------------------------------------------


def _lock(alert: Alert) -> Alert:
    return (
        Alert.objects.select_for_update(of=("self",))
        .select_related("rule", "community", "grid")
        .get(pk=alert.pk)
    )


def _recheck_scope(actor: Actor, alert: Alert) -> None:
    if not Alert.objects.restrict(actor, Action.HANDLE_ALERTS).filter(pk=alert.pk).exists():
        raise NotFound(_("Alert not found."))


@transaction.atomic(durable=True)
def acknowledge_alert(*, actor: Actor, alert: Alert) -> Alert:
    """Someone has seen the alert and is on it: escalation stops."""
    if not can(actor, Action.HANDLE_ALERTS):
        raise PermissionDenied(_("Your role may not handle alerts."))
    _recheck_scope(actor, alert)
    now = clock.now()
    updated = Alert.objects.filter(pk=alert.pk, status=AlertStatus.OPEN).update(
        status=AlertStatus.ACKNOWLEDGED,
        acknowledged_at=now,
        acknowledged_by=actor,
        next_escalation_at=None,
        updated_at=now,
    )
    alert = _lock(alert)
    if not updated:
        raise AlertStateError(
            _("Only an open alert can be acknowledged; this one is %(status)s.") % {"status": alert.status},
            field="status",
        )
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.ALERT_ACKNOWLEDGE,
                "alert",
                alert.pk,
                details={"rule": alert.rule_id, "grade": alert.grade},
            )
        ],
    )
    publish_on_commit(EventName.ALERT_ACKNOWLEDGED, alert_payload(alert))
    return alert


# --- an alert and its incident: one story -------------------------------------------------------
# Response (above warning) opens incidents for alerts; warning may not import it. At start-up
# (``ResponseConfig.ready``) response hands warning what the alert's page and its resolution need of
# the incident: ``provide_incidents``. Resolving one asks what becomes of the other (``LinkedStep``).


class LinkedStep(StrEnum):
    """What resolving an alert does to its open incident (or resolving an incident to its alert)."""

    RESOLVE = "resolve"  # resolve it too
    KEEP = "keep"  # keep it open, saying why


@dataclass(frozen=True)
class AlertIncident:
    """An alert's incident as the alert's page shows it: the open one, else the latest. ``hidden``:
    there is one, outside the viewer's scope (its details are then empty)."""

    id: int | None
    status: str = ""
    status_label: str = ""
    is_open: bool = False
    assignee: str = ""
    url: str = ""
    hidden: bool = False


class IncidentsOfAlerts(Protocol):
    """What response gives warning (``provide_incidents``)."""

    def incident_of(self, user: Actor, alert: Alert) -> AlertIncident | None: ...

    def settle(self, *, actor: Actor, alert: Alert, step: LinkedStep, note: str, reason: str) -> int | None:
        """In the alert's resolution (its row locked): resolve the alert's open incident or keep it
        open with ``reason``; the incident's id, or None when it has none open."""
        ...


_incidents: IncidentsOfAlerts | None = None


def provide_incidents(provider: IncidentsOfAlerts | None) -> None:
    """Response registers what it knows of alerts' incidents (None: forget it, in tests)."""
    global _incidents
    _incidents = provider


def incident_of(user: Actor, alert: Alert) -> AlertIncident | None:
    """The alert's incident as ``user`` may see it, or None when no incident was opened for it."""
    return _incidents.incident_of(user, alert) if _incidents is not None else None


def linked_step(step: str | None, reason: str, *, field: str) -> tuple[LinkedStep, str]:
    """``step`` (``resolve``, the default, or ``keep``) and the reason keeping needs, else a 400 naming
    ``field`` or its ``…_reason``."""
    try:
        chosen = LinkedStep(step or LinkedStep.RESOLVE)
    except ValueError:
        raise InvalidInput(_("Choose “resolve” or “keep”."), field=field, code="invalid_choice") from None
    reason = (reason or "").strip()
    if chosen == LinkedStep.KEEP and not reason:
        raise InvalidInput(_("Say why it stays open: the reason is required."), field=f"{field}_reason")
    if len(reason) > 2000:
        raise InvalidInput(_("The reason is at most 2000 characters."), field=f"{field}_reason")
    return chosen, reason if chosen == LinkedStep.KEEP else ""


@transaction.atomic(durable=True)
def resolve_alert(
    *, actor: Actor, alert: Alert, note: str, incident: str | None = None, incident_reason: str = ""
) -> Alert:
    """A person closes the alert, saying what was found and done (``note`` is required), and what
    becomes of its open incident if it has one: resolved too (``incident="resolve"``, the default:
    an alert dealt with leaves no incident running and missing its deadlines) or kept open
    (``"keep"``, with ``incident_reason``, on the incident's timeline)."""
    step, reason = linked_step(incident, incident_reason, field="incident")
    alert = resolve_alert_only(actor=actor, alert=alert, note=note)
    if _incidents is not None:
        _incidents.settle(actor=actor, alert=alert, step=step, note=note.strip(), reason=reason)
    return alert


@transaction.atomic
def resolve_alert_only(*, actor: Actor, alert: Alert, note: str) -> Alert:
    """The alert's own resolution, in the caller's transaction: for response, which resolves an
    incident and its alert together (:func:`resolve_alert` is the step people take)."""
    if not can(actor, Action.HANDLE_ALERTS):
        raise PermissionDenied(_("Your role may not handle alerts."))
    note = (note or "").strip()
    if not note:
        raise InvalidInput(_("Say what was found and done: a note is required."), field="note")
    _recheck_scope(actor, alert)
    now = clock.now()
    updated = Alert.objects.filter(pk=alert.pk, status__in=ACTIVE_STATUSES).update(
        status=AlertStatus.RESOLVED,
        resolved_at=now,
        resolved_by=actor,
        resolution_note=note,
        next_escalation_at=None,
        updated_at=now,
    )
    alert = _lock(alert)
    if not updated:
        raise AlertStateError(
            _("Only an open or acknowledged alert can be resolved; this one is %(status)s.")
            % {"status": alert.status},
            field="status",
        )
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.ALERT_RESOLVE,
                "alert",
                alert.pk,
                details={"rule": alert.rule_id, "grade": alert.grade},
            )
        ],
    )
    publish_on_commit(EventName.ALERT_RESOLVED, alert_payload(alert))
    return alert


@transaction.atomic
def escalate_due(now: dt.datetime | None = None) -> list[Alert]:
    """Move every open alert whose escalation deadline has come (``next_escalation_at <= now``) one
    level up the ladder (grid → community → street → district), audited and published as
    ``alert.escalated``; the next deadline is the grade's deadline again, none after the top level.
    Who is told at each level is the ``notify`` app's business (issue 4)."""
    now = now or clock.now()
    due = list(
        Alert.objects.select_related("rule", "community", "grid")
        .filter(status=AlertStatus.OPEN, next_escalation_at__lte=now)
        .order_by("next_escalation_at", "id")
    )
    escalated = []
    audit = []
    for alert in due:
        level = alert.escalation_level + 1
        following = (
            alert.next_escalation_at + dt.timedelta(seconds=escalation_seconds(alert.grade))
            if level < MAX_ESCALATION_LEVEL
            else None
        )
        changed = Alert.objects.filter(
            pk=alert.pk, status=AlertStatus.OPEN, escalation_level=alert.escalation_level
        ).update(escalation_level=level, next_escalation_at=following, updated_at=now)
        if not changed:  # acknowledged or escalated by someone else meanwhile
            continue
        alert.escalation_level, alert.next_escalation_at = level, following
        escalated.append(alert)
        audit.append(
            Event(
                AuditAction.ALERT_ESCALATE,
                "alert",
                alert.pk,
                details={"level": level, "to": ESCALATION_LADDER[level], "grade": alert.grade},
            )
        )
        payload: AlertEscalatedPayload = {**alert_payload(alert), "to": ESCALATION_LADDER[level]}
        publish_on_commit(EventName.ALERT_ESCALATED, payload)
    record(actor=SYSTEM_ACTOR, events=audit)
    return escalated


def mark_pushed(alert_ids: Iterable[int], *, at: dt.datetime | None = None) -> int:
    """Record when alerts were first pushed to people (the ``notify`` app calls this once sent)."""
    return Alert.objects.filter(pk__in=list(alert_ids), pushed_at__isnull=True).update(
        pushed_at=at or clock.now()
    )


# --- a fall or an SOS: the person, their household and whom to call --------------------------------
# A fall or SOS alert of a device that serves someone (a wearable band, an SOS button) is about that
# person. Roles that may see care data (``people.models.may_see_care``), with the person in their
# scope, see who it is, their household and their emergency contact, phones masked; revealing a phone
# to call it takes a stated purpose and is audited (``reveal_call_numbers``). Other roles read that
# this is hidden from them, never that there is nobody.

PERSON_METRICS = frozenset({"fall", "sos"})


@dataclass(frozen=True)
class Callee:
    """Someone to call: the person the alert is about, or their emergency contact."""

    key: str  # "person" or "contact"
    name: str
    relation: str  # how they stand to the person, in words ("" for the person)
    phone_masked: str
    phone: str = ""  # in clear only once revealed


@dataclass(frozen=True)
class PersonAtRisk:
    """Who a fall or SOS alert is about, as ``user`` may see it. ``visible`` False: hidden from the
    role (or outside its area); the rest is then empty."""

    visible: bool
    person: Callee | None = None
    age: int | None = None
    lives_alone: bool = False
    home: Unit | None = None
    household: tuple[tuple[str, str, int], ...] = ()  # the others at home: (name, relation, age)
    contact: Callee | None = None


def is_about_a_person(alert: Alert) -> bool:
    """A fall or SOS alert of a device that serves someone or stands in someone's home."""
    device = alert.device
    return (
        device is not None
        and (device.resident_id is not None or device.unit_id is not None)
        and _metric_of(alert.rule) in PERSON_METRICS
    )


def _wearer(alert: Alert):
    """The resident the alert's device serves, else the head of the household of its unit."""
    device = alert.device
    if device is None:
        return None
    if device.resident_id is not None:
        return (
            Resident.objects.select_related("household__unit__building").filter(pk=device.resident_id).first()
        )
    return (
        Resident.objects.select_related("household__unit__building")
        .filter(household__unit_id=device.unit_id)
        .order_by("household_id", "id")
        .first()
    )


def _contact_of(resident) -> Carer | None:
    """The resident's emergency contact: the primary carer named on their active care profiles."""
    return (
        Carer.objects.select_related("resident")
        .filter(care_profile__resident=resident, care_profile__is_active=True)
        .order_by("-is_primary", "care_profile__kind", "id")
        .first()
    )


def person_at_risk(user: Actor, alert: Alert) -> PersonAtRisk | None:
    """Who a fall or SOS alert is about (None for any other alert), as ``user`` may see it."""
    if not is_about_a_person(alert):
        return None
    resident = _wearer(alert)
    visible = (
        resident is not None
        and may_see_care(user)
        and Resident.objects.restrict(user, Action.VIEW_PEOPLE).filter(pk=resident.pk).exists()
    )
    if not visible or resident is None:
        return PersonAtRisk(visible=False)
    today = clock.today()
    others = (
        Resident.objects.restrict(user, Action.VIEW_PEOPLE)
        .filter(household=resident.household)
        .exclude(pk=resident.pk)
        .order_by("id")
    )
    carer = _contact_of(resident)
    contact = None
    if carer is not None:
        contact = Callee(
            "contact",
            carer.name,
            str(CarerKind(carer.kind).label) if carer.kind in CarerKind.values else "",
            vault.mask_phone(carer.resident.phone if carer.resident is not None else carer.phone),
        )
    return PersonAtRisk(
        visible=True,
        person=Callee("person", resident.name, "", resident.phone_masked),
        age=resident.age_on(today),
        lives_alone=resident.is_living_alone,
        home=resident.household.unit,
        household=tuple(
            (other.name, str(other.get_relation_display()), other.age_on(today)) for other in others
        ),
        contact=contact,
    )


@transaction.atomic
def reveal_call_numbers(*, actor: Actor, alert: Alert, purpose: str) -> dict[str, str]:
    """The clear phones of the person a fall or SOS alert is about and of their emergency contact, to
    call them: ``{"person": …, "contact": …}`` (those known). Needs a role that may see care and
    reveal phones, the person in its scope, and a purpose; one audit entry per number revealed."""
    if not is_about_a_person(alert):
        raise InvalidInput(_("This alert is not about a person."), field="alert")
    _fields, purpose = clean_reveal_request(actor, ["phone"], purpose)
    resident = _wearer(alert)
    if (
        resident is None
        or not may_see_care(actor)
        or not Resident.objects.restrict(actor, Action.VIEW_PEOPLE).filter(pk=resident.pk).exists()
    ):
        raise PermissionDenied(_("Who this alert is about is hidden from your role."))
    numbers = {}
    if resident.phone:
        numbers["person"] = reveal_resident(
            actor=actor, resident=resident, fields=["phone"], purpose=purpose
        )["phone"]
    carer = _contact_of(resident)
    if carer is not None and carer.resident is not None and carer.resident.phone:
        numbers["contact"] = reveal_resident(
            actor=actor, resident=carer.resident, fields=["phone"], purpose=purpose
        )["phone"]
    elif carer is not None and carer.phone:
        numbers["contact"] = carer.phone
        record(
            actor=actor,
            events=[
                Event(
                    AuditAction.RESIDENT_REVEAL,
                    "carer",
                    carer.pk,
                    purpose,
                    {"field": "phone", "resident": resident.pk, "alert": alert.pk},
                )
            ],
        )
    return numbers


# --- CAP ---------------------------------------------------------------------------------------
# A community alert is not a government warning: only county-level or higher governments issue
# warnings (Emergency Response Law Art. 64). Banyan's CAP therefore has scope "Restricted" — for the
# community's staff and its emergency partners — with a restriction saying so, and a senderName that
# names the community platform (README, API section).

CAP_RESTRICTION = (
    "Community early-warning alert from sensors, for community staff and emergency partners. "
    "Not a government warning under the Emergency Response Law (Art. 64). "
    "社区传感器预警，仅供社区工作人员及应急合作方使用，非政府发布的预警信息。"
)
_CATEGORY_BY_METRIC = {
    "smoke_obscuration": "Fire",
    "smoke_alarm": "Fire",
    "temperature_c": "Fire",
    "gas_lel": "Safety",
    "water_level_cm": "Met",
    "water_m3": "Health",
    "door_open": "Health",
    "heart_rate": "Health",
    "spo2": "Health",
    "fall": "Health",
    "sos": "Rescue",
    "person_count": "Safety",
    "pm25": "Env",
    "co2": "Env",
}
_GRADE_EN = {"blue": "Blue", "yellow": "Yellow", "orange": "Orange", "red": "Red"}


def _cap_token(text: str) -> str:
    import re

    return re.sub(r"[\s,<&]+", "-", text) or "banyan"


def cap_sender(community: Region) -> str:
    domain = getattr(settings, "BANYAN_CAP_SENDER_DOMAIN", "banyan.invalid")
    return _cap_token(f"alerts.{community.code.lower()}@{domain}")


def _cap_area(alert: Alert):

    candidates = []
    if alert.device is not None and alert.device.zone:
        candidates.append(alert.device.zone)
    if alert.facility is not None and alert.facility.area:
        candidates.append(alert.facility.area)
    if alert.grid is not None and alert.grid.boundary:
        candidates.append(alert.grid.boundary)
    if alert.community.boundary:
        candidates.append(alert.community.boundary)
    polygons: tuple[str, ...] = ()
    for geojson in candidates:
        try:
            polygons = (polygon_from_geojson(geojson),)
            break
        except ValueError:
            continue
    where = (
        alert.facility.name_zh
        if alert.facility is not None
        else (alert.grid.name_zh if alert.grid is not None else "")
    )
    description = " / ".join(part for part in (alert.community.name_zh, where, alert.subject) if part)
    return CapArea(description=description, polygons=polygons)


def _metric_of(rule: Rule) -> str:
    params = rule.params or {}
    if "metric" in params:
        return params["metric"]
    conditions = params.get("conditions") or [{}]
    return conditions[0].get("metric", "") if isinstance(conditions[0], dict) else ""


def cap_for_alert(alert: Alert):
    """The alert as a :class:`~banyan.warning.cap.CapAlert`: zh-CN and en info blocks, severity from
    the grade, the area from the device's zone, the facility's area, the grid's or community's boundary.
    A resolved or cleared alert is a ``Cancel`` referring to the alert as raised."""

    rule, community = alert.rule, alert.community
    sender = cap_sender(community)
    identifier = _cap_token(f"{community.code}-alert-{alert.pk}")
    active = alert.status in ACTIVE_STATUSES
    ended_at = alert.resolved_at or alert.cleared_at
    area = _cap_area(alert)
    category = _CATEGORY_BY_METRIC.get(_metric_of(rule), "Safety")
    value = "" if alert.last_value is None else f"{alert.last_value:g}"
    raised_zh = alert.raised_at.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M:%S")
    common: dict[str, Any] = {
        "categories": (category,),
        "event": rule.name,
        "urgency": "Immediate" if active else "Past",
        "severity": grade_to_severity(alert.grade),
        "certainty": "Observed",
        "effective": alert.raised_at,
        "areas": (area,),
    }
    zh = CapInfo(
        language="zh-CN",
        headline=f"{GRADE_COLOUR_ZH[alert.grade]}预警（{GRADE_LEVEL_ZH[alert.grade]}）：{rule.name}",
        description=(
            f"对象 {alert.subject}，最近数值 {value or '—'}，满足规则 {alert.count} 次，"
            f"触发于 {raised_zh}（北京时间）。状态：{AlertStatus(alert.status).label}。"
        ),
        instruction="请网格员尽快到场核实并处置。" if active else "该告警已结束。",
        sender_name=f"{community.name_zh} 社区预警平台（社区告警，非政府预警）",
        parameters=(grade_parameter(alert.grade, "zh-CN"),),
        **common,
    )
    en = CapInfo(
        language="en",
        headline=f"{_GRADE_EN[alert.grade]} alert: {rule.name}",
        description=(
            f"Subject {alert.subject}, last value {value or '-'}, met the rule {alert.count} time(s), "
            f"raised at {alert.raised_at.isoformat(timespec='seconds')}. Status: {alert.status}."
        ),
        instruction="Grid staff: check on site and respond." if active else "This alert has ended.",
        sender_name=(
            f"Banyan community alerts, {community.name_en or community.code} (not a government warning)"
        ),
        parameters=(grade_parameter(alert.grade, "en"),),
        **common,
    )
    if active or ended_at is None:
        return CapAlert(
            identifier=identifier,
            sender=sender,
            sent=alert.raised_at,
            scope="Restricted",
            restriction=CAP_RESTRICTION,
            infos=(zh, en),
        )
    return CapAlert(
        identifier=f"{identifier}-end",
        sender=sender,
        sent=ended_at,
        msg_type="Cancel",
        scope="Restricted",
        restriction=CAP_RESTRICTION,
        references=(CapReference(sender=sender, identifier=identifier, sent=alert.raised_at),),
        note=alert.status,
        infos=(zh, en),
    )


# --- official warnings --------------------------------------------------------------------------


def _imported_areas(cap) -> list[dict[str, Any]]:
    areas: dict[str, dict[str, Any]] = {}
    for info in cap.infos:
        for area in info.areas:
            entry = areas.setdefault(
                area.description,
                {"description": area.description, "polygons": [], "circles": [], "geocodes": []},
            )
            entry["polygons"] += [p for p in area.polygons if p not in entry["polygons"]]
            entry["circles"] += [
                c
                for c in (
                    {"lat": c.latitude, "lon": c.longitude, "radius_km": c.radius_km} for c in area.circles
                )
                if c not in entry["circles"]
            ]
            entry["geocodes"] += [list(g) for g in area.geocodes if list(g) not in entry["geocodes"]]
    return list(areas.values())


def _as_text(data: bytes) -> str:
    """The message as text for keeping: UTF-8 (most feeds), else Latin-1 (which never fails)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _info_in(cap, primary: str):
    return next((info for info in cap.infos if info.language.lower().split("-")[0] == primary), None)


@transaction.atomic(durable=True)
def import_official_warning(
    *, actor: Actor | str | None, data: bytes, source_url: str = ""
) -> tuple[OfficialWarning, bool]:
    """Store a government CAP message once per (sender, identifier, sent); returns ``(warning, created)``.

    ``data`` is parsed by :func:`banyan.warning.cap.parse_cap` (size limit, no DTD or entities, no
    network, schema and spec checks); a refused message raises :class:`~banyan.warning.cap.CapError`."""

    cap = parse_cap(data)
    first = cap.infos[0] if cap.infos else None
    zh, en = _info_in(cap, "zh"), _info_in(cap, "en")
    main = en or first
    named = zh or main
    existing = OfficialWarning.objects.filter(
        sender=cap.sender, identifier=cap.identifier, sent=cap.sent
    ).first()
    if existing is not None:
        return existing, False
    warning = OfficialWarning(
        identifier=cap.identifier,
        sender=cap.sender,
        sent=cap.sent,
        status=cap.status,
        msg_type=cap.msg_type,
        scope=cap.scope,
        event=(first.event if first else "")[:255],
        severity=first.severity if first else "",
        grade=(first.grade or "") if first else "",
        sender_name=(named.sender_name if named else "")[:255],
        headline_zh=zh.headline if zh else "",
        headline_en=main.headline if main and main is not zh else "",
        description=(main.description if main else "") or (zh.description if zh else ""),
        instruction=(main.instruction if main else "") or (zh.instruction if zh else ""),
        areas=_imported_areas(cap),
        effective=first.effective if first else None,
        expires=first.expires if first else None,
        signed=cap.signed,
        source_url=source_url[:500],
        raw=_as_text(data),
        imported_at=clock.now(),
    )
    try:
        with transaction.atomic():
            warning.save()
    except IntegrityError:  # imported concurrently
        return OfficialWarning.objects.get(sender=cap.sender, identifier=cap.identifier, sent=cap.sent), False
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.OFFICIAL_WARNING_IMPORT,
                "official_warning",
                warning.pk,
                details={
                    "sender": warning.sender,
                    "identifier": warning.identifier,
                    "source": warning.source_url,
                },
            )
        ],
    )
    publish_on_commit(
        EventName.OFFICIAL_WARNING_IMPORTED,
        {
            "id": warning.pk,
            "sender": warning.sender,
            "identifier": warning.identifier,
            "grade": warning.grade,
        },
    )
    return warning, True
