"""Roles, what each may do, and the region scope every query starts from.

The permission table is data: one set of actions per role. Scope is separate: a role that
may *view residents* still sees only those in its region subtree (or its own household, or
the people it cares for). See docs/adr/0002-region-scoping.md.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from banyan.core.choices import Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser


class Actor(Protocol):
    """Who acts, as core and audit see an account: :class:`banyan.people.models.User` is one, but core
    sits below people and may not import it. The apps above people annotate with that ``User`` (imported
    as ``Actor``); these members are the ones below people read."""

    @property
    def pk(self) -> Any: ...
    @property
    def role(self) -> str: ...
    @property
    def region_id(self) -> int | None: ...
    @property
    def is_active(self) -> bool: ...
    @property
    def is_authenticated(self) -> bool: ...
    def get_username(self) -> str: ...


class Action(StrEnum):
    VIEW_PLACES = "places.view"
    CHANGE_PLACES = "places.change"
    VIEW_PEOPLE = "people.view"
    CHANGE_PEOPLE = "people.change"
    VIEW_AUDIT = "audit.view"
    IMPORT_LEDGER = "ledger.import"
    EXPORT_LEDGER = "ledger.export"
    VIEW_ALERTS = "alerts.view"
    HANDLE_ALERTS = "alerts.handle"
    CHANGE_RULES = "rules.change"
    VIEW_INCIDENTS = "incidents.view"
    REPORT_INCIDENTS = "incidents.report"  # open an incident (staff) or a report (residents)
    HANDLE_INCIDENTS = "incidents.handle"  # act on incidents assigned to oneself
    MANAGE_INCIDENTS = "incidents.manage"  # assign, hand over, close, cancel, reopen
    CHANGE_MATRIX = "matrix.change"
    VIEW_COCKPIT = "cockpit.view"  # the live screen of a community, and of a street across communities
    VIEW_FEDERATION = "federation.view"  # figures across communities, as a city platform polls them
    SEND_READINGS = "readings.send"  # a gateway's batch of readings (POST /readings), in the region
    VIEW_EMERGENCIES = "emergencies.view"  # the hazard register, plans, emergencies and their boards
    MANAGE_EMERGENCIES = "emergencies.manage"  # edit plans, activate, change level, stand down
    VIEW_TIMEBANK = "timebank.view"  # time-bank accounts in scope; an account's owner moves its hours
    MANAGE_TIMEBANK = "timebank.manage"  # issue hours, transfer for offline members, reverse


_STAFF_EDITORS = {
    Action.VIEW_PLACES,
    Action.VIEW_PEOPLE,
    Action.CHANGE_PEOPLE,
    Action.IMPORT_LEDGER,
    Action.EXPORT_LEDGER,
}

# Alerts: every staff role sees them; those who respond on the ground handle them (acknowledge,
# resolve); the community's and street's managers change the rules that raise them.
_ALERT_HANDLERS = {Action.VIEW_ALERTS, Action.HANDLE_ALERTS}
_RULE_CHANGERS = _ALERT_HANDLERS | {Action.CHANGE_RULES}
_RESPONDERS = {Action.VIEW_INCIDENTS, Action.REPORT_INCIDENTS, Action.HANDLE_INCIDENTS}
_INCIDENT_MANAGERS = _RESPONDERS | {Action.MANAGE_INCIDENTS, Action.CHANGE_MATRIX}
# Emergencies: every staff role sees them (volunteers their own tasks); the community's and street's
# managers run them.
_EMERGENCY_MANAGERS = {Action.VIEW_EMERGENCIES, Action.MANAGE_EMERGENCIES}
# The time bank: everyone sees the accounts in their scope; the community's and street's managers run it.
_TIMEBANK_MANAGERS = {Action.VIEW_TIMEBANK, Action.MANAGE_TIMEBANK}

PERMISSIONS: dict[str, frozenset[Action]] = {
    Role.PLATFORM_ADMIN: frozenset(Action),
    Role.STREET_OFFICER: frozenset(
        _STAFF_EDITORS
        | {Action.CHANGE_PLACES, Action.SEND_READINGS, Action.VIEW_COCKPIT, Action.VIEW_FEDERATION}
        | _RULE_CHANGERS
        | _INCIDENT_MANAGERS
        | _EMERGENCY_MANAGERS
        | _TIMEBANK_MANAGERS
    ),
    Role.COMMUNITY_DIRECTOR: frozenset(
        _STAFF_EDITORS
        | {Action.CHANGE_PLACES, Action.SEND_READINGS, Action.VIEW_COCKPIT}
        | _RULE_CHANGERS
        | _INCIDENT_MANAGERS
        | _EMERGENCY_MANAGERS
        | _TIMEBANK_MANAGERS
    ),
    Role.GRID_WORKER: frozenset(
        _STAFF_EDITORS | _ALERT_HANDLERS | _RESPONDERS | {Action.VIEW_EMERGENCIES, Action.VIEW_TIMEBANK}
    ),
    Role.PROPERTY_STAFF: frozenset(
        {
            Action.VIEW_PLACES,
            Action.VIEW_PEOPLE,
            Action.SEND_READINGS,
            Action.VIEW_EMERGENCIES,
            Action.VIEW_TIMEBANK,
        }
        | _ALERT_HANDLERS
        | _RESPONDERS
    ),
    Role.VOLUNTEER: frozenset(
        {Action.VIEW_PLACES, Action.VIEW_PEOPLE, Action.VIEW_EMERGENCIES, Action.VIEW_TIMEBANK} | _RESPONDERS
    ),
    Role.RESIDENT: frozenset(
        {Action.VIEW_PLACES, Action.VIEW_PEOPLE, Action.REPORT_INCIDENTS, Action.VIEW_TIMEBANK}
    ),
    Role.AUDITOR: frozenset(
        {
            Action.VIEW_PLACES,
            Action.VIEW_PEOPLE,
            Action.VIEW_AUDIT,
            Action.EXPORT_LEDGER,
            Action.VIEW_ALERTS,
            Action.VIEW_INCIDENTS,
            Action.VIEW_COCKPIT,
            Action.VIEW_FEDERATION,
            Action.VIEW_EMERGENCIES,
            Action.VIEW_TIMEBANK,
        }
    ),
}

# Which personal fields each role may reveal (always with a purpose, always audited).
REVEALABLE_FIELDS = ("id_number", "phone", "care_details")
REVEAL_RIGHTS: dict[str, frozenset[str]] = {
    Role.PLATFORM_ADMIN: frozenset(REVEALABLE_FIELDS),
    Role.STREET_OFFICER: frozenset(REVEALABLE_FIELDS),
    Role.COMMUNITY_DIRECTOR: frozenset(REVEALABLE_FIELDS),
    Role.GRID_WORKER: frozenset(REVEALABLE_FIELDS),
    Role.PROPERTY_STAFF: frozenset({"phone"}),
    Role.VOLUNTEER: frozenset({"phone", "care_details"}),
    Role.RESIDENT: frozenset(REVEALABLE_FIELDS),
    Role.AUDITOR: frozenset(),
}

# Roles whose scope is everything (their actions are still limited by PERMISSIONS).
UNSCOPED_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.AUDITOR})

# The devices of a home (installed in a unit, or serving a resident: door contacts, SOS buttons, water
# meters, wearables) tell who is in and who needs care. These roles see them throughout their region;
# a resident sees their own household's, a volunteer those of the people they care for, and every
# other role (property staff, auditors) none: communal devices only (banyan.sensing.services).
HOME_DEVICE_ROLES = frozenset(
    {Role.PLATFORM_ADMIN, Role.STREET_OFFICER, Role.COMMUNITY_DIRECTOR, Role.GRID_WORKER}
)


def can(user: Actor | AnonymousUser | None, action: Action) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return action in PERMISSIONS.get(user.role, frozenset())


def revealable_fields(user: Actor | AnonymousUser | None) -> frozenset[str]:
    if user is None or not user.is_authenticated:
        return frozenset()
    return REVEAL_RIGHTS.get(user.role, frozenset())
