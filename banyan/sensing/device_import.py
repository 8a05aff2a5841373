"""Devices from a spreadsheet (``banyan import devices``, the devices page's import), and the device list
handed to the installer.

A .csv (UTF-8 with or without a BOM, else GB18030) or .xlsx file, one device a row, headed in English or
Chinese: its code (编号), kind (类型), and where it stands — a building (楼栋, by its code or its name as
residents say it, "3幢") and a unit in it (房号, "2-22-2201" or "2单元2201"), or a facility (设施, by code
or name), or a point (纬度, 经度) — with the date it was installed (安装日期, YYYY-MM-DD) and a note
(备注) that names no resident. The import is checked like the resident ledgers
(``banyan.people.ledgers``): every problem is reported with its spreadsheet row (the header is row 1) and
column heading in the reader's language, never with a personal value; a file with any problem writes
nothing; a clean one is written in one transaction and audited with counts only. A code already in the
community updates that device (importing the same file twice changes nothing); a code of another
community is a problem.

The device's grid is its building's, its facility's, or the grid whose boundary holds its point; the place
must lie in the community named. A user imports only into a community in their area where they may change
places; the command (actor ``"cli:import"``) into any.

The installer's list (:func:`installer_rows`, :func:`installer_xlsx`, :func:`installer_csv`) gives each
device of a community: code, kind in the reader's language, place in words, building, unit, facility, the
point, installed date, state and the MQTT topic it must publish to, sorted by building. Its columns are the
import's, so the list filled in on site can be imported again.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from shapely.geometry import Point, shape

from banyan.audit.actions import AuditAction
from banyan.audit.purpose import looks_personal
from banyan.audit.services import Event, record
from banyan.core import clock
from banyan.core.access import Action, can
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.core.schemas import hidden_character
from banyan.people.ledgers import CONTROL_CHARACTERS, FORMULA_STARTS, _fold

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
from banyan.places.choices import RegionKind
from banyan.places.models import Building, Facility, Region, Unit
from banyan.places.words import facility_words, unit_words
from banyan.sensing import services
from banyan.sensing.choices import DeviceStatus
from banyan.sensing.kinds import KINDS
from banyan.sensing.models import DEVICE_CODE, Device

CLI_ACTOR = "cli:import"
MAX_ROWS = 5_000  # a community has about a thousand devices
MAX_BYTES = 5 * 1024 * 1024
MAX_NOTE = 200
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SOURCE = "device-import"
DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]00:00(?::00)?)?$")
# "2单元2201", "2单元2201室": an entrance and a room, as residents say a unit.
UNIT_WORDS = re.compile(r"^(\d+)\s*单元\s*(\d+)\s*室?$")
EARLIEST_YEAR = 2000


COLUMNS = (
    Column("code", "编号", ("设备编号", "device", "device code", "device_code")),
    Column("kind", "类型", ("设备类型", "device kind")),
    Column("building", "楼栋", ("楼栋编号", "楼号", "building code", "building_code")),
    Column("unit", "房号", ("房间号", "门牌号", "unit number", "unit_number")),
    Column("facility", "设施", ("设施编号", "设施名称")),
    Column("latitude", "纬度", ("lat",)),
    Column("longitude", "经度", ("lon", "lng")),
    Column("installed", "安装日期", ("installed date", "installed_date", "installed_at", "installed on")),
    Column("note", "备注", ("notes", "remarks")),
)
REQUIRED = ("code", "kind")
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
# Columns the installer's list adds; accepted in an imported file and ignored, with a running number.
LIST_ONLY = (("place", "位置"), ("status", "状态"), ("mqtt_topic", "MQTT主题"))
IGNORED_HEADERS = {"序号", "no", "no.", "#"} | {_fold(h) for pair in LIST_ONLY for h in pair}


# --- the report ------------------------------------------------------------------------------------


@dataclass
class DeviceImportReport(SheetReport):
    COUNTED = "devices"

    @property
    def devices(self) -> int:
        return self.created + self.updated


# --- reading the file -------------------------------------------------------------------------------

HEADINGS = Headings(COLUMNS, frozenset(IGNORED_HEADERS))
_is_chinese = is_chinese
_listing = listing
column_name = HEADINGS.name


def _header_keys(cells: list[str]) -> list[str | None]:
    return HEADINGS.keys(cells, tuple((key,) for key in REQUIRED))


def _read(source: Path | bytes | IO[bytes], filename: str | None) -> tuple[bytes, str]:
    return read_source(source, filename, MAX_BYTES)


def _too_large() -> FileProblem:
    return too_large(MAX_BYTES)


def parse_devices(
    source: Path | bytes | IO[bytes], filename: str | None = None
) -> list[tuple[int, dict[str, str]]]:
    """The file's data rows as (spreadsheet row number, cells by column key); blank rows are skipped.
    Raises :class:`FileProblem` for a file that cannot be read as a whole."""
    data, filename = _read(source, filename)
    return parse_rows(
        data,
        filename,
        headings=HEADINGS,
        required=tuple((key,) for key in REQUIRED),
        max_rows=MAX_ROWS,
        wrong_format=_(
            "A device list must be a .csv or .xlsx file (an old .xls workbook can be saved as .xlsx)."
        ),
    )


# --- the community's places ---------------------------------------------------------------------------


def _community_for(actor, code: str) -> Region | None:
    regions = (
        Region.objects.all() if actor == CLI_ACTOR else Region.objects.restrict(actor, Action.CHANGE_PLACES)
    )
    return regions.filter(code=code, kind=RegionKind.COMMUNITY).first()


def _natural(text: str) -> tuple:
    """Sort "2幢" before "10幢"."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text))


@dataclass
class _Places:
    """The community's grids, buildings, units and facilities, looked up by what a cell may say."""

    community: Region
    grids: list[tuple[Region, Any]]  # (grid, its boundary as a shapely shape or None)
    buildings: dict[str, list[Building]]  # folded code or name → buildings
    units: dict[int, dict[str, Unit]]  # building id → number → unit
    facilities: dict[str, list[Facility]]

    @classmethod
    def load(cls, community: Region) -> _Places:
        grids = []
        for grid in Region.objects.filter(parent=community, kind=RegionKind.GRID).order_by("path"):
            try:
                boundary = shape(grid.boundary) if grid.boundary else None
            except (ValueError, TypeError, AttributeError, KeyError):
                boundary = None
            grids.append((grid, boundary))
        buildings: dict[str, list[Building]] = {}
        in_community = Building.objects.filter(grid__path__startswith=community.path).select_related("grid")
        for building in in_community:
            for word in {building.code, building.name}:
                buildings.setdefault(_fold(word), []).append(building)
        units: dict[int, dict[str, Unit]] = {}
        for unit in Unit.objects.filter(building__in=in_community).select_related("building"):
            units.setdefault(unit.building_id, {})[unit.number] = unit
        facilities: dict[str, list[Facility]] = {}
        for facility in Facility.objects.filter(region__path__startswith=community.path).select_related(
            "region", "building__grid"
        ):
            for word in {facility.code, facility.name_zh, facility.name_en} - {""}:
                facilities.setdefault(_fold(word), []).append(facility)
        return cls(community, grids, buildings, units, facilities)

    def building(self, cell: str) -> list[Building]:
        found = self.buildings.get(_fold(cell), [])
        if not found and cell.isdigit():  # "3" for "3幢"
            found = self.buildings.get(_fold(f"{cell}幢"), [])
        return list({b.pk: b for b in found}.values())

    def unit(self, building: Building, cell: str) -> Unit | None:
        units = self.units.get(building.pk, {})
        text = cell.strip()
        if text.startswith(building.name):  # "3幢2单元2201"
            text = text[len(building.name) :].strip()
        if text in units:
            return units[text]
        words = UNIT_WORDS.match(text)
        if words:
            entrance, room = int(words.group(1)), words.group(2)
            for number, unit in units.items():
                parts = number.split("-")
                if len(parts) == 3 and parts[0].isdigit() and int(parts[0]) == entrance and parts[2] == room:
                    return unit
        return None

    def facility(self, cell: str) -> list[Facility]:
        return list({f.pk: f for f in self.facilities.get(_fold(cell), [])}.values())

    def grid_at(self, longitude: float, latitude: float) -> Region | None:
        point = Point(longitude, latitude)
        for grid, boundary in self.grids:
            if boundary is not None and boundary.covers(point):
                return grid
        return None


# --- checking rows -----------------------------------------------------------------------------------


@dataclass
class _Valid:
    row: int
    code: str
    kind: str
    grid: Region
    building: Building | None
    unit: Unit | None
    facility: Facility | None
    point: tuple[float, float] | None  # (latitude, longitude)
    installed: dt.date | None
    note: str
    existing: Device | None


def _kind_lookup() -> dict[str, str]:
    lookup = {}
    for code, kind in KINDS.items():
        lookup[_fold(code)] = code
        for language in ("en", "zh-hans"):
            with translation.override(language):
                lookup[_fold(str(kind.label))] = code
    return lookup


def _kinds_accepted() -> str:
    return _listing(sorted(str(kind.label) for kind in KINDS.values()))


def _clean_text(value: str) -> str | None:
    """The cell, or None if it holds something no one can see or a spreadsheet formula."""
    if hidden_character(value) or CONTROL_CHARACTERS.search(value):
        return None
    return value


def _coordinate(value: str, low: float, high: float) -> float | None:
    try:
        number = float(value.replace("，", ".").strip())
    except ValueError:
        return None
    return number if low <= number <= high else None


def _date(value: str) -> dt.date | None:
    match = DATE.match(value.strip())
    if not match:
        return None
    try:
        day = dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    return day if EARLIEST_YEAR <= day.year and day <= clock.today() + dt.timedelta(days=366) else None


def _check_row(
    number: int, values: dict[str, str], places: _Places, kinds: dict[str, str], problems: list[RowProblem]
) -> _Valid | None:
    found: list[RowProblem] = []

    def problem(key: str, message: str) -> None:
        found.append(RowProblem(number, column_name(key), message))

    for key, value in values.items():
        if value and _clean_text(value) is None:
            problem(key, _("The cell holds a character no one can see; type it again."))
    if found:
        problems.extend(found)
        return None

    code = values["code"].strip()
    if not code:
        problem("code", _("Give the device's code."))
    elif not DEVICE_CODE.match(code):
        problem(
            "code",
            _(
                "A device code is 1–64 letters, digits, '_', '.', ':' or '-' "
                "(it is one level of an MQTT topic)."
            ),
        )
    kind = kinds.get(_fold(values["kind"]))
    if not values["kind"].strip():
        problem("kind", _("Give the kind of device; one of: %(kinds)s.") % {"kinds": _kinds_accepted()})
    elif kind is None:
        problem("kind", _("Unknown kind; one of: %(kinds)s.") % {"kinds": _kinds_accepted()})

    building = unit = facility = None
    grid: Region | None = None
    if values["building"] and values["facility"]:
        problem("facility", _("Give a building (and a unit) or a facility, not both."))
    elif values["building"]:
        buildings = places.building(values["building"])
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
        else:
            building = buildings[0]
            grid = building.grid
    elif values["facility"]:
        facilities = places.facility(values["facility"])
        if not facilities:
            problem(
                "facility",
                _("No facility “%(facility)s” in community %(community)s; give its code or its name.")
                % {"facility": values["facility"][:40], "community": places.community.name_zh},
            )
        elif len(facilities) > 1:
            problem(
                "facility",
                _("More than one facility is called “%(facility)s”; give its code: %(codes)s.")
                % {
                    "facility": values["facility"][:40],
                    "codes": _listing(sorted(f.code for f in facilities)),
                },
            )
        else:
            facility = facilities[0]
            if facility.region.kind == RegionKind.GRID:
                grid = facility.region
            elif facility.building is not None:
                grid = facility.building.grid
            else:
                grid = places.grid_at(facility.longitude, facility.latitude)
                if grid is None:
                    problem(
                        "facility",
                        _("This facility serves the whole community and stands in none of its grids."),
                    )
    if values["unit"]:
        if building is None:
            if not values["building"]:
                problem("unit", _("Give the building the unit is in."))
        else:
            unit = places.unit(building, values["unit"])
            if unit is None:
                problem(
                    "unit",
                    _(
                        "Building %(building)s has no unit “%(unit)s”; "
                        "give its number (2-22-2201) or 2单元2201."
                    )
                    % {"building": building.name, "unit": values["unit"][:40]},
                )

    point = None
    latitude_cell, longitude_cell = values["latitude"].strip(), values["longitude"].strip()
    if latitude_cell or longitude_cell:
        latitude = _coordinate(latitude_cell, -90, 90)
        longitude = _coordinate(longitude_cell, -180, 180)
        if latitude is None:
            problem("latitude", _("Give the latitude in degrees, from -90 to 90, e.g. 30.2741."))
        if longitude is None:
            problem("longitude", _("Give the longitude in degrees, from -180 to 180, e.g. 120.1551."))
        if latitude is not None and longitude is not None:
            point = (latitude, longitude)
            at = places.grid_at(longitude, latitude)
            if at is None:
                problem(
                    "latitude",
                    _("This point lies in no grid of community %(community)s.")
                    % {"community": places.community.name_zh},
                )
            elif grid is None and not values["building"] and not values["facility"]:
                grid = at
    elif not (values["building"] or values["facility"]):
        problem(
            "building",
            _(
                "Say where the device stands: a building (and a unit), a facility, "
                "or a latitude and longitude."
            ),
        )

    installed = None
    if values["installed"].strip():
        installed = _date(values["installed"])
        if installed is None:
            problem(
                "installed",
                _("Give the date it was installed as YYYY-MM-DD, e.g. 2026-05-18, from %(year)d on.")
                % {"year": EARLIEST_YEAR},
            )
    note = values["note"].strip()
    if len(note) > MAX_NOTE:
        problem("note", _("A note is at most %(max)d characters.") % {"max": MAX_NOTE})
    elif note.startswith(FORMULA_STARTS):
        problem("note", _("A note may not start with =, +, - or @ (a spreadsheet would run it)."))
    elif looks_personal(note):
        problem("note", _("A note may not hold a phone or ID number: it is no place for residents' data."))

    problems.extend(found)
    if found or kind is None or grid is None:
        return None
    return _Valid(number, code, kind, grid, building, unit, facility, point, installed, note, None)


def validate_rows(
    *, actor, community: Region, rows: list[tuple[int, dict[str, str]]]
) -> tuple[list[_Valid], list[RowProblem]]:
    """Check every row against the file, the community's places and the registry; write nothing."""
    places = _Places.load(community)
    kinds = _kind_lookup()
    problems: list[RowProblem] = []
    checked = [_check_row(number, values, places, kinds, problems) for number, values in rows]

    codes = {values["code"].strip() for _number, values in rows if values["code"].strip()}
    registered = {d.code: d for d in Device.objects.filter(code__in=codes).select_related("community")}
    if actor == CLI_ACTOR:
        changeable = set(registered)
    else:
        changeable = set(
            services.devices_for(actor, Action.CHANGE_PLACES)
            .filter(code__in=list(registered))
            .values_list("code", flat=True)
        )
    first_row: dict[str, int] = {}
    valid = []
    for (number, values), item in zip(rows, checked, strict=True):
        code = values["code"].strip()
        if not code:
            continue
        duplicate = code in first_row
        if duplicate:
            problems.append(
                RowProblem(
                    number,
                    column_name("code"),
                    _("The same code is on row %(first)d.") % {"first": first_row[code]},
                )
            )
        else:
            first_row[code] = number
        existing = registered.get(code)
        other = existing is not None and (existing.community_id != community.pk or code not in changeable)
        if other:
            problems.append(
                RowProblem(
                    number, column_name("code"), _("This code belongs to a device of another community.")
                )
            )
        if item is not None and not duplicate and not other:
            item.existing = existing
            valid.append(item)
    problems.sort(key=lambda p: (p.row or 0, _column_order(p.column)))
    return valid, problems


def _column_order(name: str) -> int:
    names = [column_name(key) for key in COLUMN_KEYS]
    return names.index(name) if name in names else len(names)


# --- the import --------------------------------------------------------------------------------------


def import_devices(
    file: Path | bytes | IO[bytes],
    *,
    community_code: str,
    dry_run: bool,
    actor,
    filename: str | None = None,
) -> DeviceImportReport:
    """Import the devices of ``file`` into community ``community_code``: all of them, or none.

    A dry run reports every problem and writes nothing; so does a real run of a file with any problem.
    A clean real run creates the new codes and updates those already in the community (kind, place,
    installed date and note; status, battery and broker account stay), in one transaction, with one
    ``devices.import`` audit entry holding the counts.
    """
    if actor != CLI_ACTOR and not can(actor, Action.CHANGE_PLACES):
        raise PermissionDenied(_("Your role cannot change places."))
    report = DeviceImportReport(community=community_code, dry_run=dry_run)
    community = _community_for(actor, community_code)
    if community is None:
        report.problem_list.append(
            RowProblem(
                None, "", _("Community %(code)s not found in your area.") % {"code": community_code[:64]}
            )
        )
        return report
    try:
        rows = parse_devices(file, filename)
    except FileProblem as exc:
        report.problem_list.append(RowProblem(None, "", exc.message))
        return report
    report.rows = len(rows)
    if not rows:
        report.problem_list.append(RowProblem(None, "", _("The file has a header but no device rows.")))
        return report
    valid, report.problem_list = validate_rows(actor=actor, community=community, rows=rows)
    if report.problem_list:
        return report
    report.created = sum(1 for item in valid if item.existing is None)
    report.updated = len(valid) - report.created
    if not dry_run:
        _write(actor=actor, community=community, valid=valid, report=report)
    return report


def _installed_at(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(0)), timezone.get_default_timezone())


def _metadata(item: _Valid, before: dict | None) -> dict:
    metadata = dict(before or {})
    for name in ("point", "note"):
        metadata.pop(name, None)
    if item.point is not None:
        metadata["point"] = {"latitude": item.point[0], "longitude": item.point[1]}
    if item.note:
        metadata["note"] = item.note
    return metadata


@transaction.atomic(durable=True)
def _write(*, actor, community: Region, valid: list[_Valid], report: DeviceImportReport) -> None:
    now = clock.now()
    created: list[Device] = []
    touched: list[int] = []
    try:
        with transaction.atomic():
            for item in valid:
                place = {
                    "grid": item.grid,
                    "building": item.building,
                    "unit": item.unit,
                    "facility": item.facility,
                }
                if item.unit is not None:
                    place["building"] = item.unit.building
                device = item.existing
                if device is None:
                    kind = KINDS[item.kind]
                    created.append(
                        Device(
                            code=item.code,
                            kind=item.kind,
                            community=community,
                            status=DeviceStatus.ONLINE,
                            expected_interval_s=kind.expected_interval_s,
                            installed_at=_installed_at(item.installed) if item.installed else now,
                            metadata=_metadata(item, None),
                            **place,
                        )
                    )
                    continue
                changed = []
                if device.kind != item.kind:
                    device.kind = item.kind
                    device.expected_interval_s = KINDS[item.kind].expected_interval_s
                    changed += ["kind", "expected_interval_s"]
                for name, value in place.items():
                    if getattr(device, f"{name}_id") != (value.pk if value else None):
                        setattr(device, name, value)
                        changed.append(name)
                if item.installed and timezone.localdate(device.installed_at) != item.installed:
                    device.installed_at = _installed_at(item.installed)
                    changed.append("installed_at")
                metadata = _metadata(item, device.metadata)
                if metadata != device.metadata:
                    device.metadata = metadata
                    changed.append("metadata")
                if changed:
                    device.save(update_fields=changed)
                touched.append(device.pk)
            Device.objects.bulk_create(created, batch_size=500)
    except IntegrityError:
        # Someone registered one of these codes since the check: nothing is written, start over.
        raise InvalidInput(
            _("Some of these devices were registered meanwhile; run the import again."), field="file"
        ) from None
    touched += [device.pk for device in created]
    if actor != CLI_ACTOR:
        in_scope = services.devices_for(actor, Action.CHANGE_PLACES).filter(pk__in=touched).count()
        if in_scope != len(touched):
            raise NotFound(_("Community %(code)s not found in your area.") % {"code": community.code})
    record(
        actor=actor,
        events=[
            Event(
                AuditAction.DEVICES_IMPORT,
                "community",
                community.pk,
                details={
                    "community": community.code,
                    "source": SOURCE,
                    "rows": report.rows,
                    "created": report.created,
                    "updated": report.updated,
                },
            )
        ],
    )


# --- the installer's list ------------------------------------------------------------------------------


LIST_COLUMNS = (
    ("code", "编号"),
    ("kind", "类型"),
    ("place", "位置"),
    ("building", "楼栋"),
    ("unit", "房号"),
    ("facility", "设施"),
    ("latitude", "纬度"),
    ("longitude", "经度"),
    ("installed", "安装日期"),
    ("status", "状态"),
    ("mqtt_topic", "MQTT主题"),
)
LIST_WIDTHS = {"place": 24, "kind": 18, "mqtt_topic": 48, "installed": 12, "status": 10}


def mqtt_topic(device: Device) -> str:
    """Where the device publishes its readings (``banyan.sensing.parsing.TOPIC``)."""
    return f"banyan/{device.community.code}/devices/{device.code}/readings"


def _point(device: Device) -> tuple[float, float] | None:
    point = (device.metadata or {}).get("point")
    if isinstance(point, dict) and {"latitude", "longitude"} <= point.keys():
        return float(point["latitude"]), float(point["longitude"])
    for place in (device.unit.building if device.unit else None, device.building, device.facility):
        if place is not None:
            return place.latitude, place.longitude
    return None


def installer_community(user, code) -> Region:
    """The community ``code`` whose list ``user`` asks for: one with a device they may see (404 otherwise,
    the same for missing and not theirs)."""
    if not isinstance(code, str) or not code or len(code) > 32:
        raise NotFound(_("Community not found."), field="community")
    if not services.devices_for(user).filter(community__code=code).exists():
        raise NotFound(_("Community not found."), field="community")
    return Region.objects.get(code=code, kind=RegionKind.COMMUNITY)


def installer_rows(user, community: Region) -> list[dict[str, Any]]:
    """The devices of ``community`` that ``user`` may see, by building (then unit, facility, code)."""
    statuses = dict(DeviceStatus.choices)
    devices = (
        services.devices_for(user)
        .filter(community=community)
        .select_related("community", "grid", "building", "unit__building", "facility")
    )
    rows = []
    for device in devices:
        point = _point(device)
        building = device.unit.building if device.unit else device.building
        if device.unit is not None:
            place = unit_words(device.unit)
        elif device.facility is not None:
            place = facility_words(device.facility)
        elif building is not None:
            place = building.name
        else:
            place = device.grid.name_en if not _is_chinese() and device.grid.name_en else device.grid.name_zh
        rows.append(
            {
                "code": device.code,
                "kind": device.kind_label,
                "place": place,
                # A facility's device names the facility only: the import takes one or the other.
                "building": building.name if building and device.facility is None else "",
                "unit": device.unit.number if device.unit else "",
                "facility": device.facility.code if device.facility else "",
                "latitude": round(point[0], 7) if point else "",
                "longitude": round(point[1], 7) if point else "",
                "installed": timezone.localdate(device.installed_at).isoformat(),
                "status": str(statuses.get(device.status, device.status)),
                "mqtt_topic": mqtt_topic(device),
                "_sort": (
                    building is None,
                    _natural(building.name if building else ""),
                    _natural(device.unit.number if device.unit else ""),
                    device.facility is None,
                    device.facility.code if device.facility else "",
                    device.code,
                ),
            }
        )
    rows.sort(key=lambda row: row.pop("_sort"))
    return rows


def _headers() -> list[str]:
    return [zh if _is_chinese() else key for key, zh in LIST_COLUMNS]


def _safe(value: Any) -> Any:
    """A cell that a spreadsheet shows as it is: control characters gone, no formula."""
    if isinstance(value, str):
        value = CONTROL_CHARACTERS.sub("", value)
        # A tab or line break first also starts a formula in some spreadsheets (OWASP CSV injection).
        if value.startswith(FORMULA_STARTS) or value[:1] in ("\t", "\r", "\n"):
            value = "'" + value
    return value


def installer_csv(user, community: Region) -> bytes:
    """The installer's list as CSV, UTF-8 with a BOM so that Excel reads the Chinese."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_headers())
    for row in installer_rows(user, community):
        writer.writerow([_safe(row[key]) for key, _zh in LIST_COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode()


def installer_xlsx(user, community: Region) -> bytes:
    """The installer's list as an XLSX workbook, header frozen, text kept as text."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(
        title="".join(c for c in community.code if c not in "[]:*?/\\")[:31] or "devices"
    )
    for index, (key, _zh) in enumerate(LIST_COLUMNS):
        sheet.column_dimensions[chr(ord("A") + index)].width = LIST_WIDTHS.get(key, 14)
    sheet.freeze_panes = "A2"
    sheet.append(_headers())
    for row in installer_rows(user, community):
        cells = []
        for key, _zh in LIST_COLUMNS:
            value = row[key]
            if isinstance(value, str):
                cell = WriteOnlyCell(sheet, CONTROL_CHARACTERS.sub("", value))
                cell.data_type = "s"  # never a formula
                value = cell
            cells.append(value)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def installer_filename(community: Region, suffix: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in community.code)
    return f"devices-{safe}-{clock.today().isoformat()}.{suffix}"
