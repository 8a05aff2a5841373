"""Ledgers (台账): import residents and households from CSV or XLSX, export a grid's residents as XLSX.

Import is all or nothing. Every row is checked before anything is written — required fields, the
ID number's structure and check character, the phone, choices, duplicates within the file and in
the register, and that each building and household lies in the actor's area — and every problem
is reported with its spreadsheet row (the header is row 1) and column, never with the personal
value itself. Only a file without a single problem is written, in one transaction.

Export writes the ID number and phone masked; clear values need a stated purpose, the role's
reveal right, and leave one audit entry per revealed field and resident.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core import clock, vault
from banyan.core.access import Action, can
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.core.schemas import hidden_character
from banyan.people.choices import CareKind, Relation, ResidenceStatus, ResidentTag, Sex
from banyan.people.models import CareProfile, Household, Resident
from banyan.people.services import clean_id_number, clean_phone, clean_reveal_request
from banyan.people.validators import birth_date_from_id, sex_from_id
from banyan.places.choices import RegionKind
from banyan.places.models import Building, Region, Unit

MAX_ROWS = 20_000
MAX_BYTES = 20 * 1024 * 1024
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SOURCE = "ledger-import"
LEDGER_REVEALABLE = ("id_number", "phone")


@dataclass(frozen=True)
class Column:
    key: str
    header_zh: str
    required: bool
    aliases: tuple[str, ...] = ()


# The import columns, in the order they are exported. Headers match the key, the Chinese header
# or an alias, ignoring case and surrounding spaces.
COLUMNS = (
    Column("household_code", "户编号", True, ("户号", "household")),
    Column("building_code", "楼栋编号", True, ("楼栋", "楼号", "building")),
    Column("unit_number", "房号", True, ("房间号", "门牌号", "unit")),
    Column("name", "姓名", True),
    Column("id_number", "身份证号", True, ("身份证号码", "公民身份号码", "身份证")),
    Column("phone", "手机号", False, ("手机号码", "手机", "联系电话", "电话")),
    Column("relation", "与户主关系", True, ("关系",)),
    Column("residence_status", "居住状态", False, ("户籍状态", "人户状态")),
    Column("tags", "标签", False),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}
# Columns the export adds, and a running number; accepted in an imported file and ignored.
EXPORT_ONLY = (("age", "年龄"), ("sex", "性别"), ("care_kinds", "关怀类别"))
IGNORED_HEADERS = {"序号", "no", "no.", "#", "备注", "remarks"} | {h for pair in EXPORT_ONLY for h in pair}

# Chinese words used in registers besides the translated labels of the choices.
RELATION_ALIASES = {
    Relation.HEAD: ("户主", "本人"),
    Relation.SPOUSE: ("配偶", "妻子", "丈夫", "妻", "夫"),
    Relation.CHILD: ("子女", "儿子", "女儿", "子", "女", "长子", "长女", "次子", "次女"),
    Relation.PARENT: ("父母", "父亲", "母亲", "父", "母"),
    Relation.GRANDCHILD: ("孙子女", "孙子", "孙女", "外孙子女", "外孙", "外孙女"),
    Relation.GRANDPARENT: ("祖父母", "祖父", "祖母", "外祖父母", "外祖父", "外祖母"),
    Relation.SIBLING: ("兄弟姐妹", "兄弟", "姐妹", "哥哥", "弟弟", "姐姐", "妹妹"),
    Relation.OTHER_RELATIVE: ("其他亲属", "亲属", "儿媳", "女婿", "媳妇"),
    Relation.TENANT: ("租户", "租客", "承租人"),
    Relation.OTHER: ("其他", "其它"),
}
RESIDENCE_ALIASES = {
    ResidenceStatus.REGISTERED_LIVING_HERE: ("户籍在本地居住", "户在人在", "常住", "户籍人口"),
    ResidenceStatus.LIVING_HERE_REGISTERED_ELSEWHERE: ("人在户不在", "流入", "流入人口", "流动人口"),
    ResidenceStatus.REGISTERED_HERE_LIVING_ELSEWHERE: ("户在人不在", "流出", "流出人口"),
}
TAG_ALIASES = {
    ResidentTag.PARTY_MEMBER: ("党员",),
    ResidentTag.VETERAN: ("退役军人",),
    ResidentTag.VOLUNTEER: ("志愿者",),
    ResidentTag.BUILDING_LEADER: ("楼栋长",),
    ResidentTag.OWNER: ("业主",),
    ResidentTag.TENANT: ("租户",),
    ResidentTag.KEY_CARE: ("重点关爱", "重点人群"),
}
TAG_SEPARATORS = (";", "；")
# A cell starting like this is a formula to a spreadsheet (formula injection); refused in stored text.
FORMULA_STARTS = ("=", "+", "-", "@")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class LedgerRow:
    """One data row: its spreadsheet row number (header is row 1) and its cells by column key."""

    row: int
    values: dict[str, str]


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}: {self.message}"


@dataclass
class ImportReport:
    dry_run: bool
    rows: int = 0
    created_households: int = 0
    created_residents: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "created_households": self.created_households,
            "created_residents": self.created_residents,
            "errors": [{"row": e.row, "field": e.field, "message": e.message} for e in self.errors],
        }


# --- reading files ---------------------------------------------------------------------


def _fold(text: str) -> str:
    return " ".join(str(text).split()).casefold()


def _header_map() -> dict[str, str]:
    mapping = {}
    for column in COLUMNS:
        for name in (column.key, column.header_zh, *column.aliases):
            mapping[_fold(name)] = column.key
    return mapping


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        # A number typed into a cell: 13812345678 arrives as 13812345678.0.
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


def _read_bytes(source, filename: str | None) -> tuple[bytes, str]:
    if isinstance(source, str | Path):
        path = Path(source)
        filename = filename or path.name
        if path.stat().st_size > MAX_BYTES:
            raise _too_large()
        return path.read_bytes(), filename
    if isinstance(source, bytes | bytearray):
        data = bytes(source)
    else:
        filename = filename or getattr(source, "name", "") or ""
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise _too_large()
    return data, filename or ""


def _too_large() -> InvalidInput:
    return InvalidInput(
        _("The file is larger than %(mb)d MB; split it into several files.") % {"mb": MAX_BYTES // 2**20},
        field="file",
    )


def _decode_csv(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise InvalidInput(
            _("The CSV file is neither UTF-8 nor GB18030 text; save it again as “CSV UTF-8”."), field="file"
        ) from None


def _csv_rows(data: bytes) -> Iterator[list]:
    text = _decode_csv(data)
    try:
        yield from csv.reader(io.StringIO(text, newline=""))
    except csv.Error as exc:
        raise InvalidInput(
            _("The CSV file cannot be read: %(reason)s.") % {"reason": exc}, field="file"
        ) from None


def _xlsx_rows(data: bytes) -> Iterator[tuple]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    unreadable = InvalidInput(_("The file is not a readable .xlsx workbook."), field="file")
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        raise unreadable from None
    except Exception:  # a damaged workbook fails deep inside openpyxl/ElementTree in many ways
        raise unreadable from None
    try:
        sheet = workbook.worksheets[0]
        # Rows are parsed lazily, so a damaged sheet can fail here as well.
        yield from sheet.iter_rows(values_only=True)
    except Exception:
        raise unreadable from None
    finally:
        workbook.close()


def parse_ledger(source: str | Path | bytes | IO[bytes], filename: str | None = None) -> list[LedgerRow]:
    """Read a resident ledger from a .csv or .xlsx file (a path, bytes or a binary file object).

    Raises :class:`InvalidInput` (field ``file``) for a file that cannot be read as a whole:
    another format, too large, more than ``MAX_ROWS`` rows, or a header without a required column.
    Blank rows are skipped; row numbers stay those a spreadsheet shows.
    """
    data, filename = _read_bytes(source, filename)
    suffix = Path(filename).suffix.lower()
    if suffix == ".csv":
        raw_rows: Iterable = _csv_rows(data)
    elif suffix == ".xlsx":
        raw_rows = _xlsx_rows(data)
    else:
        raise InvalidInput(
            _("A ledger must be a .csv or .xlsx file (an old .xls workbook can be saved as .xlsx in Excel)."),
            field="file",
        )
    rows: list[LedgerRow] = []
    keys: list[str | None] | None = None
    for number, raw in enumerate(raw_rows, start=1):
        cells = [_cell_text(v) for v in raw]
        if keys is None:
            keys = _header_keys(cells)
            continue
        if not any(cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise InvalidInput(
                _("The file has more than %(max)d rows; split it into several files.") % {"max": MAX_ROWS},
                field="file",
            )
        values = {key: "" for key in COLUMN_KEYS}
        for key, cell in zip(keys, cells, strict=False):
            if key is not None:
                values[key] = cell
        rows.append(LedgerRow(number, values))
    if keys is None:
        raise InvalidInput(_("The file is empty; the first row must name the columns."), field="file")
    return rows


def _is_chinese() -> bool:
    return (translation.get_language() or "").startswith("zh")


def _listing(items: Iterable[str]) -> str:
    return ("、" if _is_chinese() else ", ").join(items)


def _column_name(column: Column) -> str:
    """A column as the person's spreadsheet heads it, in their language: the Chinese header on Chinese
    pages ("户编号"), the English heading a file may use instead, with the Chinese one, on English pages
    ("household_code (户编号)")."""
    return column.header_zh if _is_chinese() else f"{column.key} ({column.header_zh})"


def _header_keys(cells: list[str]) -> list[str | None]:
    mapping = _header_map()
    keys: list[str | None] = []
    unknown = []
    for position, cell in enumerate(cells, start=1):
        folded = _fold(cell)
        if not folded or folded in IGNORED_HEADERS:
            keys.append(None)
        elif folded in mapping:
            key = mapping[folded]
            if key in keys:
                raise InvalidInput(
                    _("Column %(column)d (“%(header)s”) repeats the column %(name)s.")
                    % {"column": position, "header": cell, "name": _column_name(COLUMN_BY_KEY[key])},
                    field="file",
                )
            keys.append(key)
        else:
            keys.append(None)
            unknown.append(cell)
    accepted = _listing(_column_name(c) for c in COLUMNS)
    if unknown:
        raise InvalidInput(
            _("Unknown column %(columns)s in row 1; the columns are: %(accepted)s.")
            % {"columns": _listing(f"“{u}”" for u in unknown), "accepted": accepted},
            field="file",
        )
    missing = [_column_name(c) for c in COLUMNS if c.required and c.key not in keys]
    if missing:
        raise InvalidInput(
            _("Row 1 lacks the required column %(columns)s; the columns are: %(accepted)s.")
            % {"columns": _listing(missing), "accepted": accepted},
            field="file",
        )
    return keys


# --- choices ---------------------------------------------------------------------------


def _choice_lookup(choices, aliases: dict) -> dict[str, str]:
    """Every accepted spelling (value, English and Chinese label, alias) → the stored value."""
    lookup: dict[str, str] = {}
    for value, label in choices.choices:
        lookup[_fold(value)] = value
        for language in ("en", "zh-hans"):
            with translation.override(language):
                lookup[_fold(str(label))] = value
    for value, words in aliases.items():
        for word in words:
            lookup[_fold(word)] = str(value)
    return lookup


def _accepted(choices, aliases: dict) -> str:
    """The words a cell may hold, as the person reading the message says them: the register's Chinese
    word on Chinese pages ("户主、配偶 …"), the label with that word on English ones ("Head of household
    (户主), …"); never the stored codes."""
    words = []
    for value, label in choices.choices:
        chinese = aliases[value][0] if value in aliases else ""
        if _is_chinese():
            words.append(chinese or str(label))
        else:
            words.append(f"{label} ({chinese})" if chinese else str(label))
    return _listing(words)


@dataclass
class _Lookups:
    relation: dict[str, str]
    residence: dict[str, str]
    tag: dict[str, str]

    @classmethod
    def build(cls) -> _Lookups:
        return cls(
            _choice_lookup(Relation, RELATION_ALIASES),
            _choice_lookup(ResidenceStatus, RESIDENCE_ALIASES),
            _choice_lookup(ResidentTag, TAG_ALIASES),
        )


# --- import ----------------------------------------------------------------------------


@dataclass
class _Valid:
    """A row that passed every check, ready to write."""

    row: int
    household_code: str
    unit_id: int
    grid_id: int
    household_id: int | None
    name: str
    id_number: str
    phone: str
    relation: str
    residence_status: str
    tags: list[str]


def _split_tags(text: str) -> list[str]:
    for separator in TAG_SEPARATORS[1:]:
        text = text.replace(separator, TAG_SEPARATORS[0])
    return [t.strip() for t in text.split(TAG_SEPARATORS[0]) if t.strip()]


def _check_row(row: LedgerRow, lookups: _Lookups, errors: list[RowError]) -> dict | None:
    """Single-row checks; appends every problem of the row and returns the cleaned values or None."""
    values = row.values
    found: list[RowError] = []

    def problem(name: str, message: str) -> None:
        found.append(RowError(row.row, name, message))

    for column in COLUMNS:
        if column.required and not values[column.key]:
            problem(column.key, _("This column is required."))
    clean: dict = {}
    code = values["household_code"]
    if code and len(code) > 32:
        problem("household_code", _("A household code has at most 32 characters."))
    for key in ("household_code", "name"):
        if values[key][:1] in FORMULA_STARTS or CONTROL_CHARACTERS.search(values[key]):
            problem(key, _("Must not start with =, +, - or @, nor hold control characters."))
        elif hidden_character(values[key]):
            problem(
                key,
                _("Must not hold zero-width or text-direction characters (found %(character)s).")
                % {"character": hidden_character(values[key])},
            )
    name = " ".join(values["name"].split())
    if name and len(name) > 64:
        problem("name", _("A name has at most 64 characters."))
    clean["name"] = name
    if values["id_number"]:
        try:
            clean["id_number"] = clean_id_number(values["id_number"])
        except InvalidInput as exc:
            problem(exc.field or "id_number", exc.message)
    clean["phone"] = ""
    if values["phone"]:
        try:
            clean["phone"] = clean_phone(values["phone"])
        except InvalidInput as exc:
            problem(exc.field or "phone", exc.message)
    if values["relation"]:
        clean["relation"] = lookups.relation.get(_fold(values["relation"]))
        if clean["relation"] is None:
            problem(
                "relation",
                _("Unknown relation; accepted: %(accepted)s.")
                % {"accepted": _accepted(Relation, RELATION_ALIASES)},
            )
    clean["residence_status"] = ResidenceStatus.REGISTERED_LIVING_HERE.value
    if values["residence_status"]:
        status = lookups.residence.get(_fold(values["residence_status"]))
        if status is None:
            problem(
                "residence_status",
                _("Unknown residence status; accepted: %(accepted)s.")
                % {"accepted": _accepted(ResidenceStatus, RESIDENCE_ALIASES)},
            )
        clean["residence_status"] = status
    tags = []
    for word in _split_tags(values["tags"]):
        tag = lookups.tag.get(_fold(word))
        if tag is None:
            problem(
                "tags",
                _("Unknown tag; separate tags with “;” and use: %(accepted)s.")
                % {"accepted": _accepted(ResidentTag, TAG_ALIASES)},
            )
            break
        tags.append(tag)
    clean["tags"] = list(dict.fromkeys(tags))
    errors.extend(found)
    return None if found else clean


def _chunks(items: list, size: int = 500) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _units_in_scope(
    actor, building_codes: set[str]
) -> tuple[set[str], dict[tuple[str, str], tuple[int, int]]]:
    """Buildings the actor may import into, and their units by (building code, number)."""
    units = Unit.objects.restrict(actor, Action.VIEW_PLACES)
    buildings: set[str] = set()
    by_number: dict[tuple[str, str], tuple[int, int]] = {}
    for chunk in _chunks(sorted(building_codes)):
        rows = units.filter(building__code__in=chunk).values_list(
            "id", "building__code", "number", "building__grid_id"
        )
        for unit_id, building_code, number, grid_id in rows:
            buildings.add(building_code)
            by_number[(building_code, number)] = (unit_id, grid_id)
    # A building in scope without any unit is still "found": its unit is what is missing.
    for chunk in _chunks(sorted(building_codes - buildings)):
        buildings.update(
            Building.objects.restrict(actor, Action.VIEW_PLACES)
            .filter(code__in=chunk)
            .values_list("code", flat=True)
        )
    return buildings, by_number


def _households(actor, codes: set[str]) -> tuple[dict[str, tuple[int, int]], set[str]]:
    """Existing households by code → (id, unit id) in the actor's scope; codes taken elsewhere."""
    in_scope: dict[str, tuple[int, int]] = {}
    taken: set[str] = set()
    scoped = Household.objects.restrict(actor, Action.CHANGE_PEOPLE)
    for chunk in _chunks(sorted(codes)):
        taken.update(Household.objects.filter(code__in=chunk).values_list("code", flat=True))
        for pk, code, unit_id in scoped.filter(code__in=chunk).values_list("id", "code", "unit_id"):
            in_scope[code] = (pk, unit_id)
    return in_scope, taken - set(in_scope)


def _registered(indexes: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(indexes):
        found.update(
            Resident.objects.filter(id_number_index__in=chunk).values_list("id_number_index", flat=True)
        )
    return found


def validate_rows(*, actor, rows: list[LedgerRow]) -> tuple[list[_Valid], list[RowError]]:
    """Check every row against the file, the register and the actor's area; write nothing."""
    lookups = _Lookups.build()
    errors: list[RowError] = []
    cleaned: list[tuple[LedgerRow, dict | None]] = [(row, _check_row(row, lookups, errors)) for row in rows]

    building_codes = {row.values["building_code"] for row in rows if row.values["building_code"]}
    buildings, units = _units_in_scope(actor, building_codes)
    households, taken = _households(
        actor, {row.values["household_code"] for row in rows if row.values["household_code"]}
    )

    # Blind indexes of the well-formed ID numbers, to find duplicates in the file and the register.
    index_of: dict[int, str] = {}
    for row, clean in cleaned:
        if clean is not None:
            index_of[row.row] = vault.blind_index("id_number", clean["id_number"])
    registered = _registered(sorted(set(index_of.values())))

    first_row_of_index: dict[str, int] = {}
    unit_of_new_household: dict[str, tuple[int, int]] = {}  # code → (unit id, first row)
    valid: list[_Valid] = []
    for row, clean in cleaned:
        values = row.values
        row_errors: list[RowError] = []
        building_code, number, code = values["building_code"], values["unit_number"], values["household_code"]
        unit = None
        if building_code and building_code not in buildings:
            row_errors.append(
                RowError(
                    row.row,
                    "building_code",
                    _("Building %(code)s not found in your area.") % {"code": building_code},
                )
            )
        elif building_code and number:
            unit = units.get((building_code, number))
            if unit is None:
                row_errors.append(
                    RowError(
                        row.row,
                        "unit_number",
                        _("Unit %(number)s not found in building %(code)s.")
                        % {"number": number, "code": building_code},
                    )
                )
        household_id = None
        if code and unit is not None:
            if code in taken:
                row_errors.append(
                    RowError(row.row, "household_code", _("This household code is in use outside your area."))
                )
            elif code in households:
                household_id, household_unit = households[code]
                if household_unit != unit[0]:
                    row_errors.append(
                        RowError(
                            row.row, "household_code", _("This household is registered in another unit.")
                        )
                    )
            elif code in unit_of_new_household and unit_of_new_household[code][0] != unit[0]:
                row_errors.append(
                    RowError(
                        row.row,
                        "household_code",
                        _("Row %(first)d puts this household in another unit.")
                        % {"first": unit_of_new_household[code][1]},
                    )
                )
            else:
                unit_of_new_household.setdefault(code, (unit[0], row.row))
        index = index_of.get(row.row)
        if index is not None:
            if index in first_row_of_index:
                row_errors.append(
                    RowError(
                        row.row,
                        "id_number",
                        _("The same ID number is on row %(first)d.") % {"first": first_row_of_index[index]},
                    )
                )
            else:
                first_row_of_index[index] = row.row
                if index in registered:
                    row_errors.append(
                        RowError(
                            row.row, "id_number", _("A resident with this ID number is already registered.")
                        )
                    )
        errors.extend(row_errors)
        if clean is None or row_errors or unit is None:
            continue
        valid.append(
            _Valid(
                row=row.row,
                household_code=code,
                unit_id=unit[0],
                grid_id=unit[1],
                household_id=household_id,
                name=clean["name"],
                id_number=clean["id_number"],
                phone=clean["phone"],
                relation=clean["relation"],
                residence_status=clean["residence_status"],
                tags=clean["tags"],
            )
        )
    errors.sort(
        key=lambda e: (e.row, COLUMN_KEYS.index(e.field) if e.field in COLUMN_KEYS else len(COLUMN_KEYS))
    )
    return valid, errors


def import_residents(
    *,
    actor,
    rows: list[LedgerRow] | None = None,
    file: str | Path | bytes | IO[bytes] | None = None,
    filename: str | None = None,
    dry_run: bool = True,
) -> ImportReport:
    """Import a resident ledger (``rows`` from :func:`parse_ledger`, or a ``file`` to parse).

    A dry run reports every problem and writes nothing. A real run writes only when no row has a
    problem — otherwise it returns the same report and writes nothing — and then creates the
    households and residents in one transaction, with one audit entry per created household and
    resident and one ``ledger.import`` summary.
    """
    if not (can(actor, Action.IMPORT_LEDGER) and can(actor, Action.CHANGE_PEOPLE)):
        raise PermissionDenied(_("Your role cannot import ledgers."))
    if rows is None:
        if file is None:
            raise InvalidInput(_("Choose a ledger file."), field="file")
        rows = parse_ledger(file, filename)
    report = ImportReport(dry_run=dry_run, rows=len(rows))
    if not rows:
        report.errors.append(RowError(2, "file", _("The file has a header but no resident rows.")))
        return report
    valid, report.errors = validate_rows(actor=actor, rows=rows)
    new_households = {v.household_code for v in valid if v.household_id is None}
    report.created_households = len(new_households)
    report.created_residents = len(valid)
    if report.errors:
        report.created_households = report.created_residents = 0
        return report
    if dry_run:
        return report
    _write(actor=actor, valid=valid, report=report)
    return report


@transaction.atomic(durable=True)
def _write(*, actor, valid: list[_Valid], report: ImportReport) -> None:
    households: dict[str, Household] = {}
    first_row: dict[str, int] = {}
    for item in valid:
        if item.household_id is None and item.household_code not in households:
            households[item.household_code] = Household(
                code=item.household_code, unit_id=item.unit_id, grid_id=item.grid_id
            )
            first_row[item.household_code] = item.row
    residents = []
    for item in valid:
        residents.append(
            Resident(
                household_id=item.household_id,
                name=item.name,
                id_number=item.id_number,
                id_number_index=vault.blind_index("id_number", item.id_number),
                phone=item.phone,
                phone_index=vault.blind_index("phone", item.phone) if item.phone else "",
                birth_date=birth_date_from_id(item.id_number),
                sex=sex_from_id(item.id_number),
                relation=item.relation,
                residence_status=item.residence_status,
                tags=item.tags,
            )
        )
    try:
        with transaction.atomic():
            Household.objects.bulk_create(households.values(), batch_size=500)
            for item, resident in zip(valid, residents, strict=True):
                if resident.household_id is None:
                    resident.household_id = households[item.household_code].pk
            Resident.objects.bulk_create(residents, batch_size=500)
    except IntegrityError:
        # Someone registered one of these people or household codes since the check: start over.
        raise InvalidInput(
            _("Some of these residents or households were registered meanwhile; run the import again."),
            field="file",
        ) from None

    touched = sorted({r.household_id for r in residents})
    in_scope = sum(
        Household.objects.restrict(actor, Action.CHANGE_PEOPLE).filter(pk__in=chunk).count()
        for chunk in _chunks(touched)
    )
    if in_scope != len(touched):
        raise NotFound(_("Building not found."))

    events = [
        Event(
            AuditAction.HOUSEHOLD_CREATE,
            "household",
            h.pk,
            details={"unit": h.unit_id, "source": SOURCE, "row": first_row[code]},
        )
        for code, h in households.items()
    ]
    events += [
        Event(AuditAction.RESIDENT_CREATE, "resident", r.pk, details={"source": SOURCE, "row": item.row})
        for item, r in zip(valid, residents, strict=True)
    ]
    events.append(
        Event(
            AuditAction.LEDGER_IMPORT,
            "ledger",
            "residents",
            details={
                "rows": report.rows,
                "created_households": len(households),
                "created_residents": len(residents),
            },
        )
    )
    record(actor=actor, events=events)


# --- export ----------------------------------------------------------------------------

EXPORT_COLUMNS = (*((c.key, c.header_zh) for c in COLUMNS), *EXPORT_ONLY)
EXPORT_WIDTHS = {"name": 12, "id_number": 22, "phone": 15, "relation": 12, "residence_status": 22, "tags": 20}


def _label(choices, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _text_cells(sheet, *values) -> list:
    """Cells for one row; strings stay text even when they look like a formula, control characters go."""
    from openpyxl.cell import WriteOnlyCell

    cells = []
    for value in values:
        if isinstance(value, str):
            value = CONTROL_CHARACTERS.sub("", value)
            if value.startswith("="):
                cell = WriteOnlyCell(sheet, value)
                cell.data_type = "s"
                value = cell
        cells.append(value)
    return cells


def _grid_for_export(actor, grid_code: str) -> Region:
    grid = (
        Region.objects.restrict(actor, Action.EXPORT_LEDGER)
        .filter(code=grid_code, kind=RegionKind.GRID)
        .first()
    )
    if grid is None:
        raise NotFound(_("Grid not found."))
    return grid


def export_residents_xlsx(
    *, actor, grid_code: str, reveal_fields: Iterable[str] = (), purpose: str = ""
) -> bytes:
    """The residents of one grid in the actor's area as an XLSX workbook.

    ID numbers and phones are masked unless ``reveal_fields`` names them with a ``purpose``; a
    reveal is checked like any other (:func:`clean_reveal_request`) and audited per resident and
    field. Every export leaves a ``ledger.export`` audit entry.
    """
    if not can(actor, Action.EXPORT_LEDGER):
        raise PermissionDenied(_("Your role cannot export ledgers."))
    revealed: list[str] = []
    reveal_fields = list(reveal_fields or [])
    if reveal_fields:
        revealed, purpose = clean_reveal_request(actor, reveal_fields, purpose)
        other = [f for f in revealed if f not in LEDGER_REVEALABLE]
        if other:
            raise InvalidInput(
                _("A ledger export can reveal only: %(accepted)s.")
                % {
                    "accepted": _listing(
                        str(Resident._meta.get_field(f).verbose_name) for f in LEDGER_REVEALABLE
                    )
                },
                field="fields",
            )
    else:
        purpose = ""
    grid = _grid_for_export(actor, grid_code)
    residents = (
        Resident.objects.restrict(actor, Action.EXPORT_LEDGER)
        .filter(household__grid=grid)
        .order_by("household__unit__building__code", "household__unit__number", "household__code", "id")
    )
    care: dict[int, list[str]] = defaultdict(list)
    for resident_id, kind in (
        CareProfile.objects.filter(resident__household__grid=grid, is_active=True)
        .order_by("resident_id", "kind")
        .values_list("resident_id", "kind")
        .iterator(chunk_size=2000)
    ):
        care[resident_id].append(_label(CareKind, kind))

    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(
        title="".join(c for c in grid.code if c not in "[]:*?/\\")[:31] or "residents"
    )
    chinese = (translation.get_language() or "").startswith("zh")
    for letter, (key, _header) in zip("ABCDEFGHIJKL", EXPORT_COLUMNS, strict=True):
        sheet.column_dimensions[letter].width = EXPORT_WIDTHS.get(key, 10)
    sheet.freeze_panes = "A2"
    sheet.append([zh if chinese else key for key, zh in EXPORT_COLUMNS])

    today = clock.today()
    tag_separator = "；" if chinese else "; "
    exported: list[int] = []
    rows = residents.values_list(
        "id",
        "household__code",
        "household__unit__building__code",
        "household__unit__number",
        "name",
        "id_number",
        "phone",
        "relation",
        "residence_status",
        "tags",
        "birth_date",
        "sex",
    )
    for pk, code, building, unit, name, id_number, phone, relation, status, tags, born, sex in rows.iterator(
        chunk_size=2000
    ):
        exported.append(pk)
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        sheet.append(
            _text_cells(
                sheet,
                code,
                building,
                unit,
                name,
                id_number if "id_number" in revealed else vault.mask_id_number(id_number),
                phone if "phone" in revealed else vault.mask_phone(phone),
                _label(Relation, relation),
                _label(ResidenceStatus, status),
                tag_separator.join(_label(ResidentTag, t) for t in tags or []),
                age,
                _label(Sex, sex),
                tag_separator.join(care.get(pk, [])),
            )
        )
    buffer = io.BytesIO()
    workbook.save(buffer)

    events = [
        Event(AuditAction.RESIDENT_REVEAL, "resident", pk, purpose, {"field": f, "via": "ledger-export"})
        for pk in exported
        for f in revealed
    ]
    events.append(
        Event(
            AuditAction.LEDGER_EXPORT,
            "ledger",
            grid.code,
            purpose,
            {"grid": grid.code, "count": len(exported), "revealed": revealed},
        )
    )
    record(actor=actor, events=events)
    return buffer.getvalue()


def export_filename(grid_code: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in grid_code)
    return f"residents-{safe}-{clock.today().isoformat()}.xlsx"
