"""Care profiles, their named carers and the consents that cover health data.

Shares: every person aged 60+ living alone; chronic illness for 20 % of over-60s; disability
for 2.5 % of everyone (more often the old); dementia for 5 % of over-80s; a few pregnancies;
children under 14 raised by one parent or by grandparents; empty-nest couples over 70; 1 % of
households on low-income support. Each profile has one or two carers.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field

from banyan.core.choices import Role
from banyan.people.choices import CareKind, CareLevel, CarerKind, ConsentGivenBy, ConsentScope, Relation, Sex
from banyan.sim.seed.data import (
    CHRONIC_CONDITIONS,
    CHRONIC_NEEDS,
    DEMENTIA_STAGES,
    DISABILITY_KINDS,
    DISABILITY_NEEDS,
    ELDERLY_NEEDS,
    EMPTY_NEST_NEEDS,
    FAMILY_CALLS,
    LOW_INCOME_SUBSIDIES,
    MINOR_NEEDS,
    MOBILITY_AIDS,
)
from banyan.sim.seed.plan import AccountPlan, CareProfilePlan, CarerPlan, ConsentPlan, HouseholdPlan
from banyan.sim.seed.population import COUPLE, SINGLE, Family, Person, weighted_sample

HEALTH_KINDS = frozenset(
    {CareKind.CHRONIC_ILLNESS, CareKind.DISABILITY, CareKind.DEMENTIA, CareKind.PREGNANT}
)
MONITORED_KINDS = frozenset({CareKind.ELDERLY_ALONE, CareKind.DEMENTIA})
ELDERLY_KINDS = frozenset({CareKind.ELDERLY_ALONE, CareKind.EMPTY_NEST, CareKind.DEMENTIA})
VOLUNTEER_PROFILES = 8
RELATION_ORDER = {
    Relation.SPOUSE: 0,
    Relation.HEAD: 1,
    Relation.CHILD: 2,
    Relation.PARENT: 3,
    Relation.OTHER_RELATIVE: 4,
}


@dataclass
class _Draft:
    key: int
    kind: str
    level: int
    interval: int
    details: dict
    since_days: int
    carers: list[CarerPlan] = field(default_factory=list)


def plan_care(
    members: list[tuple[Person, HouseholdPlan, Family]],
    accounts: list[AccountPlan],
    rng: random.Random,
    today: dt.date,
    numbers,
) -> tuple[list[CareProfilePlan], list[ConsentPlan]]:
    drafts: list[_Draft] = []
    everyone = list(range(len(members)))
    person = [m[0] for m in members]
    elders = [k for k in everyone if person[k].age >= 60]

    def add(key: int, kind: str, level: int, interval: int, details: dict, since_days: int) -> None:
        drafts.append(_Draft(key, kind, level, interval, details, since_days))

    for key in elders:
        if members[key][2].size == 1:
            age = person[key].age
            level = CareLevel.HIGH if age >= 80 else (CareLevel.MEDIUM if age >= 70 else CareLevel.LOW)
            needs = ["每日问候", *rng.sample(ELDERLY_NEEDS[1:], rng.randint(1, 3))]
            details = {"needs": needs, "family_contact": FAMILY_CALLS[rng.choice((Sex.MALE, Sex.FEMALE))]}
            add(
                key, CareKind.ELDERLY_ALONE, level, {3: 3, 2: 7, 1: 14}[level], details, rng.randint(30, 3000)
            )

    for key in everyone:
        family = members[key][2]
        if (
            family.is_empty_nest
            and family.members[0] is person[key]
            and max(p.age for p in family.core) >= 70
        ):
            details = {"needs": rng.sample(EMPTY_NEST_NEEDS, 2)}
            add(key, CareKind.EMPTY_NEST, CareLevel.LOW, 14, details, rng.randint(30, 3000))

    chronic_weights = [1 + (person[k].age - 60) / 10 for k in elders]
    for key in weighted_sample(elders, chronic_weights, round(0.2 * len(elders)), rng):
        picks = _pick_conditions(rng, 2 if rng.random() < 0.3 else 1)
        details = {
            "conditions": [name for name, _m, _w in picks],
            "medications": [m for _n, medicines, _w in picks for m in medicines[:1]],
            "needs": rng.sample(CHRONIC_NEEDS, 2),
        }
        level = CareLevel.MEDIUM if len(picks) > 1 or person[key].age >= 75 else CareLevel.LOW
        add(
            key,
            CareKind.CHRONIC_ILLNESS,
            level,
            14 if level == CareLevel.MEDIUM else 30,
            details,
            rng.randint(60, 5000),
        )

    disability_weights = [_disability_weight(person[k].age) for k in everyone]
    for key in weighted_sample(everyone, disability_weights, round(0.025 * len(everyone)), rng):
        grade = rng.choice((1, 2, 2, 3, 3, 4, 4))
        details = {
            "disability": rng.choices([d for d, _w in DISABILITY_KINDS], [w for _d, w in DISABILITY_KINDS])[
                0
            ],
            "grade": grade,
            "mobility_aid": rng.choice(MOBILITY_AIDS),
            "needs": rng.sample(DISABILITY_NEEDS, 2),
        }
        level = CareLevel.HIGH if grade == 1 else (CareLevel.MEDIUM if grade == 2 else CareLevel.LOW)
        add(key, CareKind.DISABILITY, level, {3: 3, 2: 7, 1: 30}[level], details, rng.randint(60, 5000))

    oldest = [k for k in elders if person[k].age >= 80]
    for key in rng.sample(oldest, min(len(oldest), max(1, round(0.05 * len(oldest))))):
        details = {
            "conditions": ["阿尔茨海默病"],
            "stage": rng.choice(DEMENTIA_STAGES),
            "medications": ["盐酸多奈哌齐片"],
            "needs": ["防走失定位手环", "每日探视", "陪同就医"],
        }
        add(key, CareKind.DEMENTIA, CareLevel.HIGH, 3, details, rng.randint(60, 1500))

    expecting = [
        k
        for k in everyone
        if person[k].sex == Sex.FEMALE
        and 22 <= person[k].age <= 38
        and members[k][2].kind == COUPLE
        and person[k] in members[k][2].core
    ]
    for key in rng.sample(expecting, min(len(expecting), max(1, round(0.004 * len(everyone))))):
        weeks = rng.randint(6, 38)
        due = today + dt.timedelta(weeks=40 - weeks)
        details = {"weeks": weeks, "due_date": due.isoformat(), "needs": ["孕期随访", "产检提醒"]}
        add(key, CareKind.PREGNANT, CareLevel.MEDIUM, 30, details, weeks * 7 - 30 if weeks > 5 else 1)

    minors = [
        k
        for k in everyone
        if person[k].age < 14
        and (
            (members[k][2].kind == SINGLE and person[k].relation == Relation.CHILD)
            or (person[k] in members[k][2].grandchildren)
        )
    ]
    for key in minors[: max(1, round(0.01 * len(everyone)))]:
        guardian = "祖父母" if person[key].relation == Relation.GRANDCHILD else "母亲或父亲"
        details = {"guardian": guardian, "needs": rng.sample(MINOR_NEEDS, 2)}
        add(key, CareKind.MINOR_UNDER_14, CareLevel.LOW, 30, details, rng.randint(30, 1500))

    heads = [k for k in everyone if person[k].relation == Relation.HEAD]
    head_weights = [3.0 if members[k][2].kind == SINGLE else 1.0 for k in heads]
    for key in weighted_sample(heads, head_weights, round(0.01 * len(heads)), rng):
        details = {"subsidy": rng.choice(LOW_INCOME_SUBSIDIES), "needs": ["节日慰问", "临时救助"]}
        add(key, CareKind.LOW_INCOME, CareLevel.LOW, 30, details, rng.randint(60, 2000))

    drafts.sort(key=lambda d: (d.key, d.kind))
    _assign_carers(drafts, members, accounts, rng, numbers)
    return _finish(drafts, members, accounts, rng, today)


def _pick_conditions(rng: random.Random, count: int) -> list:
    picks: list = []
    while len(picks) < count:
        pick = rng.choices(CHRONIC_CONDITIONS, [w for _n, _m, w in CHRONIC_CONDITIONS])[0]
        if pick not in picks:
            picks.append(pick)
    return picks


def _disability_weight(age: int) -> float:
    if age < 20:
        return 0.3
    if age < 60:
        return 1.0
    if age < 80:
        return 2.5
    return 4.0


def _assign_carers(drafts, members, accounts: list[AccountPlan], rng: random.Random, numbers) -> None:
    workers = {a.region_code: a for a in accounts if a.role == Role.GRID_WORKER}
    volunteer = next(a for a in accounts if a.role == Role.VOLUNTEER)
    neighbours: dict[str, list[int]] = defaultdict(list)
    volunteers: dict[str, list[int]] = defaultdict(list)
    for key, (person, household, _family) in enumerate(members):
        if 25 <= person.age <= 70 and person.phone:
            neighbours[household.building_code].append(key)
        if "volunteer" in person.tags and person.phone:
            volunteers[household.grid_code].append(key)
    key_of = {id(m[0]): k for k, m in enumerate(members)}

    for draft in drafts:
        person, household, family = members[draft.key]
        relatives = sorted(
            (p for p in family.members if p is not person and 18 <= p.age <= 80),
            key=lambda p: (RELATION_ORDER.get(p.relation, 9), -p.age),
        )
        if relatives:
            relative = relatives[0]
            draft.carers.append(
                CarerPlan(
                    CarerKind.FAMILY,
                    relative.name,
                    relative.phone or numbers.phone(),
                    True,
                    resident_key=key_of[id(relative)],
                )
            )
        else:  # a son or daughter who lives elsewhere
            sex = (
                Sex.MALE
                if draft.details.get("family_contact") == "儿子"
                else rng.choice((Sex.MALE, Sex.FEMALE))
            )
            name = person.surname + _outside_given_name(rng, sex)
            draft.carers.append(CarerPlan(CarerKind.FAMILY, name, numbers.phone(), True))
        if draft.level < CareLevel.HIGH and rng.random() >= 0.6:
            continue
        roll = rng.random()
        worker = workers[household.grid_code]
        nearby = [k for k in neighbours[household.building_code] if members[k][1] is not household]
        helpers = [k for k in volunteers[household.grid_code] if members[k][1] is not household]
        if roll < 0.35 and nearby:
            neighbour = members[rng.choice(nearby)][0]
            draft.carers.append(
                CarerPlan(
                    CarerKind.NEIGHBOUR,
                    neighbour.name,
                    neighbour.phone,
                    False,
                    resident_key=key_of[id(neighbour)],
                )
            )
        elif roll < 0.55 and helpers:
            helper = members[rng.choice(helpers)][0]
            draft.carers.append(
                CarerPlan(
                    CarerKind.VOLUNTEER, helper.name, helper.phone, False, resident_key=key_of[id(helper)]
                )
            )
        else:
            draft.carers.append(
                CarerPlan(
                    CarerKind.GRID_WORKER,
                    worker.last_name + worker.first_name,
                    worker.phone,
                    False,
                    username=worker.username,
                )
            )

    # The demo volunteer account cares for a handful of people, in the first grid when it can.
    first_grid = min(workers)
    order = {CareKind.ELDERLY_ALONE: 0, CareKind.DEMENTIA: 1, CareKind.DISABILITY: 2}
    candidates = sorted(
        drafts,
        key=lambda d: (members[d.key][1].grid_code != first_grid, order.get(d.kind, 3), d.key),
    )
    for draft in candidates[:VOLUNTEER_PROFILES]:
        carer = CarerPlan(
            CarerKind.VOLUNTEER,
            volunteer.last_name + volunteer.first_name,
            volunteer.phone,
            False,
            username=volunteer.username,
        )
        draft.carers[1:] = [carer]


_OUTSIDE_NAMES = {
    Sex.MALE: ("建国", "伟", "志强", "海峰", "晓东", "国平", "振华", "俊"),
    Sex.FEMALE: ("丽华", "晓燕", "美玲", "秀英", "红梅", "静", "婷", "雪芳"),
}


def _outside_given_name(rng: random.Random, sex: str) -> str:
    return rng.choice(_OUTSIDE_NAMES[sex])


def _finish(drafts, members, accounts, rng: random.Random, today: dt.date):
    workers = {a.region_code: a.username for a in accounts if a.role == Role.GRID_WORKER}
    profiles = []
    consents = []
    scopes: dict[int, set[str]] = defaultdict(set)
    has_dementia = {d.key for d in drafts if d.kind == CareKind.DEMENTIA}
    for draft in drafts:
        person, household, _family = members[draft.key]
        earliest = person.birth_date
        if draft.kind in ELDERLY_KINDS:
            earliest = _sixtieth_birthday(person.birth_date)
        since = max(earliest, today - dt.timedelta(days=draft.since_days))
        profiles.append(
            CareProfilePlan(
                draft.key,
                draft.kind,
                int(draft.level),
                draft.details,
                draft.interval,
                since,
                tuple(draft.carers),
            )
        )
        wanted = set()
        if draft.kind in HEALTH_KINDS:
            wanted.add(ConsentScope.HEALTH_DATA)
        if draft.kind in MONITORED_KINDS:
            wanted.add(ConsentScope.CARE_MONITORING)
        for scope in sorted(wanted - scopes[draft.key]):
            scopes[draft.key].add(scope)
            guardian = person.age < 18 or draft.key in has_dementia
            consents.append(
                ConsentPlan(
                    draft.key,
                    scope,
                    ConsentGivenBy.GUARDIAN if guardian else ConsentGivenBy.SELF,
                    rng.randint(1, max(1, min(700, (today - since).days))),
                    workers[household.grid_code],
                )
            )
    return profiles, consents


def _sixtieth_birthday(birth: dt.date) -> dt.date:
    try:
        return birth.replace(year=birth.year + 60)
    except ValueError:
        return birth.replace(year=birth.year + 60, day=28)
