"""Resident ledgers: all-or-nothing import from CSV/XLSX, masked and revealed XLSX export.

Every input file is generated in ``tmp_path`` with synthetic ID numbers; nothing personal is committed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass
from itertools import count

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import resolve
from django.utils import translation
from openpyxl import Workbook, load_workbook

from banyan.audit.models import AuditEntry
from banyan.core import vault
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.people import ledgers
from banyan.people.models import CareProfile, Household, Resident
from banyan.people.validators import check_character
from banyan.places.models import Building, Region, Unit

HEADER = [
    "household_code",
    "building_code",
    "unit_number",
    "name",
    "id_number",
    "phone",
    "relation",
    "residence_status",
    "tags",
]
HEADER_ZH = ["户编号", "楼栋编号", "房号", "姓名", "身份证号", "手机号", "与户主关系", "居住状态", "标签"]
MASKED_ID = re.compile(r"^\d{3}\*{11}\d{3}[\dX]$")
MASKED_PHONE = re.compile(r"^1\d{2}\*{4}\d{4}$")
_sequence = count(1)


def fresh_id_numbers(n: int, *, born: str = "19560312") -> list[str]:
    """Valid synthetic ID numbers that nobody in the register has (999 per birth day, then the next day)."""
    start = dt.date(int(born[:4]), int(born[4:6]), int(born[6:]))
    values: list[str] = []
    while len(values) < n:
        candidates = []
        for _ in range(n - len(values)):
            serial = next(_sequence)
            day = start + dt.timedelta(days=serial // 999)
            first17 = f"110101{day:%Y%m%d}{serial % 999 + 1:03d}"
            candidates.append(first17 + check_character(first17))
        indexes = {vault.blind_index("id_number", v): v for v in candidates}
        taken = set()
        for start_at in range(0, len(indexes), 500):
            chunk = list(indexes)[start_at : start_at + 500]
            taken.update(
                Resident.objects.filter(id_number_index__in=chunk).values_list("id_number_index", flat=True)
            )
        values += [v for index, v in indexes.items() if index not in taken]
    return values


def wrong_check_character(value: str) -> str:
    return value[:17] + ("1" if value[17] != "1" else "2")


def fresh_phone() -> str:
    return f"1390{next(_sequence) % 10_000_000:07d}"


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English; the Chinese headers and labels are accepted all the same."""
    with translation.override("en"):
        yield


@dataclass
class Place:
    grid: Region
    building: Building
    unit: Unit
    other_unit: Unit
    other_grid: Region
    other_building: Building
    other_grid_unit: Unit


@pytest.fixture
def place(users) -> Place:
    """grid01's grid with a building and two units, and grid02's grid with one of its units."""
    grid = users["grid01"].region
    other_grid = users["grid02"].region
    assert grid.kind == "grid" and other_grid.kind == "grid" and grid != other_grid
    units = list(
        Unit.objects.filter(building__grid=grid).select_related("building").order_by("building__code", "id")
    )
    unit = units[0]
    other_unit = next(u for u in units if u.building_id == unit.building_id and u != unit)
    other_grid_unit = Unit.objects.filter(building__grid=other_grid).select_related("building").first()
    return Place(grid, unit.building, unit, other_unit, other_grid, other_grid_unit.building, other_grid_unit)


def counts() -> tuple[int, int, int]:
    return Resident.objects.count(), Household.objects.count(), AuditEntry.objects.count()


def new_entries(before: int):
    return AuditEntry.objects.filter(id__gt=before).order_by("id")


def last_audit_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def csv_bytes(rows: list[list[str]], *, header=HEADER, encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    return buffer.getvalue().encode(encoding)


def write_csv(tmp_path, rows, name: str = "ledger.csv", **kwargs):
    path = tmp_path / name
    path.write_bytes(csv_bytes(rows, **kwargs))
    return path


def good_rows(place: Place, n: int = 3, *, code: str = "T-LEDGER-H1") -> list[list[str]]:
    ids = fresh_id_numbers(n)
    relations = ["head", "spouse", "child", "parent", "grandchild"]
    return [
        [
            code,
            place.building.code,
            place.unit.number,
            f"测试{i}",
            ids[i],
            fresh_phone(),
            relations[i % 5],
            "",
            "",
        ]
        for i in range(n)
    ]


def read_xlsx(content: bytes) -> list[tuple]:
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    try:
        return [
            tuple("" if v is None else v for v in row)
            for row in workbook.worksheets[0].iter_rows(values_only=True)
        ]
    finally:
        workbook.close()


# --- import: checking ------------------------------------------------------------------------


def test_dry_run_reports_every_bad_row_and_writes_nothing(users, place):
    existing = Resident.objects.filter(household__grid=place.grid).first()
    ids = fresh_id_numbers(9)
    b, u = place.building.code, place.unit.number
    rows = [
        ["T-H1", b, u, "甲", ids[0], "", "head", "", ""],  # row 2: good
        ["T-H1", b, u, "乙", wrong_check_character(ids[1]), "", "spouse", "", ""],  # 3
        ["T-H1", b, u, "丙", ids[2][:15], "", "child", "", ""],  # 4
        ["T-H1", b, u, "丁", ids[3], "", "cousin", "", ""],  # 5
        ["T-H1", b, u, "", ids[4], "", "child", "", ""],  # 6
        ["T-H1", b, u, "戊", ids[0], "", "child", "", ""],  # 7: same ID as row 2
        ["T-H1", b, u, "己", existing.id_number, "", "child", "", ""],  # 8: registered already
        ["T-H2", "NO-SUCH-BUILDING", "1", "庚", ids[5], "", "head", "", ""],  # 9
        [
            "T-H3",
            place.other_building.code,
            place.other_grid_unit.number,
            "辛",
            ids[6],
            "",
            "head",
            "",
            "",
        ],  # 10
        ["T-H1", b, u, "壬", ids[7], "1234", "child", "", ""],  # 11: bad phone
        ["T-H1", b, u, "癸", ids[8], "", "child", "", "vip"],  # 12: unknown tag
    ]
    before = counts()

    report = ledgers.import_residents(
        actor=users["grid01"], rows=ledgers.parse_ledger(csv_bytes(rows), "ledger.csv"), dry_run=True
    )

    assert [(e.row, e.field) for e in report.errors] == [
        (3, "id_number"),
        (4, "id_number"),
        (5, "relation"),
        (6, "name"),
        (7, "id_number"),
        (8, "id_number"),
        (9, "building_code"),
        (10, "building_code"),
        (11, "phone"),
        (12, "tags"),
    ]
    messages = {e.row: e.message for e in report.errors}
    assert "check character" in messages[3]
    assert "18 characters" in messages[4]
    assert "Head of household (户主)" in messages[5]
    assert messages[6] == "This column is required."
    assert messages[7] == "The same ID number is on row 2."
    assert "already registered" in messages[8]
    # Missing and out-of-scope buildings read the same.
    assert messages[9] == "Building NO-SUCH-BUILDING not found in your area."
    assert messages[10] == f"Building {place.other_building.code} not found in your area."
    # No message echoes a personal value.
    personal = [*ids, existing.id_number, "1234"]
    assert not [e for e in report.errors if any(p in e.message for p in personal)]
    assert report.created_residents == report.created_households == 0
    assert counts() == before


def test_formulas_and_control_characters_are_refused_in_names_and_codes(users, place):
    rows = good_rows(place, 3)
    rows[0][3] = '=HYPERLINK("http://example.com","x")'
    rows[1][0] = "@SUM(A1)"
    rows[2][3] = "测\x07试"

    report = ledgers.import_residents(actor=users["grid01"], file=csv_bytes(rows), filename="a.csv")

    assert [(e.row, e.field) for e in report.errors] == [(2, "name"), (3, "household_code"), (4, "name")]


def test_export_writes_formula_like_text_as_text(users, place):
    resident = Resident.objects.filter(household__grid=place.grid).first()
    Resident.objects.filter(pk=resident.pk).update(name="=1+1")

    content = ledgers.export_residents_xlsx(actor=users["grid01"], grid_code=place.grid.code)

    workbook = load_workbook(io.BytesIO(content))
    cells = [row[3] for row in workbook.worksheets[0].iter_rows(min_row=2) if row[3].value == "=1+1"]
    assert len(cells) == 1 and cells[0].data_type == "s"


def test_dry_run_without_errors_counts_what_it_would_create(users, place):
    rows = good_rows(place, 3) + good_rows(place, 2, code="T-LEDGER-H2")
    before = counts()

    report = ledgers.import_residents(
        actor=users["grid01"], file=csv_bytes(rows), filename="a.csv", dry_run=True
    )

    assert report.errors == []
    assert (report.created_households, report.created_residents) == (2, 5)
    assert counts() == before


def test_household_code_must_keep_to_one_unit(users, place):
    existing = Household.objects.filter(grid=place.grid).select_related("unit").first()
    ids = fresh_id_numbers(3)
    b = place.building.code
    rows = [
        ["T-NEW", b, place.unit.number, "甲", ids[0], "", "head", "", ""],
        ["T-NEW", b, place.other_unit.number, "乙", ids[1], "", "spouse", "", ""],
        [
            existing.code,
            b,
            place.other_unit.number if existing.unit != place.other_unit else place.unit.number,
            "丙",
            ids[2],
            "",
            "child",
            "",
            "",
        ],
    ]

    report = ledgers.import_residents(actor=users["grid01"], file=csv_bytes(rows), filename="a.csv")

    assert [(e.row, e.field, e.message) for e in report.errors] == [
        (3, "household_code", "Row 2 puts this household in another unit."),
        (4, "household_code", "This household is registered in another unit."),
    ]


def test_a_household_code_used_outside_the_area_is_refused(users, place):
    foreign = Household.objects.filter(grid=place.other_grid).first()
    rows = [
        [
            foreign.code,
            place.building.code,
            place.unit.number,
            "甲",
            fresh_id_numbers(1)[0],
            "",
            "head",
            "",
            "",
        ]
    ]

    report = ledgers.import_residents(actor=users["grid01"], file=csv_bytes(rows), filename="a.csv")

    assert [(e.row, e.field) for e in report.errors] == [(2, "household_code")]


def test_a_real_run_with_one_bad_row_writes_nothing(users, place):
    rows = good_rows(place, 4)
    rows[2][4] = wrong_check_character(rows[2][4])
    before = counts()

    report = ledgers.import_residents(
        actor=users["grid01"], file=csv_bytes(rows), filename="a.csv", dry_run=False
    )

    assert [(e.row, e.field) for e in report.errors] == [(4, "id_number")]
    assert report.created_residents == 0
    assert counts() == before


@pytest.mark.parametrize(
    "problem, message",
    [
        ("ledger.xls", "must be a .csv or .xlsx"),
        ("missing column", "lacks the required column id_number (身份证号)"),
        ("unknown column", "Unknown column “出生地”"),
        ("too many rows", "more than 3 rows"),
        ("empty", "The file is empty"),
    ],
)
def test_files_that_cannot_be_read_as_a_whole_are_refused(users, place, monkeypatch, problem, message):
    rows = good_rows(place, 4)
    filename, data = "ledger.csv", csv_bytes(rows)
    if problem == "ledger.xls":
        filename = problem
    elif problem == "missing column":
        data = csv_bytes([r[:4] + r[5:] for r in rows], header=HEADER[:4] + HEADER[5:])
    elif problem == "unknown column":
        data = csv_bytes([[*r, "x"] for r in rows], header=[*HEADER, "出生地"])
    elif problem == "too many rows":
        monkeypatch.setattr(ledgers, "MAX_ROWS", 3)
    else:
        data = b""
    before = counts()

    with pytest.raises(InvalidInput) as caught:
        ledgers.import_residents(actor=users["grid01"], file=data, filename=filename, dry_run=False)

    assert caught.value.field == "file"
    assert message in caught.value.message
    assert counts() == before


@pytest.mark.parametrize("username", ["volunteer01", "resident01", "property01", "auditor"])
def test_roles_without_the_import_right_are_refused(users, place, username):
    before = counts()
    with pytest.raises(PermissionDenied):
        ledgers.import_residents(
            actor=users[username], file=csv_bytes(good_rows(place)), filename="a.csv", dry_run=False
        )
    assert counts() == before


# --- import: writing -------------------------------------------------------------------------


def test_a_good_real_run_creates_households_and_residents_encrypted_and_audited(users, place):
    rows = good_rows(place, 3) + good_rows(place, 2, code="T-LEDGER-H2")
    rows[0][8] = "party_member;owner"
    resident_count, household_count, _ = counts()
    audit_before = last_audit_id()

    report = ledgers.import_residents(
        actor=users["grid01"], file=csv_bytes(rows), filename="a.csv", dry_run=False
    )

    assert report.errors == []
    assert (report.created_households, report.created_residents) == (2, 5)
    assert Resident.objects.count() == resident_count + 5
    assert Household.objects.count() == household_count + 2
    household = Household.objects.get(code="T-LEDGER-H1")
    assert (household.unit_id, household.grid_id) == (place.unit.pk, place.grid.pk)

    created = []
    for row in rows:
        resident = Resident.objects.get(id_number_index=vault.blind_index("id_number", row[4]))
        assert (resident.name, resident.id_number, resident.phone) == (row[3], row[4], row[5])
        assert resident.phone_index == vault.blind_index("phone", row[5])
        assert resident.birth_date.isoformat() == f"{row[4][6:10]}-{row[4][10:12]}-{row[4][12:14]}"
        created.append(resident)
    assert created[0].tags == ["party_member", "owner"]
    assert created[0].relation == "head" and created[0].residence_status == "registered_here"

    with connection.cursor() as cursor:
        stored = []
        for resident in created:
            cursor.execute("SELECT id_number, phone FROM people_resident WHERE id = %s", [resident.pk])
            stored.append(cursor.fetchone())
    clear = {v for row in rows for v in (row[4], row[5])}
    assert len(stored) == 5
    for id_number, phone in stored:
        assert id_number.startswith("v1:") and phone.startswith("v1:")
        assert id_number not in clear and phone not in clear

    entries = list(new_entries(audit_before))
    by_action: dict[str, list[AuditEntry]] = {}
    for entry in entries:
        by_action.setdefault(entry.action, []).append(entry)
    assert sorted(by_action) == ["household.create", "ledger.import", "resident.create"]
    assert sorted((e.subject_id, e.details["row"]) for e in by_action["resident.create"]) == sorted(
        (str(r.pk), n) for n, r in enumerate(created, start=2)
    )
    assert all(e.details["source"] == "ledger-import" for e in by_action["resident.create"])
    assert len(by_action["household.create"]) == 2
    [summary] = by_action["ledger.import"]
    assert (summary.subject_type, summary.actor) == ("ledger", "grid01")
    assert summary.details == {"rows": 5, "created_households": 2, "created_residents": 5}
    logged = json.dumps([[e.details, e.purpose, e.subject_id] for e in entries], ensure_ascii=False)
    assert not [v for row in rows for v in (row[3], row[4], row[5]) if v in logged]


def test_rows_may_join_an_existing_household_in_the_same_unit(users, place):
    household = Household.objects.filter(grid=place.grid).select_related("unit__building").first()
    members = household.members.count()
    rows = [
        [
            household.code,
            household.unit.building.code,
            household.unit.number,
            "新成员",
            fresh_id_numbers(1)[0],
            "",
            "child",
            "",
            "",
        ]
    ]

    report = ledgers.import_residents(
        actor=users["grid01"], file=csv_bytes(rows), filename="a.csv", dry_run=False
    )

    assert report.errors == []
    assert (report.created_households, report.created_residents) == (0, 1)
    assert household.members.count() == members + 1


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig"])
def test_csv_with_chinese_headers_and_labels_in_gb18030_or_utf8_bom(users, place, tmp_path, encoding):
    ids = fresh_id_numbers(3)
    b, u = place.building.code, place.unit.number
    rows = [
        ["T-ZH-1", b, u, "张测试", ids[0], "138 0013 8000", "户主", "户在人在", "党员；业主"],
        ["T-ZH-1", b, u, "李测试", ids[1], "", "配偶", "人在户不在", ""],
        ["T-ZH-1", b, u, "张小测", ids[2], "", "子女", "", "志愿者"],
    ]
    path = write_csv(tmp_path, rows, header=HEADER_ZH, encoding=encoding)
    if encoding == "gb18030":
        with pytest.raises(UnicodeDecodeError):
            path.read_bytes().decode("utf-8")

    parsed = ledgers.parse_ledger(path)
    report = ledgers.import_residents(actor=users["grid01"], rows=parsed, dry_run=False)

    assert [r.row for r in parsed] == [2, 3, 4]
    assert parsed[0].values["name"] == "张测试"
    assert report.errors == []
    head, spouse, child = (
        Resident.objects.get(id_number_index=vault.blind_index("id_number", value)) for value in ids
    )
    assert (head.relation, head.residence_status, head.tags, head.phone) == (
        "head",
        "registered_here",
        ["party_member", "owner"],
        "13800138000",
    )
    assert (spouse.relation, spouse.residence_status) == ("spouse", "inflow")
    assert (child.relation, child.tags) == ("child", ["volunteer"])


def test_xlsx_import_with_numbers_typed_into_cells(users, place, tmp_path):
    ids = fresh_id_numbers(2)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER_ZH)
    sheet.append(
        ["T-XL-1", place.building.code, place.unit.number, "王测试", ids[0], 13900139000, "户主", None, None]
    )
    sheet.append([None] * 9)  # a blank row is skipped, numbering stays the spreadsheet's
    sheet.append(
        ["T-XL-1", place.building.code, place.unit.number, "赵测试", ids[1], None, "丈夫", None, None]
    )
    sheet.append(
        ["T-XL-1", place.building.code, place.unit.number, "钱测试", "12345", None, "子女", None, None]
    )
    path = tmp_path / "ledger.xlsx"
    workbook.save(path)

    with path.open("rb") as handle:
        report = ledgers.import_residents(
            actor=users["grid01"], file=handle, filename="ledger.xlsx", dry_run=True
        )
    assert [(e.row, e.field) for e in report.errors] == [(5, "id_number")]

    sheet.delete_rows(5)
    workbook.save(path)
    report = ledgers.import_residents(actor=users["grid01"], file=path, dry_run=False)

    assert report.errors == []
    first = Resident.objects.get(id_number_index=vault.blind_index("id_number", ids[0]))
    assert first.phone == "13900139000"
    second = Resident.objects.get(id_number_index=vault.blind_index("id_number", ids[1]))
    assert second.relation == "spouse" and second.household_id == first.household_id


def test_a_file_that_is_not_a_workbook_is_refused(users):
    with pytest.raises(InvalidInput, match="not a readable .xlsx"):
        ledgers.parse_ledger(b"household_code,name\n", "ledger.xlsx")


# --- export ----------------------------------------------------------------------------------


def grid_residents(grid: Region) -> list[Resident]:
    return list(Resident.objects.filter(household__grid=grid))


def test_export_is_masked_by_default_and_audited_once(users, place):
    residents = grid_residents(place.grid)
    assert residents, "the seed puts residents in grid01's grid"
    before = last_audit_id()

    content = ledgers.export_residents_xlsx(actor=users["grid01"], grid_code=place.grid.code)

    rows = read_xlsx(content)
    header, body = rows[0], rows[1:]
    assert len(header) == 12
    assert set(header[:9]) <= set(HEADER) | set(HEADER_ZH)
    assert len(body) == len(residents)
    assert all(MASKED_ID.match(row[4]) for row in body)
    assert all(row[5] == "" or MASKED_PHONE.match(row[5]) for row in body)
    clear = {r.id_number for r in residents} | {r.phone for r in residents if r.phone}
    assert not [cell for row in body for cell in row if cell in clear]
    by_mask = {vault.mask_id_number(r.id_number) for r in residents}
    assert {row[4] for row in body} == by_mask
    [entry] = new_entries(before)
    assert (entry.action, entry.subject_type, entry.subject_id, entry.purpose) == (
        "ledger.export",
        "ledger",
        place.grid.code,
        "",
    )
    assert entry.details == {"grid": place.grid.code, "count": len(residents), "revealed": []}


def test_export_lists_care_kinds_and_ages(users, place):
    profile = CareProfile.objects.filter(resident__household__grid=place.grid, is_active=True).first()
    assert profile is not None, "the seed gives grid01's grid residents with care profiles"
    content = ledgers.export_residents_xlsx(actor=users["grid01"], grid_code=place.grid.code)
    masked = vault.mask_id_number(profile.resident.id_number)
    [row] = [r for r in read_xlsx(content)[1:] if r[4] == masked and r[3] == profile.resident.name]
    assert row[11] != ""
    assert isinstance(row[9], int)


def test_export_with_reveal_and_purpose_gives_clear_values_and_audits_each(users, place):
    residents = grid_residents(place.grid)
    before = last_audit_id()

    content = ledgers.export_residents_xlsx(
        actor=users["grid01"],
        grid_code=place.grid.code,
        reveal_fields=["id_number", "phone"],
        purpose="防汛转移核对",
    )

    body = read_xlsx(content)[1:]
    assert sorted(row[4] for row in body) == sorted(r.id_number for r in residents)
    assert sorted(row[5] for row in body) == sorted(r.phone for r in residents)
    entries = list(new_entries(before))
    reveals = [e for e in entries if e.action == "resident.reveal"]
    assert len(reveals) == 2 * len(residents)
    assert {(e.subject_id, e.details["field"]) for e in reveals} == {
        (str(r.pk), f) for r in residents for f in ("id_number", "phone")
    }
    assert {e.purpose for e in entries} == {"防汛转移核对"}
    assert all(e.details["via"] == "ledger-export" for e in reveals)
    [summary] = [e for e in entries if e.action == "ledger.export"]
    assert summary.details == {
        "grid": place.grid.code,
        "count": len(residents),
        "revealed": ["id_number", "phone"],
    }


@pytest.mark.parametrize(
    "fields, purpose, error",
    [
        (["id_number"], "", InvalidInput),
        (["id_number"], "ab", InvalidInput),
        (["care_details"], "home visit plan", InvalidInput),
        (["passport"], "home visit plan", InvalidInput),
    ],
)
def test_export_reveal_needs_a_purpose_and_a_ledger_field(users, place, fields, purpose, error):
    before = counts()
    with pytest.raises(error):
        ledgers.export_residents_xlsx(
            actor=users["grid01"], grid_code=place.grid.code, reveal_fields=fields, purpose=purpose
        )
    assert counts() == before


def test_auditor_exports_masked_but_may_not_reveal(users, place):
    before = counts()
    with pytest.raises(PermissionDenied):
        ledgers.export_residents_xlsx(
            actor=users["auditor"],
            grid_code=place.grid.code,
            reveal_fields=["id_number"],
            purpose="annual review",
        )
    assert counts() == before
    rows = read_xlsx(ledgers.export_residents_xlsx(actor=users["auditor"], grid_code=place.grid.code))
    assert all(MASKED_ID.match(row[4]) for row in rows[1:])


@pytest.mark.parametrize("username", ["volunteer01", "resident01", "property01"])
def test_roles_without_the_export_right_are_refused(users, place, username):
    before = counts()
    with pytest.raises(PermissionDenied):
        ledgers.export_residents_xlsx(actor=users[username], grid_code=place.grid.code)
    assert counts() == before


@pytest.mark.parametrize("grid_code", ["other", "NO-SUCH-GRID", "community"])
def test_a_grid_worker_cannot_export_another_grid(users, place, grid_code):
    code = {
        "other": place.other_grid.code,
        "community": place.grid.parent.code,  # not a grid at all
    }.get(grid_code, grid_code)
    before = counts()
    with pytest.raises(NotFound):
        ledgers.export_residents_xlsx(actor=users["grid01"], grid_code=code)
    assert counts() == before


@pytest.mark.slow
def test_a_two_thousand_resident_grid_exports_quickly(users, place):
    import time

    rows = [
        [f"T-BULK-{i // 4}", place.building.code, place.unit.number, f"测试{i}", value, "", "other", "", ""]
        for i, value in enumerate(fresh_id_numbers(2000, born="19700101"))
    ]
    started = time.perf_counter()
    report = ledgers.import_residents(
        actor=users["grid01"], file=csv_bytes(rows), filename="a.csv", dry_run=False
    )
    imported = time.perf_counter()
    content = ledgers.export_residents_xlsx(actor=users["grid01"], grid_code=place.grid.code)
    exported = time.perf_counter()

    assert report.errors == [] and report.created_residents == 2000
    assert len(read_xlsx(content)) >= 2001
    assert imported - started < 10
    assert exported - imported < 5


# --- the command -----------------------------------------------------------------------------


def test_command_dry_run_prints_each_bad_row_and_exits_1(users, place, tmp_path):
    rows = good_rows(place, 3)
    rows[1][4] = wrong_check_character(rows[1][4])
    rows[2][6] = "cousin"
    path = write_csv(tmp_path, rows)
    out, err = io.StringIO(), io.StringIO()
    before = counts()

    with pytest.raises(CommandError) as caught:
        call_command("ledger", "import", str(path), "--dry-run", "--as", "grid01", stdout=out, stderr=err)

    assert caught.value.returncode == 1
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("row 3, id_number: ")
    assert lines[1].startswith("row 4, relation: ")
    assert rows[1][4] not in err.getvalue()
    assert counts() == before


def test_command_imports_and_prints_counts(users, place, tmp_path):
    path = write_csv(tmp_path, good_rows(place, 3))
    out = io.StringIO()

    call_command("ledger", "import", str(path), "--as", "grid01", stdout=out)

    assert out.getvalue().strip() == "3 rows checked; created 1 households and 3 residents."
    assert Household.objects.filter(code="T-LEDGER-H1").get().members.count() == 3


def test_command_exports_masked(users, place, tmp_path):
    output = tmp_path / "out.xlsx"
    call_command(
        "ledger",
        "export",
        "--grid",
        place.grid.code,
        "--as",
        "grid01",
        "-o",
        str(output),
        stdout=io.StringIO(),
    )

    body = read_xlsx(output.read_bytes())[1:]
    assert len(body) == len(grid_residents(place.grid))
    assert all(MASKED_ID.match(row[4]) for row in body)
    assert output.stat().st_mode & 0o077 == 0


def test_command_names_the_refusal(users, place, tmp_path):
    with pytest.raises(CommandError, match="Grid not found"):
        call_command(
            "ledger", "export", "--grid", place.other_grid.code, "--as", "grid01", "-o", str(tmp_path / "x")
        )
    with pytest.raises(CommandError, match="no active account"):
        call_command(
            "ledger", "export", "--grid", place.grid.code, "--as", "nobody", "-o", str(tmp_path / "x")
        )


# --- the API (mounted by banyan/api.py under /api/v1/) ---------------------------------------


@pytest.fixture
def ledger_api(api):
    resolve("/api/v1/ledgers/residents.xlsx")  # mounted by banyan/api.py
    return api


def upload(client, rows, *, dry_run: bool | None = None, name: str = "ledger.csv"):
    data = {"file": SimpleUploadedFile(name, csv_bytes(rows), content_type="text/csv")}
    if dry_run is not None:
        data["dry_run"] = "true" if dry_run else "false"
    headers = {**client.headers, "Accept-Language": "en"}
    response = client.client.post("/api/v1/ledgers/residents/import", data, headers=headers)
    response.data = response.json() if response["Content-Type"].startswith("application/json") else None
    return response


def test_api_import_is_a_dry_run_by_default(ledger_api, place):
    before = counts()
    response = upload(ledger_api("grid01"), good_rows(place, 2))
    assert response.status_code == 200
    assert response.data == {"dry_run": True, "created_households": 1, "created_residents": 2, "errors": []}
    assert counts() == before


def test_api_real_import_with_a_bad_row_answers_400_and_writes_nothing(ledger_api, place):
    rows = good_rows(place, 3)
    rows[1][3] = ""
    before = counts()
    response = upload(ledger_api("grid01"), rows, dry_run=False)
    assert response.status_code == 400
    assert response.data == {
        "dry_run": False,
        "created_households": 0,
        "created_residents": 0,
        "errors": [{"row": 3, "field": "name", "message": "This column is required."}],
    }
    assert counts() == before


def test_api_real_import_writes(ledger_api, place):
    response = upload(ledger_api("grid01"), good_rows(place, 2), dry_run=False)
    assert response.status_code == 200
    assert (response.data["created_households"], response.data["created_residents"]) == (1, 2)
    assert Household.objects.filter(code="T-LEDGER-H1").exists()


@pytest.mark.parametrize("username, status", [("volunteer01", 403), ("resident01", 403), (None, 401)])
def test_api_import_refuses_other_roles(ledger_api, place, username, status):
    before = counts()
    response = upload(ledger_api(username), good_rows(place, 2), dry_run=False)
    assert response.status_code == status
    assert counts() == before


def test_api_import_refuses_other_formats(ledger_api, place):
    response = upload(ledger_api("grid01"), good_rows(place, 1), name="ledger.txt")
    assert response.status_code == 400
    assert response.data["field"] == "file"


def test_api_masked_export(ledger_api, place):
    response = ledger_api("grid01").get(f"ledgers/residents.xlsx?grid={place.grid.code}")
    assert response.status_code == 200
    assert response["Content-Type"] == ledgers.XLSX_CONTENT_TYPE
    assert response["Content-Disposition"].startswith('attachment; filename="residents-')
    assert response["Cache-Control"] == "no-store"
    body = read_xlsx(response.content)[1:]
    assert body and all(MASKED_ID.match(row[4]) for row in body)


def test_api_revealed_export_needs_a_purpose(ledger_api, place):
    client = ledger_api("grid01")
    before = counts()
    response = client.post("ledgers/residents/export", {"grid": place.grid.code, "fields": ["id_number"]})
    assert response.status_code == 400
    assert response.data["field"] == "purpose"
    assert counts() == before

    response = client.post(
        "ledgers/residents/export",
        {"grid": place.grid.code, "fields": ["id_number"], "purpose": "入户走访核对"},
    )
    assert response.status_code == 200
    body = read_xlsx(response.content)[1:]
    assert sorted(row[4] for row in body) == sorted(r.id_number for r in grid_residents(place.grid))
    assert AuditEntry.objects.filter(action="resident.reveal", purpose="入户走访核对").count() == len(body)


@pytest.mark.parametrize(
    "username, grid, status",
    [
        ("volunteer01", "own", 403),
        ("resident01", "own", 403),
        ("grid02", "own", 404),
        ("grid01", "other", 404),
    ],
)
def test_api_export_refusals(ledger_api, place, username, grid, status):
    code = place.grid.code if grid == "own" else place.other_grid.code
    before = counts()
    response = ledger_api(username).get(f"ledgers/residents.xlsx?grid={code}")
    assert response.status_code == status
    response = ledger_api(username).post(
        "ledgers/residents/export", {"grid": code, "fields": ["phone"], "purpose": "visit plan"}
    )
    assert response.status_code == status
    assert counts() == before


@pytest.mark.parametrize("hidden", ["\u200b", "\u200d", "\u2060", "\ufeff", "\u202e", "\u2066", "\u200f"])
def test_zero_width_and_direction_characters_are_refused_in_names_naming_the_row(users, place, hidden):
    """Finding 12: names with zero-width or bidi-override characters were accepted."""
    rows = good_rows(place, 2)
    rows[1][3] = f"王{hidden}芳"
    before = counts()

    report = ledgers.import_residents(actor=users["grid01"], file=csv_bytes(rows), filename="a.csv")

    assert [(e.row, e.field) for e in report.errors] == [(3, "name")]
    assert f"U+{ord(hidden):04X}" in report.errors[0].message
    assert counts() == before
