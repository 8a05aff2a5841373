"""People and the households they live in.

Ages and sexes are allotted to the census shares exactly (largest remainder), then people are
assembled into households: elders living alone, couples, children with parents of a fitting
age, unmarried adults with their parents, widowed elders with a child's family, three
generations under one roof, flat-sharing tenants. Everyone drawn lives in exactly one household.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from banyan.people.choices import Relation, ResidenceStatus, Sex
from banyan.sim.seed.data import AGE_BANDS, LIVING_ALONE_SHARE, marriage_rate

COUPLE = "couple"
SINGLE = "single"
FLATMATES = "flatmates"


@dataclass(eq=False)
class Person:
    age: int
    sex: str
    birth_date: dt.date
    surname: str = ""
    given_name: str = ""
    relation: str = ""
    residence_status: str = ResidenceStatus.REGISTERED_LIVING_HERE
    id_number: str = ""
    phone: str = ""
    registered_address: str = ""
    tags: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.surname + self.given_name


@dataclass(eq=False)
class Family:
    """People who will share a household; ``core`` is a couple, one person or flatmates."""

    kind: str
    core: list[Person]
    child_capacity: int = 2
    children: list[Person] = field(default_factory=list)
    parents: list[Person] = field(default_factory=list)
    parents_side: int = 0
    grandchildren: list[Person] = field(default_factory=list)
    is_inflow: bool = False
    # Filled by ``arrange``: the members in order, head first, each with a relation.
    members: list[Person] = field(default_factory=list)

    @property
    def everyone(self) -> list[Person]:
        return self.core + self.parents + self.children + self.grandchildren

    @property
    def size(self) -> int:
        return len(self.core) + len(self.parents) + len(self.children) + len(self.grandchildren)

    @property
    def is_empty_nest(self) -> bool:
        return self.kind == COUPLE and self.size == 2 and all(p.age >= 60 for p in self.core)


class AgeIndex:
    """Families (or people) filed by an age, taken out in a caller-given order of ages."""

    def __init__(self) -> None:
        self._buckets: dict[int, list] = defaultdict(list)

    def add(self, age: int, item) -> None:
        self._buckets[age].append(item)

    def drain(self, accept: Callable[[object], bool]) -> list:
        """Everything still filed that ``accept`` takes, youngest first; the index is emptied."""
        out = []
        for age in sorted(self._buckets):
            out.extend(item for item in self._buckets[age] if accept(item))
        self._buckets.clear()
        return out

    def take(self, ages: Iterable[int], accept: Callable[[object], bool] | None = None):
        for age in ages:
            bucket = self._buckets.get(age)
            while bucket:
                item = bucket.pop()
                if accept is None or accept(item):
                    return item
        return None


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def birth_date_for(age: int, today: dt.date, rng: random.Random) -> dt.date:
    """A birth date that makes someone exactly ``age`` today."""
    latest = years_before(today, age)
    earliest = years_before(today, age + 1) + dt.timedelta(days=1)
    return earliest + dt.timedelta(days=rng.randint(0, (latest - earliest).days))


def allot(total: int, weights: list[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder, exact sum)."""
    whole = sum(weights)
    quotas = [total * w / whole for w in weights]
    counts = [math.floor(q) for q in quotas]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - counts[i]), i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def draw_people(total: int, today: dt.date, rng: random.Random) -> list[Person]:
    people = []
    counts = allot(total, [band.percent for band in AGE_BANDS])
    for band, count in zip(AGE_BANDS, counts, strict=True):
        males = round(count * band.male_share)
        for i in range(count):
            age = rng.randint(band.low, band.high)
            sex = Sex.MALE if i < males else Sex.FEMALE
            people.append(Person(age=age, sex=sex, birth_date=birth_date_for(age, today, rng)))
    rng.shuffle(people)
    return people


def weighted_sample(items: list, weights: list[float], k: int, rng: random.Random) -> list:
    """``k`` items without replacement, each chosen with probability ∝ weight (Efraimidis–Spirakis)."""
    keyed = sorted(((rng.random() ** (1 / w), i) for i, w in enumerate(weights)), reverse=True)
    return [items[i] for _, i in keyed[:k]]


def _near(centre: int, low: int, high: int, rng: random.Random) -> list[int]:
    """Ages from ``low`` to ``high``, nearest to ``centre`` first, with a little shuffle."""
    ages = list(range(low, high + 1))
    return sorted(ages, key=lambda a: abs(a - centre) + rng.random() * 3)


def _pair_couples(adults: list[Person], rng: random.Random) -> tuple[list[Family], list[Person]]:
    wives = AgeIndex()
    men = []
    for person in adults:
        if person.sex == Sex.FEMALE:
            wives.add(person.age, person)
        else:
            men.append(person)
    couples = []
    taken: set[int] = set()
    for man in men:
        if rng.random() >= marriage_rate(man.age):
            continue
        wife = wives.take(_near(man.age - 2, max(20, man.age - 8), man.age + 3, rng))
        if wife is None:
            continue
        taken.update((id(man), id(wife)))
        capacity = 1 if rng.random() < 0.35 else (3 if rng.random() < 0.12 else 2)
        couples.append(Family(COUPLE, [man, wife], child_capacity=capacity))
    unpaired = [p for p in adults if id(p) not in taken]
    return couples, unpaired


def assemble_families(people: list[Person], rng: random.Random) -> list[Family]:
    """Group every person into exactly one family."""
    elders = [p for p in people if p.age >= 60]
    alone_count = round(LIVING_ALONE_SHARE * len(elders))
    weights = [(1.6 if p.sex == Sex.FEMALE else 1.0) * (1.5 if p.age >= 75 else 1.0) for p in elders]
    alone = weighted_sample(elders, weights, alone_count, rng)
    alone_ids = {id(p) for p in alone}
    families = [Family(SINGLE, [p]) for p in alone]

    adults = [p for p in people if p.age >= 20 and id(p) not in alone_ids]
    couples, unpaired = _pair_couples(adults, rng)
    families += couples
    widowed = [p for p in unpaired if p.age >= 60]
    singles = AgeIndex()  # unmarried adults 20–59, by age
    for person in unpaired:
        if person.age < 60:
            singles.add(person.age, person)

    def is_free(person) -> bool:
        return id(person) not in placed

    placed: set[int] = set()
    by_wife_age = AgeIndex()  # couples that can take another child
    for family in couples:
        by_wife_age.add(family.core[1].age, family)
    single_parents = AgeIndex()
    grandparents = AgeIndex()
    for family in couples:
        if family.core[1].age >= 50:
            grandparents.add(family.core[1].age, family)

    def has_room(family) -> bool:
        return len(family.children) < family.child_capacity

    children = sorted((p for p in people if p.age < 20), key=lambda p: -p.age)
    homeless_children = []
    for child in children:
        a = child.age
        home = None
        roll = rng.random()
        if roll < 0.06 and a < 18:
            home = single_parents.take(_near(a + 30, a + 20, a + 45, rng), has_room)
            if home is None:
                parent = singles.take(_near(a + 30, a + 20, a + 45, rng), is_free)
                if parent is not None:
                    placed.add(id(parent))
                    home = Family(SINGLE, [parent], child_capacity=1 if rng.random() < 0.7 else 2)
                    families.append(home)
            if home is not None:
                home.children.append(child)
                if has_room(home):
                    single_parents.add(home.core[0].age, home)
                continue
        elif roll < 0.08 and a < 14:
            home = grandparents.take(_near(a + 55, a + 42, a + 75, rng), lambda f: not f.children)
            if home is not None:
                home.grandchildren.append(child)
                if len(home.grandchildren) < 2:
                    grandparents.add(home.core[1].age, home)
                continue
        home = by_wife_age.take(_near(a + 29, a + 21, a + 42, rng), has_room)
        if home is not None:
            home.children.append(child)
            if has_room(home):
                by_wife_age.add(home.core[1].age, home)
            continue
        homeless_children.append(child)

    # Unmarried adults 20–34: about half live with their parents.
    parents_of_adults = AgeIndex()
    for family in couples:
        if not family.grandchildren:
            parents_of_adults.add(family.core[1].age, family)
    stay_single = []
    for person in singles.drain(is_free):
        if person.age <= 34 and rng.random() < 0.4:
            home = parents_of_adults.take(
                _near(person.age + 28, person.age + 21, person.age + 40, rng), lambda f: len(f.children) < 3
            )
            if home is not None:
                home.children.append(person)
                parents_of_adults.add(home.core[1].age, home)
                continue
        stay_single.append(person)

    # Widowed elders: with an unmarried adult child, else into a child's family.
    lone_adults = AgeIndex()
    for person in stay_single:
        lone_adults.add(person.age, person)
    hosts = AgeIndex()  # couples without parents living in, filed by the younger spouse's age
    for family in couples:
        if family.core[1].age < 60 and not family.grandchildren:
            hosts.add(family.core[0].age, (family, 0))
            hosts.add(family.core[1].age, (family, 1))

    def can_host(entry) -> bool:
        return not entry[0].parents

    rng.shuffle(widowed)
    for elder in widowed:
        ages = _near(elder.age - 30, elder.age - 42, elder.age - 20, rng)
        if rng.random() < 0.45:
            child = lone_adults.take(ages, is_free)
            if child is not None:
                placed.add(id(child))
                families.append(_with_adult_child(elder, child))
                continue
        entry = hosts.take(ages, can_host)
        if entry is not None:
            entry[0].parents.append(elder)
            entry[0].parents_side = entry[1]
            continue
        child = lone_adults.take(ages, is_free)
        if child is not None:
            placed.add(id(child))
            families.append(_with_adult_child(elder, child))
            continue
        families.append(Family(SINGLE, [elder]))  # nobody to live with: alone after all

    # Some elderly couples live with a married child's family (three generations).
    for family in list(couples):
        if not family.is_empty_nest or rng.random() >= 0.25:
            continue
        husband = family.core[0]
        entry = hosts.take(_near(husband.age - 30, husband.age - 42, husband.age - 22, rng), can_host)
        if entry is not None:
            entry[0].parents.extend(family.core)
            entry[0].parents_side = entry[1]
            families.remove(family)

    # Children nobody could take (only in tiny communities): with the nearest-aged couple.
    for child in homeless_children:
        home = next(
            (f for f in families if f.kind == COUPLE and f.core[1].age >= child.age + 18), families[0]
        )
        home.children.append(child)

    # Remaining unmarried adults: young ones often share a rented flat, the rest live alone.
    sharers = {Sex.MALE: [], Sex.FEMALE: []}
    for person in stay_single:
        if not is_free(person):
            continue
        if person.age <= 35 and rng.random() < 0.25:
            sharers[person.sex].append(person)
        else:
            families.append(Family(SINGLE, [person]))
    for group in sharers.values():
        while group:
            size = min(len(group), 2 if rng.random() < 0.6 else 3)
            flat, group[:] = group[:size], group[size:]
            families.append(Family(FLATMATES if size > 1 else SINGLE, flat))
    return families


def _with_adult_child(elder: Person, child: Person) -> Family:
    if elder.age >= 75:
        return Family(SINGLE, [child], parents=[elder])
    return Family(SINGLE, [elder], children=[child])


def arrange(
    family: Family, rng: random.Random, surname: Callable[[], str], given: Callable[[str], str]
) -> None:
    """Give everyone a surname and a relation to the head; put the head first."""
    if family.kind == FLATMATES:
        for i, person in enumerate(family.core):
            person.surname = surname()
            person.relation = Relation.HEAD if i == 0 else Relation.OTHER
        family.members = list(family.core)
    elif family.kind == COUPLE:
        husband, wife = family.core
        husband.surname, wife.surname = surname(), surname()
        for child in family.children:
            child.surname = husband.surname if rng.random() < 0.92 else wife.surname
        _name_parents(family, family.core[family.parents_side].surname, surname)
        for child in family.grandchildren:
            child.surname = husband.surname if rng.random() < 0.7 else surname()
        if family.parents and rng.random() < 0.3:
            _elder_headed(family)
        else:
            head, spouse = (husband, wife) if rng.random() < 0.8 else (wife, husband)
            head.relation, spouse.relation = Relation.HEAD, Relation.SPOUSE
            _relate(family.children, Relation.CHILD)
            _relate(family.parents, Relation.PARENT)
            _relate(family.grandchildren, Relation.GRANDCHILD)
            family.members = [head, spouse, *family.parents, *family.children, *family.grandchildren]
    else:
        head = family.core[0]
        head.surname = surname()
        for child in family.children:
            child.surname = head.surname if head.sex == Sex.MALE or rng.random() < 0.6 else surname()
        _name_parents(family, head.surname, surname)
        for child in family.grandchildren:
            child.surname = head.surname if head.sex == Sex.MALE and rng.random() < 0.7 else surname()
        head.relation = Relation.HEAD
        _relate(family.children, Relation.CHILD)
        _relate(family.parents, Relation.PARENT)
        _relate(family.grandchildren, Relation.GRANDCHILD)
        family.members = [head, *family.parents, *family.children, *family.grandchildren]
    for person in family.members:
        person.given_name = given(person.sex)


def _name_parents(family: Family, line_surname: str, surname: Callable[[], str]) -> None:
    for parent in family.parents:
        parent.surname = line_surname if parent.sex == Sex.MALE else surname()


def _relate(people: list[Person], relation: str) -> None:
    for person in people:
        person.relation = relation


def _elder_headed(family: Family) -> None:
    """The household is registered to the older generation: the married child is the child."""
    parents = sorted(family.parents, key=lambda p: p.sex != Sex.MALE)
    head, *others = parents
    head.relation = Relation.HEAD
    _relate(others, Relation.SPOUSE)
    own = family.core[family.parents_side]
    in_law = family.core[1 - family.parents_side]
    own.relation, in_law.relation = Relation.CHILD, Relation.OTHER_RELATIVE
    _relate(family.children, Relation.GRANDCHILD)
    family.members = [head, *others, own, in_law, *family.children]
