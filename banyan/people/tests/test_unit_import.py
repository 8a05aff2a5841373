"""A building's flats: the flat list (房屋清单) from CSV or XLSX (``unit_import.import_units``), all or
nothing, every problem by row and column, re-import updates, scope; the generator's numbers; the
command ``banyan import units``; and the page ``/people/units/import/``."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook

from banyan.audit.models import AuditEntry
from banyan.core.errors import InvalidInput, PermissionDenied
from banyan.people import unit_import
from banyan.people.models import Household
from banyan.people.unit_import import CLI_ACTOR, generate_units, generated_numbers, import_units
from banyan.places.models import Building, Region, Unit

COMMUNITY = "330102001001"
ZH = ["楼栋", "房号", "单元", "楼层", "专有面积", "用途"]
EN = ["building", "number", "entrance", "floor", "area", "use"]
IMPORT_URL = reverse("people:units-import")
GENERATE_URL = reverse("people:units-generate")


@pytest.fixture(autouse=True)
def _english():
    """The problems are asserted in English (the command speaks the site's language, Chinese)."""
    with translation.override("en"):
        yield


def make_building(code: str, name: str, *, grid: str = "G01", floors: int = 6, entrances: int = 2, **fields):
    return Building.objects.create(
        grid=Region.objects.get(code=grid),
        code=code,
        name=name,
        kind="older_block",
        floors=floors,
        entrances=entrances,
        latitude=30.3,
        longitude=120.3,
        **fields,
    )


@pytest.fixture
def empty_buildings(db):
    """Two buildings of the demo community without flats: 31幢 (6 floors, 2 entrances) and 32幢."""
    return make_building("T-U31", "31幢"), make_building("T-U32", "32幢", floors=3, entrances=1)


def csv_bytes(rows: list[list], header=ZH, encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list], header=EN) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


GOOD = [
    ["31幢", "1-01-101", "", "", "89.5", "住宅"],
    ["T-U31", "2单元502", "", "", "92.30㎡", ""],
    ["31", "601", "2", "", "120", "商铺"],
    ["32幢", "101", "", "1", "60,25", "公用"],
]


def units_of(*buildings) -> dict[str, tuple]:
    return {
        f"{u.building.name} {u.number}": (u.entrance, u.floor, u.exclusive_area_m2, u.use)
        for u in Unit.objects.filter(building__in=buildings).select_related("building")
    }


def run(*args) -> tuple[int, dict | None, str]:
    """``banyan import units …``: exit code, the last line's JSON (None if there is none), stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        with translation.override("en"):
            call_command("import", "units", *map(str, args), stdout=out, stderr=err)
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    lines = out.getvalue().strip().splitlines()
    return code, json.loads(lines[-1]) if lines else None, err.getvalue()


# --- the flat list ----------------------------------------------------------------------------------


def test_the_command_imports_a_flat_list_and_says_so_on_its_last_line(tmp_path, empty_buildings):
    path = tmp_path / "flats.csv"
    path.write_bytes(csv_bytes(GOOD))
    audit = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    code, report, _err = run(path, "--community", COMMUNITY)
    assert code == 0
    assert report == {
        "community": COMMUNITY,
        "dry_run": False,
        "units": 4,
        "created": 4,
        "updated": 0,
        "problems": [],
    }
    assert units_of(*empty_buildings) == {
        "31幢 1-01-101": (1, 1, Decimal("89.50"), "residential"),
        "31幢 2-05-502": (2, 5, Decimal("92.30"), "residential"),
        "31幢 2-06-601": (2, 6, Decimal("120.00"), "commercial"),
        "32幢 1-01-101": (1, 1, Decimal("60.25"), "public"),
    }
    entries = AuditEntry.objects.filter(id__gt=audit, action="units.import")
    assert [(e.actor, e.details) for e in entries] == [
        (
            CLI_ACTOR,
            {
                "community": COMMUNITY,
                "source": "unit-import",
                "rows": 4,
                "created": 4,
                "updated": 0,
                "changed": 0,
            },
        )
    ]


def test_an_xlsx_with_english_headings_and_gross_areas(empty_buildings):
    data = xlsx_bytes(
        [
            ["T-U32", "1-03-301", None, 3, 75.5, "residential"],
            ["T-U32", "1-02-201", 1, None, 80, "Commercial"],
        ],
        header=["building", "number", "entrance", "floor", "建筑面积", "use"],
    )
    report = import_units(
        data, filename="flats.xlsx", community_code=COMMUNITY, dry_run=False, actor=CLI_ACTOR
    )
    assert report.problems == [] and report.created == 2
    assert units_of(empty_buildings[1]) == {
        "32幢 1-03-301": (1, 3, Decimal("75.50"), "residential"),
        "32幢 1-02-201": (1, 2, Decimal("80.00"), "commercial"),
    }


def test_every_problem_is_named_by_row_and_column_and_nothing_is_written(tmp_path, empty_buildings):
    rows = [
        ["31幢", "1-01-101", "", "", "89.5", ""],  # good
        ["99幢", "1-01-101", "", "", "80", ""],  # no such building
        ["31幢", "1-07-701", "", "", "80", ""],  # 31幢 has 6 floors
        ["31幢", "1-02-201", "2", "3", "0", "仓库"],  # entrance and floor disagree, area 0, unknown use
        ["31幢", "1-01-101", "", "", "89.5", ""],  # the same flat as row 2
        ["31幢", "502", "", "", "80", ""],  # 31幢 has two entrances
        ["32幢", "商铺A", "", "", "50", "商铺"],  # a name, not a number: the floor is needed
    ]
    path = tmp_path / "flats.csv"
    path.write_bytes(csv_bytes(rows))
    before = (Unit.objects.count(), AuditEntry.objects.count())
    code, report, err = run(path, "--community", COMMUNITY)
    assert code == 2
    assert [(p["feature"], p["row"], p["column"], p["problem"]) for p in report["problems"]] == [
        (
            "row 3",
            3,
            "building (楼栋)",
            "No building “99幢” in community 东坡未来社区; give its code or its name.",
        ),
        ("row 4", 4, "floor (楼层)", "Building 31幢 has 6 floors."),
        ("row 5", 5, "entrance (单元)", "The number 1-02-201 says entrance 1."),
        ("row 5", 5, "floor (楼层)", "The number 1-02-201 says floor 2."),
        ("row 5", 5, "area (专有面积)", "Give the area in m², more than 0 and at most 10,000, e.g. 89.5."),
        (
            "row 5",
            5,
            "use (用途)",
            "Unknown use; one of: Residential (住宅), Commercial (商铺), Public (公用).",
        ),
        ("row 6", 6, "number (房号)", "The same unit is on row 2."),
        ("row 7", 7, "entrance (单元)", "This building has several entrances: say which (单元)."),
        ("row 8", 8, "floor (楼层)", "Give the floor: it cannot be read from the number 商铺A."),
    ]
    assert report["units"] == 0 and report["dry_run"] is False
    assert "row 3: No building “99幢”" in err
    assert (Unit.objects.count(), AuditEntry.objects.count()) == before


def test_the_problems_speak_chinese_to_a_chinese_reader(empty_buildings):
    with translation.override("zh-hans"):
        report = import_units(
            csv_bytes([["31幢", "1-01-101", "", "", "abc", ""]]),
            filename="flats.csv",
            community_code=COMMUNITY,
            dry_run=True,
            actor=CLI_ACTOR,
        )
        assert [(p["row"], p["column"]) for p in report.problems] == [(2, "专有面积")]
        assert "m²" in report.problems[0]["problem"] and "area" not in report.problems[0]["problem"]


@pytest.mark.parametrize(
    ("content", "name", "problem"),
    [
        (b"a,b\n", "flats.txt", "A flat list must be a .csv or .xlsx file"),
        ("楼栋,楼层\n31幢,1\n".encode(), "flats.csv", "Row 1 lacks the required column number (房号)"),
        ("楼栋,房号,颜色\n".encode(), "flats.csv", "Unknown column “颜色” in row 1"),
        ("楼栋,房号,专有面积\n".encode(), "flats.csv", "The file has a header but no unit rows."),
        (b"PK\x03\x04" + b"\x00" * 100, "flats.xlsx", "The file is not a readable .xlsx workbook."),
    ],
)
def test_a_file_that_cannot_be_read_is_the_files_one_problem(empty_buildings, content, name, problem):
    report = import_units(content, filename=name, community_code=COMMUNITY, dry_run=False, actor=CLI_ACTOR)
    assert report.refused
    [only] = report.problems
    assert (only["feature"], only["row"]) == ("file", None)
    assert only["problem"].startswith(problem), only["problem"]


def test_importing_again_updates_the_flats_in_place_and_keeps_their_households(empty_buildings):
    first = import_units(
        csv_bytes(GOOD), filename="a.csv", community_code=COMMUNITY, dry_run=False, actor=CLI_ACTOR
    )
    assert (first.created, first.updated) == (4, 0)
    unit = Unit.objects.get(building=empty_buildings[0], number="1-01-101")
    household = Household.objects.create(code="T-U-H1", unit=unit, grid=empty_buildings[0].grid)
    again = import_units(
        csv_bytes(GOOD), filename="a.csv", community_code=COMMUNITY, dry_run=False, actor=CLI_ACTOR
    )
    assert (again.created, again.updated, again.problems) == (0, 4, [])
    corrected = [["31幢", "1-01-101", "", "", "91", "商铺"], ["31幢", "1-02-201", "", "", "70", ""]]
    third = import_units(
        csv_bytes(corrected), filename="b.csv", community_code=COMMUNITY, dry_run=False, actor=CLI_ACTOR
    )
    assert (third.created, third.updated) == (1, 1)
    unit.refresh_from_db()
    assert (unit.exclusive_area_m2, unit.use) == (Decimal("91.00"), "commercial")
    assert Unit.objects.filter(building__in=empty_buildings).count() == 5
    household.refresh_from_db()
    assert household.unit_id == unit.pk


def test_a_dry_run_counts_and_writes_nothing(empty_buildings):
    before = (Unit.objects.count(), AuditEntry.objects.count())
    report = import_units(
        csv_bytes(GOOD), filename="a.csv", community_code=COMMUNITY, dry_run=True, actor=CLI_ACTOR
    )
    assert (report.dry_run, report.created, report.updated, report.refused) == (True, 4, 0, False)
    assert (Unit.objects.count(), AuditEntry.objects.count()) == before


def test_entrance_names_and_more_entrances_than_imported(empty_buildings):
    named = make_building("T-U33", "33幢", unit_names=["东单元", "西单元"])
    rows = [["33幢", "301", "西单元", "", "80", ""], ["33幢", "3-01-101", "", "", "80", ""]]
    report = import_units(
        csv_bytes(rows), filename="a.csv", community_code=COMMUNITY, dry_run=True, actor=CLI_ACTOR
    )
    assert [(p["row"], p["column"], p["problem"]) for p in report.problems] == [
        (3, "entrance (单元)", "Building 33幢 has the entrances 东单元, 西单元.")
    ]
    # A building without entrance names takes as many as its flat list names.
    rows = [["33幢", "301", "西单元", "", "80", ""], ["32幢", "3-01-101", "", "", "80", ""]]
    report = import_units(
        csv_bytes(rows), filename="a.csv", community_code=COMMUNITY, dry_run=False, actor=CLI_ACTOR
    )
    assert report.problems == []
    assert Unit.objects.get(building=named).number == "2-03-301"
    empty_buildings[1].refresh_from_db()
    assert empty_buildings[1].entrances == 3


def test_a_person_imports_only_into_a_community_of_their_area(signed_in, users, outside, empty_buildings):
    sibling = outside["sibling"]
    rows = csv_bytes([[sibling["building"].code, "1-02-201", "", "", "80", ""]])
    refused = import_units(
        rows, filename="a.csv", community_code="T-SIB", dry_run=False, actor=users["director"]
    )
    assert [p["problem"] for p in refused.problems] == ["Community T-SIB not found in your area."]
    # A building of another community is not found in this one.
    wrong = import_units(
        rows, filename="a.csv", community_code=COMMUNITY, dry_run=True, actor=users["director"]
    )
    assert [p["column"] for p in wrong.problems] == ["building (楼栋)"]
    done = import_units(
        rows, filename="a.csv", community_code="T-SIB", dry_run=False, actor=users["street01"]
    )
    assert (done.created, done.problems) == (1, [])
    for username in ("grid01", "property01", "auditor", "resident01"):
        with pytest.raises(PermissionDenied):
            import_units(
                rows, filename="a.csv", community_code=COMMUNITY, dry_run=True, actor=users[username]
            )


def test_a_building_outside_the_persons_area_is_a_problem(users, empty_buildings):
    """A director whose area is one grid (G02) may change the places there, not 31幢 in G01."""
    director = users["director"]
    director.region = Region.objects.get(code="G02")
    make_building("T-U40", "40幢", grid="G02")
    community = Region.objects.get(code=COMMUNITY)
    places = unit_import._Buildings.load(director, community)
    assert empty_buildings[0].pk not in places.changeable
    valid, problems = unit_import.validate_rows(
        actor=director,
        community=community,
        rows=[
            (2, dict(zip(unit_import.COLUMN_KEYS, ["31幢", "1-01-101", "", "", "80", "", ""], strict=True))),
            (3, dict(zip(unit_import.COLUMN_KEYS, ["40幢", "1-01-101", "", "", "80", "", ""], strict=True))),
        ],
    )
    assert [(p.row, p.problem) for p in problems] == [(2, "Building 31幢 is not in your area.")]
    assert [v.building.code for v in valid] == ["T-U40"]


# --- the generator ---------------------------------------------------------------------------------


def test_generated_numbers_are_entrance_floor_room(empty_buildings):
    tall = make_building("T-U50", "50幢", floors=22, entrances=1)
    numbers = [n for _e, _f, n in generated_numbers(tall, flats_per_floor=2)]
    assert numbers[:3] == ["1-01-101", "1-01-102", "1-02-201"] and numbers[-1] == "1-22-2202"
    assert len(numbers) == 44
    named = make_building("T-U51", "51幢", floors=3, entrances=1, unit_names=["1单元", "2单元", "3单元"])
    triples = generated_numbers(named, flats_per_floor=1, first_floor=2)
    assert triples == [
        (1, 2, "1-02-201"),
        (1, 3, "1-03-301"),
        (2, 2, "2-02-201"),
        (2, 3, "2-03-301"),
        (3, 2, "3-02-201"),
        (3, 3, "3-03-301"),
    ]


def test_generate_units_makes_every_flat_once(empty_buildings):
    building = empty_buildings[0]
    made = generate_units(building, flats_per_floor=2, area_m2="88.8", actor=CLI_ACTOR)
    assert len(made) == 2 * 6 * 2
    unit = Unit.objects.get(building=building, number="2-05-502")
    assert (unit.entrance, unit.floor, unit.exclusive_area_m2, unit.use) == (
        2,
        5,
        Decimal("88.80"),
        "residential",
    )
    assert generate_units(building, flats_per_floor=2, area_m2="88.8", actor=CLI_ACTOR) == []
    # A third flat a floor adds only the missing numbers.
    assert len(generate_units(building, flats_per_floor=3, area_m2=90, actor=CLI_ACTOR)) == 12
    entry = AuditEntry.objects.filter(action="units.import").order_by("-id").first()
    assert entry.details == {
        "community": COMMUNITY,
        "source": "unit-generator",
        "buildings": 1,
        "created": 12,
        "flats_per_floor": 3,
        "area_m2": "90.00",
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"flats_per_floor": 0}, "flats_per_floor"),
        ({"area_m2": "-1"}, "area_m2"),
        ({"first_floor": 7}, "first_floor"),
    ],
)
def test_generate_units_refuses_bad_settings(empty_buildings, changes, field):
    settings = {"flats_per_floor": 2, "area_m2": "80", **changes}
    with pytest.raises(InvalidInput) as caught:
        generate_units(empty_buildings[0], **settings, actor=CLI_ACTOR)
    assert caught.value.field == field
    assert not Unit.objects.filter(building=empty_buildings[0]).exists()


def test_the_command_generates_for_buildings_without_flats(empty_buildings):
    lacking = set(unit_import.buildings_without_units(CLI_ACTOR, Region.objects.get(code=COMMUNITY)))
    assert set(empty_buildings) <= lacking
    expected = sum(len(generated_numbers(b, flats_per_floor=2)) for b in lacking)
    code, report, _err = run(
        "--generate", "--community", COMMUNITY, "--flats-per-floor", 2, "--area", 90, "--dry-run"
    )
    assert (code, report) == (
        0,
        {
            "community": COMMUNITY,
            "dry_run": True,
            "units": expected,
            "created": expected,
            "updated": 0,
            "problems": [],
        },
    )
    assert not Unit.objects.filter(building__in=empty_buildings).exists()
    code, report, _err = run(
        "--generate", "--community", COMMUNITY, "--flats-per-floor", 2, "--area", 90, "--building", "32幢"
    )
    assert (code, report["created"]) == (0, 6)
    assert Unit.objects.filter(building=empty_buildings[1]).count() == 6
    assert not Unit.objects.filter(building=empty_buildings[0]).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--generate", "--community", COMMUNITY, "--area", "90"], "--generate needs --flats-per-floor"),
        (["--community", COMMUNITY], "give the flat list"),
        (["--community", COMMUNITY, "--area", "90", "x.csv"], "--area only with --generate"),
        (["/no/such/flats.csv", "--community", COMMUNITY], "No file at"),
    ],
)
def test_the_command_refuses_bad_arguments_with_exit_2(db, args, message):
    code, report, err = run(*args)
    assert (code, report) == (2, None)
    assert message in err


def test_the_command_reports_an_unknown_building_or_community(empty_buildings):
    code, report, err = run(
        "--generate", "--community", COMMUNITY, "--flats-per-floor", 1, "--area", 50, "--building", "99幢"
    )
    assert code == 2
    assert report["problems"] == [
        {
            "feature": "building 99幢",
            "row": None,
            "column": "",
            "problem": "No building “99幢” in community 东坡未来社区; give its code or its name.",
        }
    ]
    code, report, _err = run("--generate", "--community", "T-NONE", "--flats-per-floor", 1, "--area", 50)
    assert (code, report["problems"][0]["problem"]) == (2, "Community T-NONE not found in your area.")


# --- the page ------------------------------------------------------------------------------------------


def send(client, data: bytes, *, name="flats.csv", dry_run=True, checked="", community=COMMUNITY):
    body = {
        "community": community,
        "file": SimpleUploadedFile(name, data),
        "dry_run": "1" if dry_run else "0",
    }
    if checked:
        body["checked"] = checked
    return client.post(IMPORT_URL, body)


def test_the_page_lists_buildings_without_flats_to_those_who_change_places(signed_in, empty_buildings):
    page = signed_in("director").get(IMPORT_URL, {"community": COMMUNITY}).content.decode()
    assert "31幢" in page and "32幢" in page
    assert f'action="{GENERATE_URL}"' in page
    for username in ("grid01", "property01", "auditor", "resident01"):
        assert signed_in(username).get(IMPORT_URL).status_code == 403, username
        assert signed_in(username).post(GENERATE_URL, {}).status_code == 403, username


def test_check_then_import_the_same_file(signed_in, empty_buildings):
    client = signed_in("director")
    data = csv_bytes(GOOD)
    response = send(client, data)
    page = response.content.decode()
    assert "The check found no problems" in page and '<dd data-count="created">4</dd>' in page
    checked = response.context["confirm_form"].initial["checked"]
    assert not Unit.objects.filter(building__in=empty_buildings).exists()
    # Another file under the same check is only checked.
    other = csv_bytes(GOOD[:1])
    page = send(client, other, dry_run=False, checked=checked).content.decode()
    assert "This is not the file that passed the check" in page
    assert not Unit.objects.filter(building__in=empty_buildings).exists()
    response = send(client, data, dry_run=False, checked=checked)
    assert response.status_code == 302 and response["Location"] == f"{IMPORT_URL}?community={COMMUNITY}"
    assert Unit.objects.filter(building__in=empty_buildings).count() == 4


def test_a_bad_file_lists_its_problems_on_the_page(signed_in, empty_buildings):
    page = send(signed_in("director"), csv_bytes([["99幢", "1-01-101", "", "", "x", ""]])).content.decode()
    assert "2 problems found. Nothing was imported." in page
    assert "building (楼栋)" in page and "area (专有面积)" in page
    assert not Unit.objects.filter(building__in=empty_buildings).exists()


def test_the_page_generates_flats_for_the_buildings_without(signed_in, empty_buildings):
    client = signed_in("director")
    response = client.post(
        GENERATE_URL, {"community": COMMUNITY, "flats_per_floor": "2", "area_m2": "85.5", "first_floor": "2"}
    )
    assert response.status_code == 302
    assert (
        Unit.objects.filter(building=empty_buildings[0]).count() == 2 * 5 * 2
    )  # floors 2 to 6 of two entrances
    assert Unit.objects.filter(building=empty_buildings[1], floor=1).count() == 0
    assert Unit.objects.get(building=empty_buildings[1], number="1-03-302").exclusive_area_m2 == Decimal(
        "85.50"
    )
    page = client.get(response["Location"]).content.decode()
    assert "Flats made: 24, in buildings: 2." in page
    # A bad form is answered at its fields and makes nothing.
    page = client.post(
        GENERATE_URL, {"community": "T-NONE", "flats_per_floor": "0", "area_m2": "x"}
    ).content.decode()
    assert "Choose one of the communities in your area." in page and "At least 1 flat a floor." in page


def test_the_page_speaks_chinese(signed_in, empty_buildings):
    page = signed_in("director", "zh-hans").get(IMPORT_URL).content.decode()
    assert "没有房屋的楼栋" in page and "生成房屋" in page
    assert "Flats of the buildings" not in page and "Make the flats" not in page


def test_readiness_sends_a_building_without_flats_to_this_page_until_it_has_them(empty_buildings):
    from banyan.cockpit.readiness import check_building_units

    community = Region.objects.get(code=COMMUNITY)
    grids = list(Region.objects.filter(parent=community, kind="grid"))
    gap = check_building_units(community, grids)
    assert gap is not None and {"31幢", "32幢"} <= set(gap.where)
    assert gap.fix_url == f"{IMPORT_URL}?community={COMMUNITY}"
    report = unit_import.generate_community_units(
        actor=CLI_ACTOR, community_code=COMMUNITY, flats_per_floor=2, area_m2="80"
    )
    assert report.created and not report.refused
    assert check_building_units(community, grids) is None


def test_full_width_digits_are_read_and_a_room_on_no_floor_is_a_problem(empty_buildings):
    rows = [["32幢", "１-02-201", "", "", "８９．５", ""], ["32幢", "001", "", "", "50", ""]]
    report = import_units(
        csv_bytes(rows), filename="a.csv", community_code=COMMUNITY, dry_run=True, actor=CLI_ACTOR
    )
    assert [(p["row"], p["column"], p["problem"]) for p in report.problems] == [
        (3, "floor (楼层)", "Give the floor: it cannot be read from the number 001.")
    ]
    report = import_units(
        csv_bytes(rows[:1]), filename="a.csv", community_code=COMMUNITY, dry_run=False, actor=CLI_ACTOR
    )
    assert report.created == 1
    assert units_of(empty_buildings[1]) == {"32幢 1-02-201": (1, 2, Decimal("89.50"), "residential")}
