"""Care plan templates by care kind, as data: what a new plan starts with (staff may change it after)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from banyan.care.choices import Channel, CheckerKind, Escalation
from banyan.people.choices import CareKind


@dataclass(frozen=True)
class Template:
    checker_kind: str
    checkin_time: dt.time
    visit_interval_days: int
    channels: tuple[str, ...]
    grace_minutes: int
    escalation: str
    daily: bool = True  # a daily check-in, or visits only


TEMPLATES: dict[str, Template] = {
    # Alone at home: a tap in the morning, an SMS or a call if not, a grid worker visits weekly.
    CareKind.ELDERLY_ALONE: Template(
        CheckerKind.GRID_WORKER,
        dt.time(9, 0),
        7,
        (Channel.APP, Channel.SMS, Channel.VOICE, Channel.CARER),
        60,
        Escalation.NEXT_CHANNEL,
    ),
    # Dementia: the family carer checks in; a call if not; visits often; little grace.
    CareKind.DEMENTIA: Template(
        CheckerKind.FAMILY,
        dt.time(9, 0),
        3,
        (Channel.CARER, Channel.VOICE, Channel.SMS),
        30,
        Escalation.WELLNESS_VISIT,
    ),
    # Disability: a tap or a call (not everyone can read an SMS), a volunteer visits weekly.
    CareKind.DISABILITY: Template(
        CheckerKind.VOLUNTEER,
        dt.time(9, 30),
        7,
        (Channel.APP, Channel.VOICE, Channel.CARER),
        60,
        Escalation.NEXT_CHANNEL,
    ),
    # Chronic illness: later in the morning, more grace, a visit every two weeks.
    CareKind.CHRONIC_ILLNESS: Template(
        CheckerKind.GRID_WORKER,
        dt.time(10, 0),
        14,
        (Channel.APP, Channel.SMS, Channel.VOICE),
        120,
        Escalation.NEXT_CHANNEL,
    ),
    # A child under 14 (留守儿童 and the like): their family answers for them; the grid worker visits weekly.
    # No daily check-in.
    CareKind.MINOR_UNDER_14: Template(
        CheckerKind.GRID_WORKER,
        dt.time(9, 0),
        7,
        (Channel.CARER,),
        60,
        Escalation.WELLNESS_VISIT,
        daily=False,
    ),
    # Pregnancy: a visit every two weeks, no daily check-in.
    CareKind.PREGNANT: Template(
        CheckerKind.GRID_WORKER,
        dt.time(10, 0),
        14,
        (Channel.APP, Channel.SMS),
        120,
        Escalation.NEXT_CHANNEL,
        daily=False,
    ),
    # Low income: a monthly visit, no daily check-in.
    CareKind.LOW_INCOME: Template(
        CheckerKind.GRID_WORKER,
        dt.time(10, 0),
        30,
        (Channel.APP, Channel.SMS),
        120,
        Escalation.NEXT_CHANNEL,
        daily=False,
    ),
}
# Other care kinds (an elderly empty-nest couple) start from the plan for elderly people living alone.
DEFAULT_KIND = CareKind.ELDERLY_ALONE

# Which template comes first when a resident has several care profiles: those asked every day first.
PRECEDENCE = [
    CareKind.DEMENTIA,
    CareKind.DISABILITY,
    CareKind.ELDERLY_ALONE,
    CareKind.EMPTY_NEST,
    CareKind.CHRONIC_ILLNESS,
    CareKind.MINOR_UNDER_14,
    CareKind.PREGNANT,
    CareKind.LOW_INCOME,
]


def template_for(kind: str) -> Template:
    return TEMPLATES.get(kind, TEMPLATES[DEFAULT_KIND])


def kind_for(kinds: list[str]) -> str:
    """The template kind for a resident with care profiles of ``kinds``."""
    for kind in PRECEDENCE:
        if kind in kinds:
            return kind
    return kinds[0] if kinds else DEFAULT_KIND
