"""``plan_community``: the whole synthetic community as plain data, from a seed.

Pure Python (no database): the same ``residents``, ``seed`` and ``today`` give the same plan.
Randomness comes from one ``random.Random(seed)`` and one ``Faker("zh_CN")`` seeded with the
same number, consumed in a fixed order. ``plan_street`` plans several communities side by side,
the first exactly as ``plan_community`` alone would.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from faker import Faker

from banyan.core.choices import Role
from banyan.people.choices import CareLevel, Relation, ResidenceStatus, ResidentTag, Sex, VehicleKind
from banyan.people.validators import check_character
from banyan.sim.seed import care
from banyan.sim.seed.data import (
    HOUSEHOLDS_PER_GRID,
    INFLOW_ORIGINS,
    INFLOW_SHARE,
    LOCAL_AREA_CODES,
    MINIMUM_GRIDS,
    MOBILE_PREFIXES,
    OUTFLOW_SHARE,
    PLATE_CHARACTERS,
    PLATE_DIGITS,
)
from banyan.sim.seed.places import (
    COMMUNITY_GAP_M,
    FIRST,
    STREET,
    Box,
    Place,
    Site,
    building_plan,
    building_specs,
    centred,
    facility_plan,
    facility_specs,
    hull,
    organisations,
    plan_regions,
    plan_units,
    plan_walking_graph,
    plots_for,
    site,
    upper_regions,
)
from banyan.sim.seed.plan import (
    LEADER_TITLE,
    RESIDENT_VOLUNTEER_TITLE,
    AccountPlan,
    BuildingPlan,
    CommunityPlan,
    FacilityPlan,
    HouseholdPlan,
    MemberPlan,
    OrganisationPlan,
    ResidentPlan,
    UnitPlan,
    VehiclePlan,
)
from banyan.sim.seed.population import (
    COUPLE,
    FLATMATES,
    SINGLE,
    Family,
    Person,
    arrange,
    assemble_families,
    draw_people,
)

MINIMUM_RESIDENTS = 50
MAXIMUM_RESIDENTS = 100_000
DOUBLE_OCCUPANCY = 0.05  # share of occupied units holding two households
MINIMUM_VACANCY = 0.08

Progress = Callable[[str], None]


@dataclass
class Taken:
    """Phone numbers, ID numbers (their first 17 characters) and plates already given out: shared by
    the communities of a street, so that nobody's number is anybody else's."""

    phones: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)
    plates: set[str] = field(default_factory=set)


class Numbers:
    """Unique phone numbers, ID numbers and plates from the plan's random source."""

    def __init__(self, rng: random.Random, taken: Taken | None = None) -> None:
        self.rng = rng
        taken = Taken() if taken is None else taken
        self._phones = taken.phones
        self._ids = taken.ids
        self._plates = taken.plates

    def phone(self) -> str:
        while True:
            value = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if value not in self._phones:
                self._phones.add(value)
                return value

    def id_number(self, area: str, birth: dt.date, sex: str) -> str:
        parity = 1 if sex == Sex.MALE else 0
        while True:
            sequence = self.rng.randrange(0, 500) * 2 + parity
            if sequence == 0:
                continue
            first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
            if first17 not in self._ids:
                self._ids.add(first17)
                return first17 + check_character(first17)

    def plate(self) -> str:
        while True:
            # Hangzhou plates: 浙A, then five characters with at most two letters.
            chars = [self.rng.choice(PLATE_DIGITS) for _ in range(5)]
            for position in self.rng.sample(range(5), self.rng.choice((0, 1, 1, 2))):
                chars[position] = self.rng.choice(PLATE_CHARACTERS[:24])
            value = "浙A" + "".join(chars)
            if value not in self._plates:
                self._plates.add(value)
                return value


def _weighted(rng: random.Random, table) -> tuple:
    return rng.choices(table, weights=[row[1] for row in table])[0]


def plan_community(
    *,
    residents: int,
    seed: int,
    today: dt.date,
    progress: Progress | None = None,
    where: Site = FIRST,
    place: Place = centred,
    taken: Taken | None = None,
) -> CommunityPlan:
    """Plan a community of exactly ``residents`` people (see the module docstring): community
    ``where`` of the street, at the box ``place`` gives for its size, avoiding the numbers ``taken``."""
    say = progress or (lambda message: None)
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    numbers = Numbers(rng, taken)
    prefix = where.prefix

    say(f"planning {residents} residents")
    people = draw_people(residents, today, rng)
    families = assemble_families(people, rng)

    def given(sex: str) -> str:
        return fake.first_name_male() if sex == Sex.MALE else fake.first_name_female()

    for family in families:
        arrange(family, rng, fake.last_name, given)
    owner_occupied = _choose_residence(families, residents, rng)

    grid_count = max(MINIMUM_GRIDS, math.ceil(len(families) / HOUSEHOLDS_PER_GRID))
    regions, cells = plan_regions(grid_count, where, place)
    rng.shuffle(families)
    by_grid: list[list[Family]] = [families[i::grid_count] for i in range(grid_count)]

    say(f"planning {grid_count} grids")
    vehicle_target = round(0.3 * len(families))
    children_3_to_6 = sum(1 for p in people if 3 <= p.age <= 6)
    specs = facility_specs(grid_count, len(families), children_3_to_6, vehicle_target, where.short_zh)
    grid_order = list(range(grid_count))
    rng.shuffle(grid_order)
    facilities_of: dict[int, list] = defaultdict(list)
    for i, spec in enumerate(specs):
        facilities_of[grid_order[i % grid_count]].append(spec)

    buildings: list[BuildingPlan] = []
    units: list[UnitPlan] = []
    facilities: list[FacilityPlan] = []
    footprints: list[tuple[str, Box]] = []
    zones: list[tuple[str, Box]] = []
    placed: list[tuple[Family, str, UnitPlan, bool]] = []  # family, grid, unit, owner occupied
    for index, (cell, grid_families) in enumerate(zip(cells, by_grid, strict=True)):
        occupied = len(grid_families) - round(len(grid_families) * DOUBLE_OCCUPANCY / (1 + DOUBLE_OCCUPANCY))
        needed = math.ceil(occupied / (1 - MINIMUM_VACANCY))
        building_list = building_specs(needed, rng)
        items: list = [("building", spec) for spec in building_list] + [
            ("facility", s) for s in facilities_of[index]
        ]
        rng.shuffle(items)
        grid_units: list[UnitPlan] = []
        for (what, spec), plot in zip(items, plots_for(cell.box, len(items)), strict=True):
            if what == "building":
                number = len(buildings) + 1
                building, footprint = building_plan(f"{prefix}B{number:03d}", number, cell.code, spec, plot)
                buildings.append(building)
                footprints.append((building.code, footprint))
                grid_units += plan_units(building.code, spec, rng)
            else:
                code = f"{prefix}F{len(facilities) + 1:02d}"
                facility, zone = facility_plan(code, cell.code, spec, plot)
                facilities.append(facility)
                zones.append((facility.code, zone))
        units += grid_units
        # Owners first; the households sharing a unit are the last ones, and they rent.
        ordered = sorted(grid_families, key=lambda f: not owner_occupied[id(f)])
        homes = rng.sample(grid_units, occupied)
        shared = rng.sample(homes, len(ordered) - occupied)
        for i, family in enumerate(ordered):
            if i < occupied:
                placed.append((family, cell.code, homes[i], owner_occupied[id(family)]))
            else:
                placed.append((family, cell.code, shared[i - occupied], False))

    community_box = hull(cell.box for cell in cells)
    path_nodes, path_edges = plan_walking_graph(community_box, footprints, zones, rng)

    say("planning households and residents")
    building_number = {b.code: b.name.removesuffix("幢") for b in buildings}
    placed.sort(
        key=lambda item: (item[1], item[2].building_code, item[2].entrance, item[2].floor, item[2].number)
    )
    households: list[HouseholdPlan] = []
    members: list[tuple[Person, HouseholdPlan, Family]] = []
    for number, (family, grid, unit, owner) in enumerate(placed, start=1):
        household = HouseholdPlan(f"{prefix}H{number:06d}", grid, unit.building_code, unit.number, owner)
        households.append(household)
        entrance, _floor, room = unit.number.split("-")
        address = (
            f"浙江省杭州市上城区湖滨街道{where.short_zh}社区"
            f"{building_number[unit.building_code]}幢{entrance}单元{room}室"
        )
        _identify(family, address, rng, numbers, fake)
        for person in family.members:
            members.append((person, household, family))
    _tag(members, rng)

    say("planning accounts and organisations")
    accounts = _accounts(cells, members, rng, fake, numbers, where)
    bodies = _organisations(accounts, where)

    say("planning care profiles")
    profiles, consents = care.plan_care(members, accounts, rng, today, numbers)
    key_care = {p.resident_key for p in profiles if p.level == CareLevel.HIGH}

    residents_out = tuple(
        ResidentPlan(
            key=key,
            household_code=household.code,
            name=person.name,
            surname=person.surname,
            id_number=person.id_number,
            phone=person.phone,
            birth_date=person.birth_date,
            sex=person.sex,
            relation=person.relation,
            residence_status=person.residence_status,
            registered_address=person.registered_address,
            tags=tuple(person.tags + ([ResidentTag.KEY_CARE] if key in key_care else [])),
            is_living_alone=family.size == 1,
        )
        for key, (person, household, family) in enumerate(members)
    )
    vehicles = _vehicles(households, members, vehicle_target, rng, numbers)
    return CommunityPlan(
        seed=seed,
        today=today,
        regions=tuple(regions),
        buildings=tuple(buildings),
        units=tuple(units),
        facilities=tuple(facilities),
        path_nodes=tuple(path_nodes),
        path_edges=tuple(path_edges),
        households=tuple(households),
        residents=residents_out,
        care_profiles=tuple(profiles),
        consents=tuple(consents),
        vehicles=tuple(vehicles),
        accounts=tuple(accounts),
        organisations=tuple(bodies),
        prefix=prefix,
    )


def community_seed(seed: int, number: int) -> int:
    """The random seed of community ``number`` of a street seeded with ``seed`` (community 1 keeps it)."""
    return seed + 1_000_000 * (number - 1)


class Layout:
    """Where the communities of a street lie: side by side in rows of ``columns``, community 1
    centred on the frame as a single community is, each next one east of the one before, the rows
    going south, with a road of ``COMMUNITY_GAP_M`` between any two. Boxes never overlap."""

    def __init__(self, count: int) -> None:
        self.columns = math.ceil(math.sqrt(count))
        self.boxes: list[Box] = []

    def place(self, width: float, height: float) -> Box:
        row, column = divmod(len(self.boxes), self.columns)
        if not self.boxes:
            box = centred(width, height)
        else:
            if column == 0:  # a new row under the one before, aligned with community 1's west edge
                above = self.boxes[(row - 1) * self.columns :]
                x0, top = self.boxes[0].x0, min(b.y0 for b in above) - COMMUNITY_GAP_M
            else:
                x0, top = self.boxes[-1].x1 + COMMUNITY_GAP_M, self.boxes[row * self.columns].y1
            box = Box(x0, top - height, x0 + width, top)
        self.boxes.append(box)
        return box

    @property
    def extent(self) -> Box:
        return hull(self.boxes)


def plan_street(
    *, communities: int, residents: int, seed: int, today: dt.date, progress: Progress | None = None
) -> tuple[CommunityPlan, ...]:
    """Plan a street of ``communities`` communities with ``residents`` people each, side by side.

    Community 1 is exactly what ``plan_community`` makes alone from ``seed``; the others draw from
    their own seeds (:func:`community_seed`) and never reuse a phone, ID number or plate. The street
    grows to hold them all.
    """
    say = progress or (lambda message: None)
    layout = Layout(communities)
    taken = Taken()
    plans = []
    for number in range(1, communities + 1):
        where = site(number)
        if communities > 1:
            say(f"community {number} of {communities}: {where.code} {where.name_en}")
        plans.append(
            plan_community(
                residents=residents,
                seed=community_seed(seed, number),
                today=today,
                progress=say,
                where=where,
                place=layout.place,
                taken=taken,
            )
        )
    first = plans[0]
    upper = upper_regions(layout.boxes[0], layout.extent)
    plans[0] = replace(first, regions=(*upper, *first.regions[len(upper) :]))
    return tuple(plans)


def _choose_residence(families: list[Family], total: int, rng: random.Random) -> dict[int, bool]:
    """Mark inflow households (≈15 % of people) and outflow young adults; decide who owns."""
    target = round(INFLOW_SHARE * total)
    flat_sharers = [f for f in families if f.kind == FLATMATES]
    young = [
        f
        for f in families
        if (f.kind == SINGLE and f.size == 1 and f.core[0].age < 45)
        or (f.kind == COUPLE and not f.parents and f.core[0].age < 45)
    ]
    rng.shuffle(flat_sharers)
    rng.shuffle(young)
    moved_in = 0
    for family in flat_sharers + young:
        if moved_in >= target:
            break
        if moved_in + family.size <= target + 2:
            family.is_inflow = True
            moved_in += family.size
            for person in family.everyone:
                person.residence_status = ResidenceStatus.LIVING_HERE_REGISTERED_ELSEWHERE
    away = [
        p
        for f in families
        if not f.is_inflow and f.size > 1
        for p in f.members
        if p.relation in (Relation.CHILD, Relation.GRANDCHILD) and 18 <= p.age <= 30
    ]
    for person in rng.sample(away, min(len(away), round(OUTFLOW_SHARE * total))):
        person.residence_status = ResidenceStatus.REGISTERED_HERE_LIVING_ELSEWHERE
    return {id(f): (rng.random() < 0.15) if f.is_inflow else (rng.random() < 0.9) for f in families}


def _identify(family: Family, address: str, rng: random.Random, numbers: Numbers, fake: Faker) -> None:
    """ID numbers, phones and registered addresses for everyone in ``family``."""
    origin = _weighted(rng, INFLOW_ORIGINS) if family.is_inflow else None
    for person in family.members:
        if origin is not None:
            own = origin if rng.random() < 0.75 else _weighted(rng, INFLOW_ORIGINS)
            area = own[0]
            person.registered_address = f"{own[2]}{fake.street_name()}{rng.randint(1, 300)}号"
        else:
            area = (
                "330102" if person.age < 18 and rng.random() < 0.85 else _weighted(rng, LOCAL_AREA_CODES)[0]
            )
            person.registered_address = address
        person.id_number = numbers.id_number(area, person.birth_date, person.sex)
        if person.age < 12:
            has_phone = False
        elif person.age < 18:
            has_phone = rng.random() < 0.7
        elif person.age >= 85:
            has_phone = rng.random() < 0.5
        else:
            has_phone = rng.random() < 0.97
        person.phone = numbers.phone() if has_phone else ""


def _tag(members: list[tuple[Person, HouseholdPlan, Family]], rng: random.Random) -> None:
    leaders: dict[str, list[Person]] = defaultdict(list)
    for person, household, _family in members:
        tags = []
        if person.relation in (Relation.HEAD, Relation.SPOUSE):
            tags.append(ResidentTag.OWNER if household.is_owner_occupied else ResidentTag.TENANT)
        if person.age >= 18:
            party = 0.12 if person.age >= 60 else (0.09 if person.age >= 35 else 0.06)
            if rng.random() < party:
                tags.append(ResidentTag.PARTY_MEMBER)
            if person.sex == Sex.MALE and person.age >= 40 and rng.random() < 0.03:
                tags.append(ResidentTag.VETERAN)
            if person.age <= 75 and rng.random() < (0.10 if person.age >= 60 else 0.05):
                tags.append(ResidentTag.VOLUNTEER)
        person.tags = tags
        if 45 <= person.age <= 75 and person.residence_status == ResidenceStatus.REGISTERED_LIVING_HERE:
            leaders[household.building_code].append(person)
    for building in sorted(leaders):
        candidates = sorted(
            leaders[building], key=lambda p: (ResidentTag.PARTY_MEMBER not in p.tags, rng.random())
        )
        candidates[0].tags.append(ResidentTag.BUILDING_LEADER)


def _staff(
    username: str, role: str, region: str | None, fake: Faker, numbers: Numbers, **extra
) -> AccountPlan:
    male = numbers.rng.random() < 0.5
    first = fake.first_name_male() if male else fake.first_name_female()
    return AccountPlan(username, role, region, fake.last_name(), first, numbers.phone(), **extra)


def username(base: str, community: int, number: int | None = None) -> str:
    """An account's name: ``director``, ``grid01``, ``resident01`` in community 1; ``director2``,
    ``grid2_01``, ``resident2_01`` in community 2, and so on."""
    if community == 1:
        return base if number is None else f"{base}{number:02d}"
    return f"{base}{community}" if number is None else f"{base}{community}_{number:02d}"


def _accounts(
    cells, members, rng: random.Random, fake: Faker, numbers: Numbers, where: Site
) -> list[AccountPlan]:
    """The community's staff and one resident account; community 1 also brings the accounts of the
    whole street: ``admin``, ``street01`` and ``auditor``."""
    community, n = where.code, where.number
    accounts = []
    if n == 1:
        accounts += [
            _staff("admin", Role.PLATFORM_ADMIN, None, fake, numbers, is_staff=True, is_superuser=True),
            _staff("street01", Role.STREET_OFFICER, STREET[0], fake, numbers),
        ]
    accounts.append(_staff(username("director", n), Role.COMMUNITY_DIRECTOR, community, fake, numbers))
    accounts += [
        _staff(username("grid", n, i), Role.GRID_WORKER, cell.code, fake, numbers)
        for i, cell in enumerate(cells, 1)
    ]
    accounts += [
        _staff(username("property", n, 1), Role.PROPERTY_STAFF, community, fake, numbers),
        _staff(username("volunteer", n, 1), Role.VOLUNTEER, community, fake, numbers),
    ]
    if n == 1:
        accounts.append(_staff("auditor", Role.AUDITOR, None, fake, numbers))
    first_grid = cells[0].code
    candidates = [
        key
        for key, (person, household, family) in enumerate(members)
        if household.grid_code == first_grid
        and person.relation == Relation.HEAD
        and 30 <= person.age <= 60
        and person.phone
        and family.size >= 2
    ] or [
        key
        for key, (person, household, _f) in enumerate(members)
        if household.grid_code == first_grid and person.age >= 18
    ]
    resident_key = rng.choice(candidates)
    person = members[resident_key][0]
    accounts.append(
        AccountPlan(
            username("resident", n, 1),
            Role.RESIDENT,
            first_grid,
            person.surname,
            person.given_name,
            person.phone,
            resident_key=resident_key,
        )
    )
    # Each building's leader (楼栋长) volunteers: an account (``leader01`` …) the emergency plans call up
    # to knock on their neighbours' doors.
    leaders = [
        key
        for key, (person, _household, _family) in enumerate(members)
        if ResidentTag.BUILDING_LEADER in person.tags and person.phone and key != resident_key
    ]
    accounts += _volunteer_accounts("leader", n, leaders, members, LEADER_TITLE)
    # The residents registered as volunteers (志愿者), with a phone: accounts (``vol01`` …) called up too.
    taken = set(leaders) | {resident_key}
    helpers = [
        key
        for key, (person, _household, _family) in enumerate(members)
        if ResidentTag.VOLUNTEER in person.tags and person.phone and key not in taken
    ]
    accounts += _volunteer_accounts("vol", n, helpers, members, RESIDENT_VOLUNTEER_TITLE)
    return accounts


def _volunteer_accounts(base: str, community: int, keys: list[int], members, title: str) -> list[AccountPlan]:
    """Volunteer accounts (``base01`` …) of the residents ``keys``, with their title in the body."""
    return [
        AccountPlan(
            username(base, community, i),
            Role.VOLUNTEER,
            members[key][1].grid_code,
            members[key][0].surname,
            members[key][0].given_name,
            members[key][0].phone,
            resident_key=key,
            title=title,
        )
        for i, key in enumerate(keys, 1)
    ]


def _organisations(accounts: list[AccountPlan], where: Site) -> list[OrganisationPlan]:
    titles: dict[str, list[MemberPlan]] = defaultdict(list)
    for account in accounts:
        if account.role == Role.STREET_OFFICER:
            titles["ORG-STREET"].append(MemberPlan(account.username, "社区工作科科长"))
        elif account.role == Role.COMMUNITY_DIRECTOR:
            titles["ORG-COMMITTEE"].append(MemberPlan(account.username, "社区党委书记、居委会主任"))
        elif account.role == Role.GRID_WORKER:
            titles["ORG-COMMITTEE"].append(MemberPlan(account.username, "专职网格员"))
        elif account.role == Role.PROPERTY_STAFF:
            titles["ORG-PROPERTY"].append(MemberPlan(account.username, "物业管家"))
        elif account.role == Role.VOLUNTEER:
            titles["ORG-SOCIAL"].append(MemberPlan(account.username, account.title or "志愿者"))
    return [
        OrganisationPlan(
            code, kind, name_zh, name_en, (region,), tuple(titles[code.removeprefix(where.prefix)])
        )
        for code, kind, name_zh, name_en, region in organisations(where)
    ]


def _vehicles(households, members, target: int, rng: random.Random, numbers: Numbers) -> list[VehiclePlan]:
    drivers = {household.code for person, household, _f in members if 22 <= person.age <= 72}
    candidates = [h for h in households if h.code in drivers]
    chosen = sorted(rng.sample(candidates, min(target, len(candidates))), key=lambda h: h.code)
    per_level = max(100, math.ceil(len(chosen) * 1.3))
    spaces = rng.sample(
        [f"B{level}-{n:03d}" for level in (1, 2) for n in range(1, per_level + 1)], len(chosen) * 2
    )
    vehicles = []
    for household in chosen:
        count = 2 if rng.random() < 0.08 else 1
        for _ in range(count):
            kind = VehicleKind.CAR if rng.random() < 0.95 else VehicleKind.MOTORCYCLE
            vehicles.append(VehiclePlan(household.code, kind, numbers.plate(), spaces[len(vehicles)]))
    return vehicles
