"""Care plans and check-ins. Every write is audited; a resident named by a request is looked up in the
caller's scope."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.care.choices import Channel, CheckerKind, Escalation, Outcome
from banyan.care.models import CarePlan, CheckIn, CheckInRequest
from banyan.care.plans import kind_for, template_for
from banyan.core import clock
from banyan.core.access import Action, can
from banyan.core.choices import Role
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.notify.carers import tell_carers
from banyan.people import carers
from banyan.people.choices import CareKind, ProxyScope
from banyan.people.models import Actor, CareProfile, Carer, Resident, may_see_care
from banyan.response.models import Source
from banyan.response.services import open_incident

NEED_HELP_CATEGORY = "wellness_check"
NOTE_MAX = 500
# Channels a staff member or carer may record for a resident (the app tap is the resident's own).
STAFF_CHANNELS = (Channel.STAFF, Channel.CARER, Channel.SMS, Channel.VOICE)


def may_record_checkins(user) -> bool:
    """Residents for themselves; staff and volunteers who may see care, for residents in their scope."""
    return can(user, Action.VIEW_PEOPLE) and may_see_care(user)


def get_resident_for(user: Actor, pk) -> Resident:
    """A resident in ``user``'s scope, for care: 404 outside it, and for roles that may not see care."""
    if not may_see_care(user):
        raise NotFound(_("Resident not found."))
    resident = (
        Resident.objects.restrict(user, Action.VIEW_PEOPLE)
        .select_related("household__unit__building", "household__grid")
        .filter(pk=pk)
        .first()
    )
    if resident is None:
        raise NotFound(_("Resident not found."))
    return resident


def get_resident_for_checkin(user: Actor, pk) -> Resident:
    """A resident ``user`` may check in for: one in their scope, or one they look after with a consent
    naming check_in (a family carer signing in as a resident)."""
    try:
        return get_resident_for(user, pk)
    except NotFound:
        return carers.get_proxied_resident(user, pk, ProxyScope.CHECK_IN)


def _choice(value, choices, field: str) -> str:
    if value not in choices.values:
        raise InvalidInput(
            _("%(field)s is one of: %(values)s.") % {"field": field, "values": ", ".join(choices.values)},
            field=field,
        )
    return value


# --- check-ins --------------------------------------------------------------------------------------


def _proxy_of(actor: Actor, resident: Resident) -> Carer | None:
    return (
        Carer.objects.filter(care_profile__resident=resident, care_profile__is_active=True, user_id=actor.pk)
        .order_by("-is_primary", "id")
        .first()
    )


def record_checkin(
    *, actor: Actor, resident: Resident, outcome: str, channel: str, note: str = ""
) -> CheckIn:
    """Record a check-in by ``actor``: a resident for themselves (channel app), staff or a carer for a
    resident in their scope (any other channel). "need_help" opens a wellness-check incident at once."""
    if not may_record_checkins(actor):
        raise PermissionDenied(_("Your role cannot record check-ins."))
    _choice(outcome, Outcome, "outcome")
    _choice(channel, Channel, "channel")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise InvalidInput(_("The note is longer than %(max)d characters.") % {"max": NOTE_MAX}, field="note")
    if "\x00" in note:
        raise InvalidInput(_("The note contains a character that cannot be stored."), field="note")
    proxy = None
    if actor.role == Role.RESIDENT and actor.resident_id != resident.pk:
        # A family carer acting for the one they look after, within the consent's check_in scope.
        proxy = carers.proxy_carer(actor, resident, ProxyScope.CHECK_IN)
        if proxy is None:
            raise PermissionDenied(_("You may check in only for yourself."))
        if channel != Channel.CARER:
            raise InvalidInput(_("A check-in for someone you look after has channel carer."), field="channel")
    elif actor.role == Role.RESIDENT:
        if channel != Channel.APP:
            raise InvalidInput(_("Your own check-in comes through the app: channel app."), field="channel")
    elif channel == Channel.APP:
        raise InvalidInput(
            _("The app tap is the resident's own; record yours with channel staff or carer."), field="channel"
        )
    if actor.role != Role.RESIDENT:
        proxy = _proxy_of(actor, resident)
    with transaction.atomic():
        checkin = CheckIn.objects.create(
            resident=resident,
            at=clock.now(),
            channel=channel,
            outcome=outcome,
            by=actor,
            for_proxy=proxy,
            note=note,
        )
        # Today's check-in messages still waiting are answered by it, whatever the channel it came on.
        CheckInRequest.objects.filter(
            resident=resident, day=timezone.localtime(checkin.at).date(), answered_at__isnull=True
        ).update(answered_at=checkin.at, checkin=checkin)
        details: dict = {"outcome": outcome, "channel": channel}
        if proxy is not None:
            details["carer"] = proxy.pk
        if outcome == Outcome.NEED_HELP:
            checkin.incident = open_incident(
                actor=actor if can(actor, Action.REPORT_INCIDENTS) else None,
                category=NEED_HELP_CATEGORY,
                source=Source.REPORT if actor.role == Role.RESIDENT else Source.STAFF,
                description=_("Check-in: needs help (%(channel)s).") % {"channel": Channel(channel).label},
                unit=resident.household.unit,
            )
            checkin.save(update_fields=["incident"])
            details["incident"] = checkin.incident.pk
            tell_carers(
                resident,
                "incident.opened",
                params={"number": str(checkin.incident.pk)},
                reference=("incident", checkin.incident.pk),
                skip=actor,
            )
        record(
            actor=actor,
            events=[Event(AuditAction.CHECK_IN_RECORD, "resident", resident.pk, details=details)],
        )
    return checkin


def checkins_for(user: Actor, resident: Resident | None = None):
    checkins = CheckIn.objects.restrict(user).select_related("by")
    if resident is not None:
        checkins = checkins.filter(resident=resident)
    return checkins


def last_checkin_today(resident: Resident) -> CheckIn | None:
    start = _day_start(clock.now())
    return CheckIn.objects.filter(resident=resident, at__gte=start).order_by("-at").first()


def _day_start(moment: dt.datetime) -> dt.datetime:
    local = timezone.localtime(moment)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


# --- plans ------------------------------------------------------------------------------------------


def may_change_plans(actor: Actor) -> bool:
    return can(actor, Action.CHANGE_PEOPLE) and may_see_care(actor)


def get_plan_for(user: Actor, pk, action: Action = Action.VIEW_PEOPLE) -> CarePlan:
    plan = CarePlan.objects.restrict(user, action).select_related("resident").filter(pk=pk).first()
    if plan is None:
        raise NotFound(_("Care plan not found."))
    return plan


def _active_kinds(resident: Resident) -> list[str]:
    return list(
        CareProfile.objects.filter(resident=resident, is_active=True)
        .order_by("-level", "kind")
        .values_list("kind", flat=True)
    )


@transaction.atomic
def create_plan(*, actor: Actor, resident: Resident, care_kind: str | None = None) -> CarePlan:
    """Make ``resident``'s plan from the template of their care kind (or ``care_kind``)."""
    if not may_change_plans(actor):
        raise PermissionDenied(_("Your role cannot make care plans."))
    if not Resident.objects.restrict(actor, Action.CHANGE_PEOPLE).filter(pk=resident.pk).exists():
        raise NotFound(_("Resident not found."))
    kinds = _active_kinds(resident)
    if not kinds:
        raise InvalidInput(_("This resident has no active care profile."), field="resident")
    if care_kind is not None:
        _choice(care_kind, CareKind, "care_kind")
    kind = care_kind or kind_for(kinds)
    if CarePlan.objects.filter(resident=resident).exists():
        raise InvalidInput(_("This resident already has a care plan."), field="resident")
    template = template_for(kind)
    carer = (
        Carer.objects.filter(care_profile__resident=resident, care_profile__is_active=True)
        .order_by("-is_primary", "id")
        .first()
    )
    checker_user = None
    if template.checker_kind == CheckerKind.GRID_WORKER:
        checker_user = None  # named by the director; the grid's workers check until then
    elif carer is not None and carer.user_id:
        checker_user = carer.user
    now = clock.now()
    plan = CarePlan.objects.create(
        resident=resident,
        care_kind=kind,
        checker_kind=template.checker_kind,
        checker_user=checker_user,
        checker_carer=carer if template.checker_kind == CheckerKind.FAMILY else None,
        daily_checkin=template.daily,
        checkin_time=template.checkin_time,
        visit_interval_days=template.visit_interval_days,
        channels=list(template.channels),
        grace_minutes=template.grace_minutes,
        escalation=template.escalation,
        created_at=now,
        updated_at=now,
        created_by=actor,
    )
    record(
        actor=actor,
        events=[Event(AuditAction.CARE_PLAN_CREATE, "resident", resident.pk, details={"kind": kind})],
    )
    return plan


def create_missing_plans(*, actor: Actor) -> int:
    """Make the plan of every resident in ``actor``'s scope with an active care profile and no plan,
    each from the template of their care kind (as one click per resident would); returns how many."""
    if not may_change_plans(actor):
        raise PermissionDenied(_("Your role cannot make care plans."))
    residents = (
        Resident.objects.restrict(actor, Action.CHANGE_PEOPLE)
        .filter(care_profiles__is_active=True, care_plan__isnull=True)
        .distinct()
        .order_by("id")
    )
    made = 0
    for resident in residents:
        create_plan(actor=actor, resident=resident)
        made += 1
    return made


PLAN_FIELDS = (
    "daily_checkin",
    "checkin_time",
    "visit_interval_days",
    "channels",
    "grace_minutes",
    "escalation",
    "is_active",
)


@transaction.atomic
def update_plan(*, actor: Actor, plan: CarePlan, data: dict) -> CarePlan:
    """Change a plan's timing, channels, escalation or whether it is active."""
    if not may_change_plans(actor):
        raise PermissionDenied(_("Your role cannot change care plans."))
    get_plan_for(actor, plan.pk, Action.CHANGE_PEOPLE)
    changed = []
    for name in PLAN_FIELDS:
        if name not in data or data[name] is None:
            continue
        value = data[name]
        if name == "channels":
            if not value or len(set(value)) != len(value):
                raise InvalidInput(_("Name each channel once, at least one."), field="channels")
            for channel in value:
                _choice(channel, Channel, "channels")
        elif name == "escalation":
            _choice(value, Escalation, "escalation")
        elif name in ("visit_interval_days", "grace_minutes") and not 1 <= value <= 1440:
            raise InvalidInput(_("A whole number from 1 to 1440."), field=name)
        if getattr(plan, name) != value:
            setattr(plan, name, value)
            changed.append(name)
    if changed:
        plan.updated_at = clock.now()
        plan.save(update_fields=[*changed, "updated_at"])
        record(
            actor=actor,
            events=[
                Event(
                    AuditAction.CARE_PLAN_UPDATE, "resident", plan.resident_id, details={"changed": changed}
                )
            ],
        )
    return plan


def due_at(plan: CarePlan, now: dt.datetime) -> dt.datetime:
    """Today's check-in time of ``plan`` (in the site's time zone)."""
    day = _day_start(now)
    return day.replace(hour=plan.checkin_time.hour, minute=plan.checkin_time.minute)


@dataclass
class Attention:
    resident: Resident
    kinds: list[str]
    plan: CarePlan | None = None
    due: dt.datetime | None = None
    last: CheckIn | None = None

    @property
    def kind_labels(self) -> list[str]:
        return [str(CareKind(kind).label) for kind in self.kinds if kind in CareKind.values]

    @property
    def template_kind(self) -> str:
        return kind_for(self.kinds)

    @property
    def template_label(self) -> str:
        """The care kind whose template a new plan would start from."""
        kind = kind_for(self.kinds)
        return str(CareKind(kind).label) if kind in CareKind.values else kind


def plans_needing_attention(
    user: Actor, *, with_last: bool = True
) -> tuple[list[Attention], list[Attention]]:
    """Residents in ``user``'s scope with an active care profile and no plan, and active plans whose
    check-in today is overdue past its grace period (``with_last``: with each one's last check-in)."""
    if not may_see_care(user):
        return [], []
    residents = Resident.objects.restrict(user).filter(care_profiles__is_active=True).distinct()
    kinds: dict[int, list[str]] = {}
    for resident_id, kind in CareProfile.objects.filter(resident__in=residents, is_active=True).values_list(
        "resident_id", "kind"
    ):
        kinds.setdefault(resident_id, []).append(kind)
    missing = [
        Attention(resident, kinds.get(resident.pk, []))
        for resident in residents.filter(care_plan__isnull=True).order_by("household__grid__code", "id")
    ]
    now = clock.now()
    start = _day_start(now)
    overdue = []
    plans = (
        CarePlan.objects.restrict(user).filter(is_active=True, daily_checkin=True).select_related("resident")
    )
    today = CheckIn.objects.filter(resident__care_plan__in=plans, at__gte=start)
    answered = set(today.values_list("resident_id", flat=True))
    for plan in plans.order_by("resident__household__grid__code", "resident_id"):
        due = due_at(plan, now)
        if plan.resident_id in answered or now <= due + dt.timedelta(minutes=plan.grace_minutes):
            continue
        last = (
            CheckIn.objects.filter(resident_id=plan.resident_id).order_by("-at").first()
            if with_last
            else None
        )
        overdue.append(Attention(plan.resident, kinds.get(plan.resident_id, []), plan, due, last))
    return missing, overdue
