"""A building's flats (units): the property register's flat list (房屋清单) from a spreadsheet, and a
generator for communities that have no register yet (``banyan import units``, ``/people/units/import/``).

An imported community (``banyan import places``) has buildings but no units, and without units the
resident ledger (:mod:`banyan.people.ledgers`) has nowhere to put a household. Two ways to make them:

- **The flat list**: a .csv (UTF-8 with or without a BOM, else GB18030) or .xlsx file, one flat a row,
  headed in Chinese or English: the building (楼栋, by its code or its name as residents say it, "3幢"),
  the unit's number (房号: "2-05-502" — entrance, floor, room — or "2单元502", or the room "502" with the
  entrance in 单元), the entrance (单元, "2" or "2单元" or one of the building's entrance names), the floor
  (楼层), the area in m² (专有面积, else 建筑面积) and the use (用途: 住宅, 商铺 or 公用; residential by
  default). A number of the form E-FF-RRR gives the entrance and floor itself; a room "502" is on floor 5.
  The import is checked like the resident ledgers: every problem is reported with its spreadsheet row
  (the header is row 1) and column heading in the reader's language; a file with any problem writes
  nothing; a clean one is written in one transaction and audited (``units.import``, counts only).
  A (building, number) already registered is updated — entrance, floor, area, use — so importing the same
  file twice changes nothing; its households stay.
- **The generator** (:func:`generate_units`): for every entrance and floor of a building, ``flats_per_floor``
  flats numbered E-FF-FRR ("2-05-502") of one typical area. The director corrects the areas later by
  importing the register.

A user imports only into a community in their area where they may change places (directors, street
officers, administrators), and only into buildings in their area; the command (actor ``"cli:import"``)
into any.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import IO

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import translation
from django.utils.translation import gettext as _

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core.access import Action, can
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.core.schemas import hidden_character
from banyan.people.ledgers import CONTROL_CHARACTERS, _fold

# The ledgers' readers: the same encodings, workbook handling and cell text for every spreadsheet import.
from banyan.people.sheets import (
    Column,
    FileProblem,
    Headings,
    RowProblem,
    SheetReport,
    is_chinese,
    listing,
    parse_rows,
    read_source,
    too_large,
)
from banyan.places.choices import RegionKind, UnitUse
from banyan.places.models import Building, Region, Unit

CLI_ACTOR = "cli:import"
MAX_ROWS = 20_000  # a large community has a few thousand flats
MAX_BYTES = 10 * 1024 * 1024
MAX_AREA = Decimal("10000")
MAX_FLATS_PER_FLOOR = 40
MAX_GENERATED_PER_BUILDING = 5_000
LOWEST_FLOOR = -5  # basements: garages, public rooms
MAX_NUMBER = 32  # Unit.number's length
SOURCE = "unit-import"
GENERATED = "unit-generator"
# Cells read as numbers: full-width digits and signs ("２-05-502", "８９．５") become plain ones.
NUMERIC_KEYS = ("number", "entrance", "floor", "area", "floor_area")

# "2-05-502": entrance, floor, room.
FULL_NUMBER = re.compile(r"^(\d{1,2})-(-?\d{1,3})-(\d{1,6})$")
# "2单元502", "2单元502室", "2-502": an entrance and a room.
ENTRANCE_ROOM = re.compile(r"^(\d{1,2})\s*(?:单元|-)\s*(\d{3,6})\s*室?$")
ROOM = re.compile(r"^(\d{3,6})\s*室?$")
ENTRANCE_WORDS = re.compile(r"^(?:第\s*)?(\d{1,2})\s*(?:单元|号)?$")
FLOOR_WORDS = re.compile(r"^(?:第\s*)?(-?\d{1,3})\s*(?:层|楼|f)?$", re.IGNORECASE)
AREA_UNITS = re.compile(r"\s*(?:m²|m2|㎡|平方米|平米|平方)\s*$", re.IGNORECASE)


COLUMNS = (
    Column("building", "楼栋", ("楼栋编号", "楼号", "幢号", "building code", "building_code")),
    Column("number", "房号", ("房间号", "门牌号", "户号", "unit", "unit number", "unit_number")),
    Column("entrance", "单元", ("单元号",)),
    Column("floor", "楼层", ("所在楼层", "层")),
    Column(
        "area", "专有面积", ("套内面积", "套内建筑面积", "exclusive area", "exclusive_area_m2", "area_m2")
    ),
    Column("floor_area", "建筑面积", ("面积", "gross area", "gross_area_m2")),
    Column("use", "用途", ("房屋用途", "使用性质")),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
IGNORED_HEADERS = {"序号", "no", "no.", "#", "备注", "remarks", "note", "notes"}

# The register's words for a unit's use, besides the translated labels.
USE_ALIASES = {
    UnitUse.RESIDENTIAL: ("住宅", "居住", "住房", "成套住宅"),
    UnitUse.COMMERCIAL: ("商铺", "商业", "商用", "门面", "店铺", "底商"),
    UnitUse.PUBLIC: ("公用", "公共", "公建", "配套", "物业用房", "公共用房"),
}


# --- the report ------------------------------------------------------------------------------------


@dataclass
class UnitImportReport(SheetReport):
    COUNTED = "units"
    buildings: int = 0  # buildings the generator made flats in

    @property
    def units(self) -> int:
        return self.created + self.updated


# --- reading the file -------------------------------------------------------------------------------

HEADINGS = Headings(COLUMNS, frozenset(IGNORED_HEADERS))
_is_chinese = is_chinese
_listing = listing
column_name = HEADINGS.name


def _header_keys(cells: list[str]) -> list[str | None]:
    return HEADINGS.keys(cells, (("building",), ("number",), ("area", "floor_area")))


def _read(source: Path | bytes | IO[bytes], filename: str | None) -> tuple[bytes, str]:
    return read_source(source, filename, MAX_BYTES)


def _too_large() -> FileProblem:
    return too_large(MAX_BYTES)


def parse_units(
    source: Path | bytes | IO[bytes], filename: str | None = None
) -> list[tuple[int, dict[str, str]]]:
    """The file's data rows as (spreadsheet row number, cells by column key); blank rows are skipped.
    Raises :class:`FileProblem` for a file that cannot be read as a whole."""
    data, filename = _read(source, filename)
    return parse_rows(
        data,
        filename,
        headings=HEADINGS,
        required=(("building",), ("number",), ("area", "floor_area")),
        max_rows=MAX_ROWS,
        wrong_format=_(
            "A flat list must be a .csv or .xlsx file (an old .xls workbook can be saved as .xlsx)."
        ),
        clean=lambda key, cell: (
            unicodedata.normalize("NFKC", cell).strip() if key in NUMERIC_KEYS else cell.strip()
        ),
    )


# --- the community's buildings ------------------------------------------------------------------------


def community_for(actor, code: str) -> Region | None:
    """The community ``code`` if the actor may change its places (the command: any)."""
    if not isinstance(code, str) or not code or len(code) > 32:
        return None
    regions = (
        Region.objects.all() if actor == CLI_ACTOR else Region.objects.restrict(actor, Action.CHANGE_PLACES)
    )
    return regions.filter(code=code, kind=RegionKind.COMMUNITY).first()


@dataclass
class _Buildings:
    """The community's buildings, looked up by what a cell may say, and which of them the actor may change."""

    community: Region
    by_word: dict[str, list[Building]]
    changeable: set[int]
    units: dict[tuple[int, str], Unit]  # (building id, number) → unit

    @classmethod
    def load(cls, actor, community: Region) -> _Buildings:
        in_community = Building.objects.filter(grid__path__startswith=community.path)
        by_word: dict[str, list[Building]] = {}
        for building in in_community:
            for word in {building.code, building.name}:
                by_word.setdefault(_fold(word), []).append(building)
        if actor == CLI_ACTOR:
            changeable = set(in_community.values_list("pk", flat=True))
        else:
            changeable = set(
                Building.objects.restrict(actor, Action.CHANGE_PLACES)
                .filter(grid__path__startswith=community.path)
                .values_list("pk", flat=True)
            )
        units = {(u.building_id, u.number): u for u in Unit.objects.filter(building__in=in_community)}
        return cls(community, by_word, changeable, units)

    def find(self, cell: str) -> list[Building]:
        found = self.by_word.get(_fold(cell), [])
        if not found and cell.isdigit():  # "3" for "3幢"
            found = self.by_word.get(_fold(f"{cell}幢"), [])
        return list({b.pk: b for b in found}.values())


def entrance_count(building: Building) -> int:
    """How many entrances (单元) the building has: its entrance names, else its count."""
    return len(building.unit_names) if building.unit_names else max(building.entrances, 1)


# --- checking rows -----------------------------------------------------------------------------------


@dataclass
class _Valid:
    row: int
    building: Building
    number: str
    entrance: int
    floor: int
    area: Decimal
    use: str
    existing: Unit | None


def _use_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for value, label in UnitUse.choices:
        lookup[_fold(value)] = value
        for language in ("en", "zh-hans"):
            with translation.override(language):
                lookup[_fold(str(label))] = value
    for value, words in USE_ALIASES.items():
        for word in words:
            lookup[_fold(word)] = str(value)
    return lookup


def _uses_accepted() -> str:
    if _is_chinese():
        return _listing(words[0] for words in USE_ALIASES.values())
    return _listing(f"{UnitUse(value).label} ({words[0]})" for value, words in USE_ALIASES.items())


def clean_area(value: str) -> Decimal | None:
    """An area in m², "89.5", "89.5㎡", "89,5": two decimals, more than 0 and at most 10,000; else None."""
    text = AREA_UNITS.sub("", value.strip()).replace("，", ".").replace(",", ".")
    try:
        area = Decimal(text)
    except InvalidOperation:
        return None
    if not area.is_finite():
        return None
    area = area.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return area if Decimal("0") < area <= MAX_AREA else None


def _entrance(building: Building, cell: str) -> int | None:
    """The entrance a cell names: "2", "2单元", "第2单元", or one of the building's entrance names."""
    for index, name in enumerate(building.unit_names or [], start=1):
        if _fold(str(name)) == _fold(cell):
            return index
    match = ENTRANCE_WORDS.match(cell.strip())
    if not match:
        return None
    entrance = int(match.group(1))
    return entrance if entrance >= 1 else None


def _floor(cell: str) -> int | None:
    match = FLOOR_WORDS.match(cell.strip())
    if not match:
        return None
    floor = int(match.group(1))
    return floor if floor != 0 and floor >= LOWEST_FLOOR else None


def _check_row(
    number: int, values: dict[str, str], places: _Buildings, uses: dict[str, str], problems: list[RowProblem]
) -> _Valid | None:
    found: list[RowProblem] = []

    def problem(key: str, message: str) -> None:
        found.append(RowProblem(number, column_name(key), message))

    for key, value in values.items():
        if value and (hidden_character(value) or CONTROL_CHARACTERS.search(value)):
            problem(key, _("The cell holds a character no one can see; type it again."))
    if found:
        problems.extend(found)
        return None

    building = None
    if not values["building"]:
        problem("building", _("Give the building, by its code or its name (3幢)."))
    else:
        buildings = places.find(values["building"])
        if not buildings:
            problem(
                "building",
                _("No building “%(building)s” in community %(community)s; give its code or its name.")
                % {"building": values["building"][:40], "community": places.community.name_zh},
            )
        elif len(buildings) > 1:
            problem(
                "building",
                _("More than one building is called “%(building)s”; give its code: %(codes)s.")
                % {"building": values["building"][:40], "codes": _listing(sorted(b.code for b in buildings))},
            )
        elif buildings[0].pk not in places.changeable:
            problem(
                "building",
                _("Building %(building)s is not in your area.") % {"building": buildings[0].name},
            )
        else:
            building = buildings[0]

    entrance = floor = None
    if values["entrance"] and building is not None:
        entrance = _entrance(building, values["entrance"])
        if entrance is None:
            names = _listing(str(n) for n in building.unit_names) if building.unit_names else "1, 2, 3"
            problem(
                "entrance",
                _("Give the entrance as a number or as the building names it: %(names)s.") % {"names": names},
            )
    if values["floor"]:
        floor = _floor(values["floor"])
        if floor is None:
            problem(
                "floor",
                _("Give the floor as a whole number from %(lowest)d up, not 0 (basements are -1, -2 …).")
                % {"lowest": LOWEST_FLOOR},
            )

    stored = ""
    text = values["number"].replace(" ", "")
    if building is not None and text.startswith(building.name):  # "3幢2单元502"
        text = text[len(building.name) :]
    room = ""
    if not text:
        problem("number", _("Give the unit's number, e.g. 2-05-502, 2单元502 or 502 with its 单元."))
    elif full := FULL_NUMBER.match(text):
        number_entrance, number_floor = int(full.group(1)), int(full.group(2))
        if entrance is not None and entrance != number_entrance:
            problem(
                "entrance",
                _("The number %(number)s says entrance %(entrance)d.")
                % {"number": text, "entrance": number_entrance},
            )
        if floor is not None and floor != number_floor:
            problem(
                "floor",
                _("The number %(number)s says floor %(floor)d.") % {"number": text, "floor": number_floor},
            )
        entrance = number_entrance if entrance is None else entrance
        floor = number_floor if floor is None else floor
        stored = text
        if floor == 0 or floor < LOWEST_FLOOR or entrance < 1:
            problem(
                "number", _("The number's entrance or floor is out of range: %(number)s.") % {"number": text}
            )
    elif (pair := ENTRANCE_ROOM.match(text) or ROOM.match(text)) is not None:
        if pair.re is ENTRANCE_ROOM:
            number_entrance, room = int(pair.group(1)), pair.group(2)
            if entrance is not None and entrance != number_entrance:
                problem(
                    "entrance",
                    _("The number %(number)s says entrance %(entrance)d.")
                    % {"number": values["number"][:40], "entrance": number_entrance},
                )
            entrance = number_entrance if entrance is None else entrance
        else:
            room = pair.group(1)
            if entrance is None and not values["entrance"] and building is not None:
                if entrance_count(building) == 1:
                    entrance = 1
                else:
                    problem("entrance", _("This building has several entrances: say which (单元)."))
        if floor is None and not values["floor"]:
            floor = int(room[:-2])  # room 502 is on floor 5, 2201 on floor 22
            if floor == 0:
                problem(
                    "floor",
                    _("Give the floor: it cannot be read from the number %(number)s.") % {"number": text},
                )
                floor = None
    else:
        if len(text) > MAX_NUMBER or text[:1] in ("=", "+", "-", "@"):
            problem(
                "number",
                _("A unit's number is at most %(max)d characters and does not start with =, +, - or @.")
                % {"max": MAX_NUMBER},
            )
        elif not values["floor"]:
            problem(
                "floor",
                _("Give the floor: it cannot be read from the number %(number)s.") % {"number": text[:40]},
            )
        stored = text
        if entrance is None and not values["entrance"]:
            entrance = 1
    if room and entrance is not None and floor is not None:
        stored = f"{entrance}-{floor:02d}-{room}"

    if (
        building is not None
        and entrance is not None
        and entrance > entrance_count(building)
        and building.unit_names
    ):
        problem(
            "entrance",
            _("Building %(building)s has the entrances %(names)s.")
            % {"building": building.name, "names": _listing(str(n) for n in building.unit_names)},
        )
    if building is not None and floor is not None and floor > building.floors:
        problem(
            "floor",
            _("Building %(building)s has %(floors)d floors.")
            % {"building": building.name, "floors": building.floors},
        )

    area_cell = values["area"] or values["floor_area"]
    area_key = "area" if values["area"] else "floor_area"
    area = None
    if not area_cell:
        problem("area", _("Give the area in m², e.g. 89.5."))
    else:
        area = clean_area(area_cell)
        if area is None:
            problem(area_key, _("Give the area in m², more than 0 and at most 10,000, e.g. 89.5."))

    use = UnitUse.RESIDENTIAL.value
    if values["use"]:
        looked_up = uses.get(_fold(values["use"]))
        if looked_up is None:
            problem("use", _("Unknown use; one of: %(accepted)s.") % {"accepted": _uses_accepted()})
        else:
            use = looked_up

    problems.extend(found)
    if found or building is None or entrance is None or floor is None or area is None or not stored:
        return None
    return _Valid(
        number, building, stored, entrance, floor, area, use, places.units.get((building.pk, stored))
    )


def _column_order(name: str) -> int:
    names = [column_name(key) for key in COLUMN_KEYS]
    return names.index(name) if name in names else len(names)


def validate_rows(
    *, actor, community: Region, rows: list[tuple[int, dict[str, str]]]
) -> tuple[list[_Valid], list[RowProblem]]:
    """Check every row against the file and the community's buildings; write nothing."""
    places = _Buildings.load(actor, community)
    uses = _use_lookup()
    problems: list[RowProblem] = []
    first_row: dict[tuple[int, str], int] = {}
    valid = []
    for number, values in rows:
        item = _check_row(number, values, places, uses, problems)
        if item is None:
            continue
        key = (item.building.pk, item.number)
        if key in first_row:
            problems.append(
                RowProblem(
                    number,
                    column_name("number"),
                    _("The same unit is on row %(first)d.") % {"first": first_row[key]},
                )
            )
            continue
        first_row[key] = number
        valid.append(item)
    problems.sort(key=lambda p: (p.row or 0, _column_order(p.column)))
    return valid, problems


# --- the import --------------------------------------------------------------------------------------


def _may_change_places(actor) -> None:
    if actor != CLI_ACTOR and not can(actor, Action.CHANGE_PLACES):
        raise PermissionDenied(_("Your role cannot change places."))


def _unknown_community(code: str) -> RowProblem:
    return RowProblem(None, "", _("Community %(code)s not found in your area.") % {"code": str(code)[:64]})


def import_units(
    file: Path | bytes | IO[bytes],
    *,
    community_code: str,
    dry_run: bool,
    actor,
    filename: str | None = None,
) -> UnitImportReport:
    """Import the flat list of ``file`` into community ``community_code``: every row, or none.

    A dry run reports every problem and writes nothing; so does a real run of a file with any problem.
    A clean real run creates the new (building, number) pairs and updates those already registered
    (entrance, floor, area, use), in one transaction, with one ``units.import`` audit entry of counts.
    """
    _may_change_places(actor)
    report = UnitImportReport(community=community_code, dry_run=dry_run)
    community = community_for(actor, community_code)
    if community is None:
        report.problem_list.append(_unknown_community(community_code))
        return report
    try:
        rows = parse_units(file, filename)
    except FileProblem as exc:
        report.problem_list.append(RowProblem(None, "", exc.message))
        return report
    report.rows = len(rows)
    if not rows:
        report.problem_list.append(RowProblem(None, "", _("The file has a header but no unit rows.")))
        return report
    valid, report.problem_list = validate_rows(actor=actor, community=community, rows=rows)
    if report.problem_list:
        return report
    report.created = sum(1 for item in valid if item.existing is None)
    report.updated = len(valid) - report.created
    if not dry_run:
        _write(actor=actor, community=community, valid=valid, report=report)
    return report


def _check_still_in_scope(actor, community: Region, unit_ids: list[int]) -> None:
    """After writing, in the transaction: every unit touched lies in the actor's area, else roll back."""
    if actor == CLI_ACTOR:
        return
    scoped = Unit.objects.restrict(actor, Action.CHANGE_PLACES)
    in_scope = sum(
        scoped.filter(pk__in=unit_ids[start : start + 500]).count() for start in range(0, len(unit_ids), 500)
    )
    if in_scope != len(unit_ids):
        raise NotFound(_("Community %(code)s not found in your area.") % {"code": community.code})


def _raise_entrances(buildings: dict[int, tuple[Building, int]]) -> None:
    """A building whose register names more entrances than it was imported with gets that many."""
    for building, entrances in buildings.values():
        if not building.unit_names and entrances > building.entrances:
            building.entrances = entrances
            building.save(update_fields=["entrances"])


@transaction.atomic(durable=True)
def _write(*, actor, community: Region, valid: list[_Valid], report: UnitImportReport) -> None:
    created: list[Unit] = []
    changed: list[Unit] = []
    touched: list[int] = []
    entrances: dict[int, tuple[Building, int]] = {}
    for item in valid:
        _building, most = entrances.get(item.building.pk, (item.building, 0))
        entrances[item.building.pk] = (item.building, max(most, item.entrance))
        unit = item.existing
        if unit is None:
            created.append(
                Unit(
                    building=item.building,
                    number=item.number,
                    entrance=item.entrance,
                    floor=item.floor,
                    exclusive_area_m2=item.area,
                    use=item.use,
                )
            )
            continue
        touched.append(unit.pk)
        new = (item.entrance, item.floor, item.area, item.use)
        if (unit.entrance, unit.floor, Decimal(unit.exclusive_area_m2), unit.use) != new:
            unit.entrance, unit.floor, unit.exclusive_area_m2, unit.use = new
            changed.append(unit)
    try:
        with transaction.atomic():
            Unit.objects.bulk_update(
                changed, ["entrance", "floor", "exclusive_area_m2", "use"], batch_size=500
            )
            Unit.objects.bulk_create(created, batch_size=500)
            _raise_entrances(entrances)
    except IntegrityError:
        # Someone registered one of these units since the check: nothing is written, start over.
        raise InvalidInput(
            _("Some of these units were registered meanwhile; run the import again."), field="file"
        ) from None
    touched += [unit.pk for unit in created]
    _check_still_in_scope(actor, community, touched)
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.UNITS_IMPORT,
                "community",
                community.pk,
                details={
                    "community": community.code,
                    "source": SOURCE,
                    "rows": report.rows,
                    "created": report.created,
                    "updated": report.updated,
                    "changed": len(changed),
                },
            )
        ],
    )


# --- the generator -----------------------------------------------------------------------------------


def generated_numbers(
    building: Building, *, flats_per_floor: int, first_floor: int = 1
) -> list[tuple[int, int, str]]:
    """(entrance, floor, number) of every flat the generator makes in ``building``: E-FF-FRR, e.g.
    "2-05-502" for the second flat of floor 5 of entrance 2, "1-22-2201" for the first of floor 22."""
    return [
        (entrance, floor, f"{entrance}-{floor:02d}-{floor}{room:02d}")
        for entrance in range(1, entrance_count(building) + 1)
        for floor in range(first_floor, building.floors + 1)
        for room in range(1, flats_per_floor + 1)
    ]


def _clean_generation(flats_per_floor, area_m2, first_floor) -> tuple[int, Decimal, int]:
    if (
        isinstance(flats_per_floor, bool)
        or not isinstance(flats_per_floor, int)
        or not (1 <= flats_per_floor <= MAX_FLATS_PER_FLOOR)
    ):
        raise InvalidInput(
            _("Flats per floor is a whole number from 1 to %(max)d.") % {"max": MAX_FLATS_PER_FLOOR},
            field="flats_per_floor",
        )
    area = clean_area(str(area_m2))
    if area is None:
        raise InvalidInput(
            _("Give the area in m², more than 0 and at most 10,000, e.g. 89.5."), field="area_m2"
        )
    if isinstance(first_floor, bool) or not isinstance(first_floor, int) or not 1 <= first_floor <= 200:
        raise InvalidInput(_("The first floor of flats is a whole number from 1 up."), field="first_floor")
    return flats_per_floor, area, first_floor


def _plan(
    building: Building, flats_per_floor: int, area: Decimal, first_floor: int, existing: set[str]
) -> list[Unit]:
    return [
        Unit(building=building, number=number, entrance=entrance, floor=floor, exclusive_area_m2=area)
        for entrance, floor, number in generated_numbers(
            building, flats_per_floor=flats_per_floor, first_floor=first_floor
        )
        if number not in existing
    ]


def generate_units(
    building: Building, *, flats_per_floor: int, area_m2, actor, first_floor: int = 1
) -> list[Unit]:
    """Make the flats of ``building``: ``flats_per_floor`` on every floor from ``first_floor`` up, in every
    entrance, numbered E-FF-FRR, each of ``area_m2`` m² (residential). Numbers already registered are
    left as they are, so running it again makes nothing new. Audited as ``units.import``. ``actor`` is
    a person, who must be able to change places where the building stands, or the command's
    ``CLI_ACTOR``: always given, so that no caller skips the check by leaving it out."""
    _may_change_places(actor)
    flats_per_floor, area, first_floor = _clean_generation(flats_per_floor, area_m2, first_floor)
    if (
        actor != CLI_ACTOR
        and not Building.objects.restrict(actor, Action.CHANGE_PLACES).filter(pk=building.pk).exists()
    ):
        raise NotFound(_("Building not found."))
    if first_floor > building.floors:
        raise InvalidInput(
            _("Building %(building)s has %(floors)d floors.")
            % {"building": building.name, "floors": building.floors},
            field="first_floor",
        )
    community = Region.objects.filter(
        kind=RegionKind.COMMUNITY, path__in=building.grid.ancestor_paths(include_self=True)
    ).first()
    return _generate(
        actor=actor,
        community=community,
        plans={building.pk: (building, flats_per_floor, area, first_floor)},
    )[building.pk]


@transaction.atomic(durable=True)
def _generate(*, actor, community: Region | None, plans: dict) -> dict[int, list[Unit]]:
    made: dict[int, list[Unit]] = {}
    for building_id, (building, flats_per_floor, area, first_floor) in plans.items():
        existing = set(Unit.objects.filter(building_id=building_id).values_list("number", flat=True))
        units = _plan(building, flats_per_floor, area, first_floor, existing)
        if len(units) > MAX_GENERATED_PER_BUILDING:
            raise InvalidInput(
                _("That would make more than %(max)d flats in building %(building)s.")
                % {"max": MAX_GENERATED_PER_BUILDING, "building": building.name},
                field="flats_per_floor",
            )
        try:
            with transaction.atomic():
                made[building_id] = Unit.objects.bulk_create(units, batch_size=500)
        except IntegrityError:
            raise InvalidInput(
                _("Some of these units were registered meanwhile; run it again."), field="flats_per_floor"
            ) from None
    touched = [unit.pk for units in made.values() for unit in units]
    if community is not None:
        _check_still_in_scope(actor, community, touched)
    created = len(touched)
    if created:
        first = next(iter(plans.values()))
        record(
            actor=actor,
            events=[
                Event(
                    AuditAction.UNITS_IMPORT,
                    "community" if community is not None else "building",
                    community.pk if community is not None else first[0].pk,
                    details={
                        "community": community.code if community is not None else "",
                        "source": GENERATED,
                        "buildings": sum(1 for units in made.values() if units),
                        "created": created,
                        "flats_per_floor": first[1],
                        "area_m2": str(first[2]),
                    },
                )
            ],
        )
    return made


def buildings_without_units(actor, community: Region):
    """The community's buildings that have no unit yet and that the actor may change, by grid and name."""
    buildings = Building.objects.filter(grid__path__startswith=community.path)
    if actor != CLI_ACTOR:
        buildings = Building.objects.restrict(actor, Action.CHANGE_PLACES).filter(
            grid__path__startswith=community.path
        )
    return buildings.exclude(Exists(Unit.objects.filter(building=OuterRef("pk")))).order_by(
        "grid__path", "name", "code"
    )


def generate_community_units(
    *,
    actor,
    community_code: str,
    flats_per_floor: int,
    area_m2,
    first_floor: int = 1,
    building_codes: Iterable[str] = (),
    dry_run: bool = False,
) -> UnitImportReport:
    """Generate the flats of a community's buildings: those named by ``building_codes`` (their missing
    numbers), else every building without a unit. The report counts what was (or, in a dry run, would
    be) created; a building it cannot find, or whose floors start below ``first_floor``, is a problem
    and nothing is made."""
    _may_change_places(actor)
    report = UnitImportReport(community=community_code, dry_run=dry_run)
    community = community_for(actor, community_code)
    if community is None:
        report.problem_list.append(_unknown_community(community_code))
        return report
    try:
        flats_per_floor, area, first_floor = _clean_generation(flats_per_floor, area_m2, first_floor)
    except InvalidInput as exc:
        report.problem_list.append(RowProblem(None, "", exc.message, feature=exc.field or ""))
        return report
    codes = list(dict.fromkeys(c.strip() for c in building_codes if c.strip()))
    if codes:
        places = _Buildings.load(actor, community)
        buildings = []
        for code in codes:
            found = places.find(code)
            feature = _("building %(code)s") % {"code": code[:40]}
            if len(found) != 1 or found[0].pk not in places.changeable:
                report.problem_list.append(
                    RowProblem(
                        None,
                        "",
                        _("No building “%(building)s” in community %(community)s; give its code or its name.")
                        % {"building": code[:40], "community": community.name_zh},
                        feature=feature,
                    )
                )
            else:
                buildings.append(found[0])
    else:
        buildings = list(buildings_without_units(actor, community))
    plans = {}
    for building in buildings:
        if first_floor > building.floors:
            report.problem_list.append(
                RowProblem(
                    None,
                    "",
                    _("Building %(building)s has %(floors)d floors.")
                    % {"building": building.name, "floors": building.floors},
                    feature=_("building %(code)s") % {"code": building.code},
                )
            )
        plans[building.pk] = (building, flats_per_floor, area, first_floor)
    if report.problem_list:
        return report
    existing: dict[int, set[str]] = {}
    if dry_run or plans:
        for building_id, number in Unit.objects.filter(building_id__in=list(plans)).values_list(
            "building_id", "number"
        ):
            existing.setdefault(building_id, set()).add(number)
    planned = {pk: _plan(b, f, a, ff, existing.get(pk, set())) for pk, (b, f, a, ff) in plans.items()}
    for pk, units in planned.items():
        if len(units) > MAX_GENERATED_PER_BUILDING:
            report.problem_list.append(
                RowProblem(
                    None,
                    "",
                    _("That would make more than %(max)d flats in building %(building)s.")
                    % {"max": MAX_GENERATED_PER_BUILDING, "building": plans[pk][0].name},
                    feature=_("building %(code)s") % {"code": plans[pk][0].code},
                )
            )
    if report.problem_list:
        return report
    if dry_run:
        report.created = sum(len(units) for units in planned.values())
        report.buildings = sum(1 for units in planned.values() if units)
        return report
    if plans:
        made = _generate(actor=actor, community=community, plans=plans)
        report.created = sum(len(units) for units in made.values())
        report.buildings = sum(1 for units in made.values() if units)
    return report
