"""The event registry: every domain event Banyan publishes, its payload, its version, and its topic.

An event has a name (:class:`EventName`, e.g. ``alert.raised``) and a payload: a ``TypedDict`` of ids,
codes, grades, statuses and times, never personal data (STYLE 10; subscribers re-read what they show
through the viewer's scope). The names, the keys and the topic below are a contract with other
processes, the cockpit and other systems on the broker (README "Events"): a change of a payload's keys
or types is a new ``version`` of that event, written here and in the CHANGELOG.

- **Publish** only through :func:`publish` (now) or :func:`publish_on_commit` (after the caller's
  transaction commits, STYLE 8: the way services do it). Both check the event at once: a name that is
  not an :class:`EventName` member (a string too) raises :class:`UnregisteredEvent`, a payload with
  missing or extra keys or a value of the wrong type raises :class:`InvalidPayload` (a ``TypeError``),
  in the service that built it.
- **Subscribe** with :func:`subscribe` to an :class:`EventName` or an :class:`EventPattern`; the
  handler gets ``(name, payload)`` with the name as an :class:`EventName`.
- **Between processes**, the events marked ``bridged`` travel over MQTT on
  ``EVENTS_TOPIC`` = ``banyan/<community>/events/<event>`` (:mod:`banyan.core.bus_mqtt`); the others
  stay in the process that published them. :func:`deliver` hands an event from another process to this
  one's subscribers: its name must be registered, its keys are taken as sent (a process of another
  version may send another version; subscribers read what they need by key).

``banyan/core/tests/test_events.py`` refuses product code that publishes around the registry: any use
of :mod:`banyan.core.bus` outside this module, a name given as a string, or a string that spells a
registered event name.
"""

from __future__ import annotations

import fnmatch
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NotRequired, TypedDict

from django.db import transaction

from banyan.core import bus

__all__ = [
    "EVENTS_ACL",
    "EVENTS_FILTER",
    "EVENTS_TOPIC",
    "NO_COMMUNITY",
    "REGISTRY",
    "EventName",
    "EventPattern",
    "EventSpec",
    "InvalidPayload",
    "UnregisteredEvent",
    "deliver",
    "publish",
    "publish_on_commit",
    "subscribe",
    "topic_for",
]


class EventName(StrEnum):
    ALERT_RAISED = "alert.raised"
    ALERT_UPDATED = "alert.updated"
    ALERT_CLEARED = "alert.cleared"
    ALERT_ACKNOWLEDGED = "alert.acknowledged"
    ALERT_RESOLVED = "alert.resolved"
    ALERT_ESCALATED = "alert.escalated"
    RULE_CHANGED = "rule.changed"
    OFFICIAL_WARNING_IMPORTED = "official_warning.imported"
    INCIDENT_OPENED = "incident.opened"
    INCIDENT_CHANGED = "incident.changed"
    INCIDENT_ESCALATED = "incident.escalated"
    INCIDENT_BACKUP = "incident.backup"
    RESPONDER_MOVED = "responder.moved"
    NOTIFY_MESSAGE = "notify.message"
    NOTIFY_ACKNOWLEDGED = "notify.acknowledged"


class EventPattern(StrEnum):
    """The families subscribers listen to (``fnmatch`` patterns over event names)."""

    ALL = "*"
    ALERTS = "alert.*"
    INCIDENTS = "incident.*"
    RESPONDERS = "responder.*"
    NOTIFICATIONS = "notify.*"


# --- the topic on the broker ---------------------------------------------------------------------

EVENTS_TOPIC = "banyan/{community}/events/{event}"  # e.g. banyan/330102001001/events/alert.raised
EVENTS_FILTER = EVENTS_TOPIC.format(community="+", event="+")  # what the bus bridge subscribes to
EVENTS_ACL = EVENTS_TOPIC.format(community="+", event="#")  # what Banyan's service accounts may write
NO_COMMUNITY = "_"  # the community segment of an event that names none


def topic_for(name: EventName, community: str | None) -> str:
    """The MQTT topic of event ``name`` of ``community``."""
    return EVENTS_TOPIC.format(community=community or NO_COMMUNITY, event=name.value)


# --- the payloads -----------------------------------------------------------------------------------


class AlertPayload(TypedDict):
    """An alert (``banyan.warning.services.alert_payload``): codes, grade, status, count and times."""

    id: int
    rule: int
    subject: str  # a device code or a place key
    place: str
    community: str
    grid: str | None
    grade: str
    status: str
    count: int
    last_value: float | None
    escalation_level: int
    reading_at: str | None
    raised_at: str
    acknowledged_at: str | None
    cleared_at: str | None
    resolved_at: str | None


class AlertEscalatedPayload(AlertPayload):
    to: str  # the rung of the ladder: grid, community, street, district


class RuleChangedPayload(TypedDict):
    rule: int
    community: str


class OfficialWarningImportedPayload(TypedDict):
    """A CAP warning taken in: its issuing body's identifiers, not a person's."""

    id: int
    sender: str
    identifier: str
    grade: str


class IncidentPayload(TypedDict):
    """An incident (``banyan.response.services.incident_payload``): codes, grade, status, deadlines."""

    id: int
    category: str
    community: str
    grid: str | None
    grade: str
    status: str
    accountable: str  # the organisation's code
    assignee: int | None  # a user id
    escalation_level: int
    created_at: str
    acknowledge_due: str
    arrive_due: str


class ResponderMovedPayload(TypedDict):
    """A responder has a new position; the position itself is never on the bus."""

    id: int | None
    user: int
    community: str | None


class NotifyMessagePayload(TypedDict):
    """A notification (``banyan.notify.services.event_payload``): ids and kind, never an address or text."""

    id: int
    recipient: int | None
    kind: str
    urgency: str
    subject_type: str
    subject_id: str


class NotifyAcknowledgedPayload(NotifyMessagePayload):
    channel: str
    user: int | None


@dataclass(frozen=True)
class EventSpec:
    name: EventName
    payload: type  # a TypedDict
    version: int
    bridged: bool  # sent to the other processes over MQTT (BANYAN_BUS=mqtt)
    about: str

    @property
    def fields(self) -> dict[str, tuple[type, ...]]:
        return _fields(self.payload)


def _spec(name: EventName, payload: type, about: str, *, bridged: bool, version: int = 1) -> EventSpec:
    return EventSpec(name, payload, version, bridged, about)


REGISTRY: dict[EventName, EventSpec] = {
    spec.name: spec
    for spec in (
        _spec(EventName.ALERT_RAISED, AlertPayload, "an alert is raised", bridged=True),
        _spec(EventName.ALERT_UPDATED, AlertPayload, "an active alert is repeated", bridged=True),
        _spec(EventName.ALERT_CLEARED, AlertPayload, "its rule clears an alert", bridged=True),
        _spec(EventName.ALERT_ACKNOWLEDGED, AlertPayload, "a person acknowledges an alert", bridged=True),
        _spec(EventName.ALERT_RESOLVED, AlertPayload, "a person resolves an alert", bridged=True),
        _spec(EventName.ALERT_ESCALATED, AlertEscalatedPayload, "an alert goes up the ladder", bridged=True),
        _spec(EventName.RULE_CHANGED, RuleChangedPayload, "a warning rule is made or changed", bridged=False),
        _spec(
            EventName.OFFICIAL_WARNING_IMPORTED,
            OfficialWarningImportedPayload,
            "an official CAP warning is taken in",
            bridged=False,
        ),
        _spec(EventName.INCIDENT_OPENED, IncidentPayload, "an incident is opened", bridged=True),
        _spec(EventName.INCIDENT_CHANGED, IncidentPayload, "an incident moves or is assigned", bridged=True),
        _spec(EventName.INCIDENT_ESCALATED, IncidentPayload, "an incident misses a deadline", bridged=True),
        _spec(EventName.INCIDENT_BACKUP, IncidentPayload, "a responder asks for backup", bridged=True),
        _spec(EventName.RESPONDER_MOVED, ResponderMovedPayload, "a responder reports where", bridged=True),
        _spec(EventName.NOTIFY_MESSAGE, NotifyMessagePayload, "an in-app message is sent", bridged=False),
        _spec(
            EventName.NOTIFY_ACKNOWLEDGED,
            NotifyAcknowledgedPayload,
            "a person acknowledges a notification",
            bridged=False,
        ),
    )
}


# --- checking ----------------------------------------------------------------------------------------


class UnregisteredEvent(LookupError):
    """An event name, or a pattern, that names no registered event."""


class InvalidPayload(TypeError):
    """A payload whose keys or value types are not its event's."""


_FIELDS: dict[type, dict[str, tuple[type, ...]]] = {}


def _accepted(annotation: Any) -> tuple[type, ...]:
    origin = typing.get_origin(annotation)
    if origin is NotRequired:
        return _accepted(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return tuple(t for arg in typing.get_args(annotation) for t in _accepted(arg))
    if annotation is None or annotation is type(None):
        return (type(None),)
    if annotation is float:
        return (float, int)  # a whole number is a float (PEP 484's numeric tower)
    if isinstance(annotation, type):
        return (annotation,)
    raise TypeError(f"event payloads hold plain values, not {annotation!r}")


def _fields(payload: type) -> dict[str, tuple[type, ...]]:
    fields = _FIELDS.get(payload)
    if fields is None:
        hints = typing.get_type_hints(payload)
        fields = _FIELDS[payload] = {key: _accepted(hint) for key, hint in hints.items()}
    return fields


def spec_of(name: EventName | str) -> EventSpec:
    """The registered event ``name``; :class:`UnregisteredEvent` if there is none."""
    try:
        return REGISTRY[EventName(name)]
    except ValueError:
        raise UnregisteredEvent(f"{name!r} is not a registered event (banyan/core/events.py)") from None


def check(name: EventName, payload: Mapping[str, Any]) -> tuple[EventName, dict[str, Any]]:
    """The name and a copy of ``payload`` if ``name`` is an :class:`EventName` member and the payload
    has exactly its event's keys, each of its type; else :class:`UnregisteredEvent` (a string, even
    one that spells a registered name, is refused: publishers name events by the enum) or
    :class:`InvalidPayload` (naming the keys and types, never the values)."""
    if not isinstance(name, EventName):
        raise UnregisteredEvent(
            f"{name!r} is not an EventName member: publish registered events by name (banyan/core/events.py)"
        )
    spec = REGISTRY[name]
    if not isinstance(payload, Mapping):
        raise InvalidPayload(f"{spec.name}: the payload must be a mapping, not {type(payload).__name__}")
    fields = spec.fields
    required = spec.payload.__required_keys__  # type: ignore[attr-defined]
    missing = sorted(required - payload.keys())
    extra = sorted(payload.keys() - fields.keys())
    if missing or extra:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"unexpected {', '.join(map(str, extra))}"] if extra else []
        raise InvalidPayload(f"{spec.name}: {'; '.join(parts)} ({spec.payload.__name__})")
    for key, value in payload.items():
        accepted = fields[key]
        if not isinstance(value, accepted) or (isinstance(value, bool) and bool not in accepted):
            names = " | ".join("None" if t is type(None) else t.__name__ for t in accepted)
            raise InvalidPayload(f"{spec.name}: {key} must be {names}, not {type(value).__name__}")
    return spec.name, dict(payload)


# --- publishing and subscribing ------------------------------------------------------------------


def publish(name: EventName, payload: Mapping[str, Any]) -> None:
    """Check the event and hand it to this process's subscribers (and, if bridged, to the others)."""
    checked_name, checked = check(name, payload)
    bus.publish(checked_name, checked)


def publish_on_commit(name: EventName, payload: Mapping[str, Any], *, using: str | None = None) -> None:
    """Check the event now (a bad one fails the caller's transaction) and publish it once that
    transaction commits; never if it rolls back. A failing subscriber does not fail the commit."""
    checked_name, checked = check(name, payload)
    transaction.on_commit(lambda: bus.publish(checked_name, checked), using=using, robust=True)


def deliver(name: str, payload: dict[str, Any]) -> None:
    """Hand an event that came from another process (already verified by the bus bridge) to this
    process's subscribers. Its name must be registered; its keys are taken as sent."""
    bus.publish(spec_of(name).name, payload)


def subscribe(pattern: EventName | EventPattern, handler: bus.Handler) -> Callable[[], None]:
    """Call ``handler(name, payload)`` for each event of ``pattern`` (an :class:`EventName` or an
    :class:`EventPattern` member; anything else is :class:`UnregisteredEvent`); returns the
    unsubscriber."""
    if not isinstance(pattern, EventName | EventPattern):
        raise UnregisteredEvent(f"{pattern!r} is neither an EventName nor an EventPattern member")
    return bus.subscribe(pattern.value, handler)


def bridged(name: str) -> bool:
    """Whether event ``name`` goes to the other processes (False for a name not registered)."""
    try:
        return spec_of(name).bridged
    except UnregisteredEvent:
        return False


def names_matching(pattern: EventName | EventPattern) -> list[EventName]:
    return [name for name in EventName if fnmatch.fnmatchcase(name.value, pattern.value)]
