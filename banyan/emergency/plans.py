"""Plans (预案) as data: the schema of :attr:`Plan.body <banyan.emergency.models.Plan.body>`, its check,
and the services that install a community's plans from the shipped templates, make a new version and
find the current plan of a hazard at a level.

A plan's body::

    {"triggers": {"manual": true,
                  "cap": {"events": ["台风", "Typhoon"], "min_severity": "Severe"} | null,
                  "alert_rules": ["flooding"]},          # incident categories of local alert rules
     "lead": {"organisation_kind": "community_committee", "role": "community_director"},
     "tasks": [{"key", "title_zh", "title_en", "owner_kind", "owner_role", "due_minutes"}],
     "notices": [{"key", "audience": "area"|"vulnerable"|"all", "text_zh", "text_en", "channels": [...]}],
     "facilities": ["shelter", ...],                      # FacilityKind values to open
     "supplies": [{"kind": "sandbags", "quantity": 200}],
     "roll_call": {"wait_minutes": 15, "vulnerable_wait_minutes": 5} | null,
     "call_up": {"hours": 24} | null}                     # the community's volunteers put on duty

:func:`validate_body` refuses anything else with an :class:`InvalidInput` naming the path of the bad
value, e.g. ``tasks[2].due_minutes``, and what would be accepted.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core import clock
from banyan.core.access import Action, can
from banyan.core.choices import Role
from banyan.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from banyan.emergency.choices import HazardKind, Level
from banyan.emergency.models import Plan
from banyan.emergency.plan_templates import build_body, plan_titles
from banyan.emergency.shelters.choices import SupplyKind
from banyan.people.choices import OrganisationKind
from banyan.people.models import Actor
from banyan.places.choices import FacilityKind
from banyan.places.models import Region
from banyan.response.catalogue import CATEGORIES

# CAP 1.2 severities, worst first, and how a person reads them.
SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor")
SEVERITY_LABELS = {
    "Extreme": gettext_lazy("Extreme (red)"),
    "Severe": gettext_lazy("Severe (orange)"),
    "Moderate": gettext_lazy("Moderate (yellow)"),
    "Minor": gettext_lazy("Minor (blue)"),
}
AUDIENCES = {
    "area": gettext_lazy("Residents of the affected area"),
    "vulnerable": gettext_lazy("Vulnerable residents of the area (first)"),
    "all": gettext_lazy("Everyone in the community"),
}
NOTICE_CHANNELS = {
    "in_app": gettext_lazy("In the app"),
    "sms": gettext_lazy("SMS"),
    "voice": gettext_lazy("Voice call"),
    "carer": gettext_lazy("Their carer or proxy"),
}
# What a plan stages is what the shelters' stock counts (one list: a plan's supplies become reservations).
SUPPLY_KINDS = dict(SupplyKind.choices)
# The kinds of facility a plan may open for an emergency (shelters, halls, open ground, care and health).
OPENABLE_FACILITIES = (
    FacilityKind.SHELTER,
    FacilityKind.COMMUNITY_CENTRE,
    FacilityKind.SPORTS_FIELD,
    FacilityKind.PLAZA,
    FacilityKind.SCHOOL,
    FacilityKind.KINDERGARTEN,
    FacilityKind.ELDERLY_DAY_CARE,
    FacilityKind.ELDERLY_CARE,
    FacilityKind.CANTEEN,
    FacilityKind.CLINIC,
    FacilityKind.HEALTH_HUT,
)
# Local alert rules name the incident category they open (response's catalogue).
ALERT_CATEGORIES = tuple(code for code, *_rest in CATEGORIES)
# Who may own a task or lead: staff roles (not residents, auditors or the platform's administrators).
OWNER_ROLES = (
    Role.STREET_OFFICER,
    Role.COMMUNITY_DIRECTOR,
    Role.GRID_WORKER,
    Role.PROPERTY_STAFF,
    Role.VOLUNTEER,
)
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
TITLE_MAX = 200
NOTICE_MAX = 500
EVENT_MAX = 100
DUE_MAX = 10080  # a week, in minutes
WAIT_MAX = 1440
QUANTITY_MAX = 1_000_000
LIST_MAX = 60
NOTE_MAX = 500

TOP_KEYS = ("triggers", "lead", "tasks", "notices", "facilities", "supplies", "roll_call", "call_up")
# A vulnerable household is visited sooner than others: five minutes unless the plan says otherwise.
VULNERABLE_WAIT = 5
CALL_UP_MAX_HOURS = 168


# --- the check ---------------------------------------------------------------------------------------


def _object(value: Any, path: str, keys: tuple[str, ...]) -> dict:
    if not isinstance(value, dict):
        raise InvalidInput(_("An object with the keys %(keys)s.") % {"keys": ", ".join(keys)}, field=path)
    for key in value:
        if key not in keys:
            raise InvalidInput(
                _("Unknown key “%(key)s”: accepted are %(keys)s.")
                % {"key": str(key)[:40], "keys": ", ".join(keys)},
                field=path,
            )
    return value


def _list(value: Any, path: str, *, most: int = LIST_MAX) -> list:
    if not isinstance(value, list):
        raise InvalidInput(_("A list."), field=path)
    if len(value) > most:
        raise InvalidInput(_("At most %(most)d entries.") % {"most": most}, field=path)
    return value


def _text(value: Any, path: str, *, most: int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(_("A text."), field=path)
    value = value.strip()
    if "\x00" in value:
        raise InvalidInput(_("The text contains a character that cannot be stored."), field=path)
    if required and not value:
        raise InvalidInput(_("Required."), field=path)
    if len(value) > most:
        raise InvalidInput(_("At most %(most)d characters.") % {"most": most}, field=path)
    return value


def _whole(value: Any, path: str, *, least: int, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
        raise InvalidInput(
            _("A whole number from %(least)d to %(most)d.") % {"least": least, "most": most}, field=path
        )
    return value


def _choice(value: Any, path: str, accepted) -> str:
    values = [str(v) for v in accepted]
    if not isinstance(value, str) or value not in values:
        raise InvalidInput(_("One of %(values)s.") % {"values": ", ".join(values)}, field=path)
    return value


def _key(value: Any, path: str, seen: set[str]) -> str:
    if not isinstance(value, str) or not KEY_PATTERN.match(value):
        raise InvalidInput(
            _("Lower-case letters, digits and “_”, starting with a letter, at most 64."), field=path
        )
    if value in seen:
        raise InvalidInput(_("The key “%(key)s” is used twice.") % {"key": value}, field=path)
    seen.add(value)
    return value


def _triggers(value: Any) -> dict:
    value = _object(value, "triggers", ("manual", "cap", "alert_rules"))
    manual = value.get("manual", True)
    if not isinstance(manual, bool):
        raise InvalidInput(_("true or false."), field="triggers.manual")
    cap = value.get("cap")
    if cap is not None:
        cap = _object(cap, "triggers.cap", ("events", "min_severity"))
        events = _list(cap.get("events", []), "triggers.cap.events", most=20)
        if not events:
            raise InvalidInput(
                _("Name at least one CAP event, or no CAP trigger."), field="triggers.cap.events"
            )
        events = [_text(e, f"triggers.cap.events[{i}]", most=EVENT_MAX) for i, e in enumerate(events)]
        severity = _choice(cap.get("min_severity"), "triggers.cap.min_severity", SEVERITIES)
        cap = {"events": events, "min_severity": severity}
    rules = _list(value.get("alert_rules", []), "triggers.alert_rules", most=len(ALERT_CATEGORIES))
    rules = [_choice(r, f"triggers.alert_rules[{i}]", ALERT_CATEGORIES) for i, r in enumerate(rules)]
    if len(set(rules)) != len(rules):
        raise InvalidInput(_("Name each alert category once."), field="triggers.alert_rules")
    return {"manual": manual, "cap": cap, "alert_rules": rules}


def _lead(value: Any) -> dict:
    value = _object(value, "lead", ("organisation_kind", "role"))
    return {
        "organisation_kind": _choice(
            value.get("organisation_kind"), "lead.organisation_kind", OrganisationKind.values
        ),
        "role": _choice(value.get("role"), "lead.role", OWNER_ROLES),
    }


def _tasks(value: Any) -> list[dict]:
    tasks = _list(value, "tasks")
    if not tasks:
        raise InvalidInput(_("A plan has at least one task."), field="tasks")
    seen: set[str] = set()
    out = []
    keys = ("key", "title_zh", "title_en", "owner_kind", "owner_role", "due_minutes")
    for i, task in enumerate(tasks):
        path = f"tasks[{i}]"
        task = _object(task, path, keys)
        out.append(
            {
                "key": _key(task.get("key"), f"{path}.key", seen),
                "title_zh": _text(task.get("title_zh"), f"{path}.title_zh", most=TITLE_MAX),
                "title_en": _text(task.get("title_en"), f"{path}.title_en", most=TITLE_MAX, required=False),
                "owner_kind": _choice(task.get("owner_kind"), f"{path}.owner_kind", OrganisationKind.values),
                "owner_role": _choice(task.get("owner_role"), f"{path}.owner_role", OWNER_ROLES),
                "due_minutes": _whole(task.get("due_minutes"), f"{path}.due_minutes", least=0, most=DUE_MAX),
            }
        )
    return out


def _notices(value: Any) -> list[dict]:
    seen: set[str] = set()
    out = []
    keys = ("key", "audience", "text_zh", "text_en", "channels")
    for i, notice in enumerate(_list(value, "notices")):
        path = f"notices[{i}]"
        notice = _object(notice, path, keys)
        channels = _list(notice.get("channels"), f"{path}.channels", most=len(NOTICE_CHANNELS))
        channels = [_choice(c, f"{path}.channels[{j}]", NOTICE_CHANNELS) for j, c in enumerate(channels)]
        if not channels or len(set(channels)) != len(channels):
            raise InvalidInput(_("Name each channel once, at least one."), field=f"{path}.channels")
        out.append(
            {
                "key": _key(notice.get("key"), f"{path}.key", seen),
                "audience": _choice(notice.get("audience"), f"{path}.audience", AUDIENCES),
                "text_zh": _text(notice.get("text_zh"), f"{path}.text_zh", most=NOTICE_MAX),
                "text_en": _text(notice.get("text_en"), f"{path}.text_en", most=NOTICE_MAX, required=False),
                "channels": channels,
            }
        )
    return out


def _facilities(value: Any) -> list[str]:
    kinds = _list(value, "facilities", most=len(OPENABLE_FACILITIES))
    kinds = [_choice(k, f"facilities[{i}]", OPENABLE_FACILITIES) for i, k in enumerate(kinds)]
    if len(set(kinds)) != len(kinds):
        raise InvalidInput(_("Name each kind of facility once."), field="facilities")
    return kinds


def _supplies(value: Any) -> list[dict]:
    out = []
    seen: set[str] = set()
    for i, supply in enumerate(_list(value, "supplies")):
        path = f"supplies[{i}]"
        supply = _object(supply, path, ("kind", "quantity"))
        kind = _choice(supply.get("kind"), f"{path}.kind", SUPPLY_KINDS)
        if kind in seen:
            raise InvalidInput(_("Name each kind of supply once."), field=f"{path}.kind")
        seen.add(kind)
        out.append(
            {
                "kind": kind,
                "quantity": _whole(supply.get("quantity"), f"{path}.quantity", least=1, most=QUANTITY_MAX),
            }
        )
    return out


def _roll_call(value: Any) -> dict | None:
    if value is None:
        return None
    value = _object(value, "roll_call", ("wait_minutes", "vulnerable_wait_minutes"))
    wait = _whole(value.get("wait_minutes"), "roll_call.wait_minutes", least=1, most=WAIT_MAX)
    vulnerable = value.get("vulnerable_wait_minutes", min(VULNERABLE_WAIT, wait))
    vulnerable = _whole(vulnerable, "roll_call.vulnerable_wait_minutes", least=1, most=wait)
    return {"wait_minutes": wait, "vulnerable_wait_minutes": vulnerable}


def _call_up(value: Any) -> dict | None:
    if value is None:
        return None
    value = _object(value, "call_up", ("hours",))
    return {"hours": _whole(value.get("hours"), "call_up.hours", least=1, most=CALL_UP_MAX_HOURS)}


def validate_body(body: Any) -> dict:
    """``body`` checked and normalised (texts stripped, defaults filled); else :class:`InvalidInput`
    naming the path of the first bad value."""
    body = _object(body, "body", TOP_KEYS)
    for key in ("triggers", "lead", "tasks"):
        if key not in body:
            raise InvalidInput(_("Required."), field=key)
    return {
        "triggers": _triggers(body["triggers"]),
        "lead": _lead(body["lead"]),
        "tasks": _tasks(body["tasks"]),
        "notices": _notices(body.get("notices", [])),
        "facilities": _facilities(body.get("facilities", [])),
        "supplies": _supplies(body.get("supplies", [])),
        "roll_call": _roll_call(body.get("roll_call")),
        "call_up": _call_up(body.get("call_up")),
    }


# --- the services ------------------------------------------------------------------------------------


def plans_for(user):
    """The current plans the user may see, by community, hazard and level."""
    return Plan.objects.restrict(user, Action.VIEW_EMERGENCIES).current().select_related("community")


def get_plan_for(user, pk: int, action: Action = Action.VIEW_EMERGENCIES) -> Plan:
    """One version of a plan in the user's scope; the same :class:`NotFound` for missing and not theirs."""
    plan = Plan.objects.restrict(user, action).select_related("community", "created_by").filter(pk=pk).first()
    if plan is None:
        raise NotFound(_("No such plan."))
    return plan


def versions_of(plan: Plan):
    return Plan.objects.filter(
        community_id=plan.community_id, hazard=plan.hazard, level=plan.level
    ).select_related("created_by")


def current_plan(community: Region, hazard: str, level: int) -> Plan | None:
    """The version in force of ``community``'s plan for ``hazard`` at ``level`` (None: none installed)."""
    return Plan.objects.filter(community=community, hazard=hazard, level=level, is_current=True).first()


def may_edit_plans(user) -> bool:
    return can(user, Action.MANAGE_EMERGENCIES)


@transaction.atomic
def install_plans(community: Region, *, actor: Actor | str = "cli") -> int:
    """Version 1 of every hazard × level plan ``community`` lacks, from the shipped templates; plans it
    has are left as they are (run it again: nothing changes). Returns how many were made."""
    have = set(Plan.objects.filter(community=community).values_list("hazard", "level").distinct())
    now = clock.now()
    made = []
    for hazard in HazardKind.values:
        for level in Level.values:
            if (hazard, level) in have:
                continue
            title_zh, title_en = plan_titles(hazard, level)
            made.append(
                Plan(
                    community=community,
                    hazard=hazard,
                    level=level,
                    version=1,
                    is_current=True,
                    title_zh=title_zh,
                    title_en=title_en,
                    body=validate_body(build_body(hazard, level)),
                    change_note="",
                    created_at=now,
                )
            )
    if made:
        Plan.objects.bulk_create(made)
        record(
            actor=actor,
            events=[Event(AuditAction.PLAN_INSTALL, "region", community.pk, details={"plans": len(made)})],
        )
    return len(made)


@transaction.atomic(durable=True)
def new_version(
    *, actor: Actor, plan: Plan, body: Any, change_note: str, title_zh: str = "", title_en: str = ""
) -> Plan:
    """Save ``body`` as the next version of ``plan`` (which must be the current one); the old version
    stays as it was and is no longer current."""
    if not may_edit_plans(actor):
        raise PermissionDenied(_("Your role cannot change emergency plans."))
    note = _text(change_note, "change_note", most=NOTE_MAX)
    title_zh = _text(title_zh or plan.title_zh, "title_zh", most=TITLE_MAX)
    title_en = _text(title_en or plan.title_en, "title_en", most=TITLE_MAX, required=False)
    checked = validate_body(body)
    # Lock the version in force: two editors saving at once make two versions one after the other, or
    # the second is told that the plan changed meanwhile.
    current = (
        Plan.objects.restrict(actor, Action.MANAGE_EMERGENCIES)
        .select_for_update()
        .filter(community_id=plan.community_id, hazard=plan.hazard, level=plan.level, is_current=True)
        .first()
    )
    if current is None:
        raise NotFound(_("No such plan."))
    if current.pk != plan.pk:
        raise Conflict(_("This plan has a newer version meanwhile: open it and make your change there."))
    current.is_current = False
    current.save(update_fields=["is_current"])
    made = Plan.objects.create(
        community_id=current.community_id,
        hazard=current.hazard,
        level=current.level,
        version=current.version + 1,
        is_current=True,
        title_zh=title_zh,
        title_en=title_en,
        body=checked,
        change_note=note,
        created_at=clock.now(),
        created_by=actor,
    )
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.PLAN_VERSION,
                "plan",
                made.pk,
                details={"replaces": current.pk, "version": made.version, "level": made.level},
            )
        ],
    )
    return made
