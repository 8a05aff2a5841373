"""Devices from a spreadsheet (``banyan import devices``, ``device_import.import_devices``): CSV and XLSX,
English or Chinese headings, a place by building and unit, facility or point; all or nothing, every
problem named by row and column, re-import updates, scope; and the installer's list, which imports again."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation
from openpyxl import Workbook, load_workbook
from shapely.geometry import shape

from banyan.audit.models import AuditEntry
from banyan.core.errors import PermissionDenied
from banyan.places.models import Building, Facility, Region
from banyan.sensing import device_import
from banyan.sensing.device_import import CLI_ACTOR, import_devices
from banyan.sensing.models import Device
from banyan.sensing.tests.conftest import make_device

COMMUNITY = "330102001001"
ZH = ["编号", "类型", "楼栋", "房号", "设施", "纬度", "经度", "安装日期", "备注"]
EN = ["code", "kind", "building", "unit", "facility", "latitude", "longitude", "installed", "note"]


@pytest.fixture(autouse=True)
def _english():
    """The problems are asserted in English (the command speaks the site's language, Chinese)."""
    with translation.override("en"):
        yield


def inside(grid_code: str) -> tuple[float, float]:
    """(latitude, longitude) of a point inside the grid."""
    point = shape(Region.objects.get(code=grid_code).boundary).representative_point()
    return round(point.y, 7), round(point.x, 7)


def csv_bytes(rows: list[list], header=ZH, encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def write(tmp_path, rows, header=ZH, name="devices.csv", encoding="utf-8-sig"):
    path = tmp_path / name
    path.write_bytes(csv_bytes(rows, header, encoding))
    return path


def good_rows() -> list[list]:
    lat, lon = inside("G02")
    return [
        ["T-SMK-1", "smoke", "3幢", "1-01-101", "", "", "", "2026-05-18", "楼道东侧"],
        ["T-WL-1", "water_level", "", "", "", lat, lon, "2026-05-19", ""],
        ["T-SMK-2", "烟感探测器", "B004", "1单元102", "", "", "", "", ""],
        ["T-GAS-1", "combustible_gas", "", "", "F03", "", "", "", ""],
    ]


def run(*args) -> tuple[int, dict, str]:
    """``banyan import devices …``: exit code, the last line's JSON, stderr."""
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        call_command("import", "devices", *map(str, args), stdout=out, stderr=err)
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return code, json.loads(out.getvalue().strip().splitlines()[-1]), err.getvalue()


# --- the command ---------------------------------------------------------------------------------


def test_the_command_imports_a_csv_and_says_so_on_its_last_line(tmp_path, db):
    audit = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    code, report, _err = run(write(tmp_path, good_rows()), "--community", COMMUNITY)
    assert code == 0
    assert report == {
        "community": COMMUNITY,
        "dry_run": False,
        "devices": 4,
        "created": 4,
        "updated": 0,
        "problems": [],
    }
    smoke = Device.objects.get(code="T-SMK-1")
    assert (smoke.kind, smoke.building.name, smoke.unit.number, smoke.grid.code) == (
        "smoke",
        "3幢",
        "1-01-101",
        "G03",
    )
    assert smoke.community.code == COMMUNITY
    assert timezone.localdate(smoke.installed_at) == dt.date(2026, 5, 18)
    assert smoke.metadata == {"note": "楼道东侧"}
    water = Device.objects.get(code="T-WL-1")
    assert (water.grid.code, water.building, water.unit) == ("G02", None, None)
    assert water.metadata["point"] == dict(zip(("latitude", "longitude"), inside("G02"), strict=True))
    second = Device.objects.get(code="T-SMK-2")
    assert (second.kind, second.building.code, second.unit.number) == ("smoke", "B004", "1-01-102")
    gas = Device.objects.get(code="T-GAS-1")
    facility = Facility.objects.get(code="F03")
    assert (gas.facility, gas.grid_id) == (facility, facility.region_id)
    assert gas.expected_interval_s == 3600
    entries = AuditEntry.objects.filter(id__gt=audit, action="devices.import")
    assert [(e.actor, e.details) for e in entries] == [
        (
            CLI_ACTOR,
            {"community": COMMUNITY, "source": "device-import", "rows": 4, "created": 4, "updated": 0},
        )
    ]


def test_a_dry_run_writes_nothing_and_exits_0(tmp_path, db):
    before = (Device.objects.count(), AuditEntry.objects.count())
    code, report, _err = run(write(tmp_path, good_rows()), "--community", COMMUNITY, "--dry-run")
    assert (code, report["devices"], report["created"], report["problems"]) == (0, 4, 4, [])
    assert report["dry_run"] is True
    assert (Device.objects.count(), AuditEntry.objects.count()) == before


def test_one_bad_row_refuses_the_whole_file_with_exit_2(tmp_path, db):
    rows = [*good_rows(), ["T-BAD-1", "toaster", "3幢", "", "", "", "", "", ""]]
    before = (Device.objects.count(), AuditEntry.objects.count())
    for extra in ([], ["--dry-run"]):
        code, report, err = run(write(tmp_path, rows), "--community", COMMUNITY, *extra)
        assert code == 2
        assert report["devices"] == 0
        assert [(p["feature"], p["row"], p["column"]) for p in report["problems"]] == [
            ("row 6", 6, "kind (类型)")
        ]
        assert report["problems"][0]["problem"].startswith("Unknown kind; one of: ")
        assert "row 6: Unknown kind" in err
    assert (Device.objects.count(), AuditEntry.objects.count()) == before


def test_an_unknown_community_or_unreadable_file_still_ends_with_the_report(tmp_path, db):
    code, report, _err = run(write(tmp_path, good_rows()), "--community", "NO-SUCH")
    assert code == 2
    assert report["problems"] == [
        {"feature": "file", "row": None, "column": "", "problem": "Community NO-SUCH not found in your area."}
    ]
    bad = tmp_path / "devices.xlsx"
    bad.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    code, report, _err = run(bad, "--community", COMMUNITY)
    assert (code, [p["problem"] for p in report["problems"]]) == (
        2,
        ["The file is not a readable .xlsx workbook."],
    )
    other = tmp_path / "devices.txt"
    other.write_text("code,kind\n")
    code, report, _err = run(other, "--community", COMMUNITY)
    assert code == 2
    assert "must be a .csv or .xlsx file" in report["problems"][0]["problem"]


def test_re_importing_updates_instead_of_duplicating(tmp_path, db):
    path = write(tmp_path, good_rows())
    assert run(path, "--community", COMMUNITY)[0] == 0
    count = Device.objects.count()
    code, report, _err = run(path, "--community", COMMUNITY)
    assert (code, report["created"], report["updated"]) == (0, 0, 4)
    assert Device.objects.count() == count
    rows = good_rows()
    rows[0] = ["T-SMK-1", "door_contact", "5幢", "1-02-201", "", "", "", "2026-06-01", ""]
    code, report, _err = run(write(tmp_path, rows), "--community", COMMUNITY)
    assert (code, report["created"], report["updated"]) == (0, 0, 4)
    moved = Device.objects.get(code="T-SMK-1")
    assert (moved.kind, moved.building.name, moved.unit.number, moved.grid.code) == (
        "door_contact",
        "5幢",
        "1-02-201",
        "G05",
    )
    assert timezone.localdate(moved.installed_at) == dt.date(2026, 6, 1)
    assert moved.metadata == {}  # the note was taken out


# --- reading files -------------------------------------------------------------------------------


def test_xlsx_with_english_headings_numbers_and_dates(tmp_path, db):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Device", "Kind", "Building", "Unit", "Facility", "Lat", "Lng", "Installed date", "Notes"])
    lat, lon = inside("G01")
    when = dt.datetime(2026, 3, 4)  # noqa: DTZ001 - a spreadsheet's date cell has no time zone
    sheet.append(["T-X-1", "Smoke detector", 2, None, None, None, None, when, None])
    sheet.append([None] * 9)  # a blank row is skipped; row numbers stay the spreadsheet's
    sheet.append(["T-X-2", "water_level", None, None, None, lat, lon, dt.date(2026, 3, 5), "near the gate"])
    path = tmp_path / "devices.xlsx"
    workbook.save(path)
    report = import_devices(path, community_code=COMMUNITY, dry_run=False, actor=CLI_ACTOR)
    assert (report.problems, report.created) == ([], 2)
    first = Device.objects.get(code="T-X-1")
    assert (first.building.name, timezone.localdate(first.installed_at)) == ("2幢", dt.date(2026, 3, 4))
    assert Device.objects.get(code="T-X-2").grid.code == "G01"


def test_a_gb18030_csv_is_read(tmp_path, db):
    path = write(tmp_path, good_rows()[:1], encoding="gb18030")
    report = import_devices(path, community_code=COMMUNITY, dry_run=True, actor=CLI_ACTOR)
    assert (report.problems, report.created) == ([], 1)


def test_headings_unknown_repeated_or_missing_are_the_files_problem(tmp_path, db):
    cases = [
        (["编号", "类型", "颜色"], "Unknown column “颜色” in row 1"),
        (["编号", "类型", "设备编号"], "Column 3 (“设备编号”) repeats the column code (编号)."),
        (["编号", "楼栋"], "Row 1 lacks the required column kind (类型)"),
    ]
    for header, expected in cases:
        path = write(tmp_path, [], header=header)
        report = import_devices(path, community_code=COMMUNITY, dry_run=True, actor=CLI_ACTOR)
        assert report.refused
        assert [p["feature"] for p in report.problems] == ["file"]
        assert expected in report.problems[0]["problem"], header
    empty = write(tmp_path, [], header=ZH)
    report = import_devices(empty, community_code=COMMUNITY, dry_run=True, actor=CLI_ACTOR)
    assert [p["problem"] for p in report.problems] == ["The file has a header but no device rows."]


# --- every problem by row and column -------------------------------------------------------------


def problems(rows, **kwargs) -> list[tuple[int, str, str]]:
    data = csv_bytes(rows, kwargs.pop("header", ZH))
    report = import_devices(
        data, community_code=COMMUNITY, dry_run=False, actor=CLI_ACTOR, filename="devices.csv", **kwargs
    )
    assert report.refused and report.devices == 0
    return [(p["row"], p["column"], p["problem"]) for p in report.problems]


def test_bad_rows_are_named_with_their_row_column_and_what_is_accepted(db, outside):
    far = outside["other_street"]["building"]
    make_device(grid=outside["sibling"]["grid"], code="T-TAKEN")
    rows = [
        ["", "", "3幢", "", "", "", "", "", ""],
        ["bad/code", "toaster", "99幢", "1-01-101", "", "", "", "2026-02-30", ""],
        ["T-OK-1", "smoke", "3幢", "9-99-999", "", "", "", "", "call 13912345678"],
        ["T-OK-2", "smoke", "", "", "", "95", "abc", "", ""],
        ["T-OK-3", "smoke", "", "", "", "10.0", "10.0", "", ""],
        ["T-OK-4", "smoke", "", "1-01-101", "", "", "", "", ""],
        ["T-OK-5", "smoke", "3幢", "", "F03", "", "", "", ""],
        ["T-OK-6", "smoke", far.name, "", "", "", "", "", ""],
        ["T-OK-7", "smoke", "", "", "", "", "", "", "=HYPERLINK()"],
        ["T-OK-1", "smoke", "3幢", "", "", "", "", "", ""],
        ["T-TAKEN", "smoke", "3幢", "", "", "", "", "", ""],
    ]
    found = problems(rows)
    named = [(row, column) for row, column, _problem in found]
    assert named == [
        (2, "code (编号)"),
        (2, "kind (类型)"),
        (3, "code (编号)"),
        (3, "kind (类型)"),
        (3, "building (楼栋)"),
        (3, "installed (安装日期)"),
        (4, "unit (房号)"),
        (4, "note (备注)"),
        (5, "latitude (纬度)"),
        (5, "longitude (经度)"),
        (6, "latitude (纬度)"),
        (7, "building (楼栋)"),
        (7, "unit (房号)"),
        (8, "facility (设施)"),
        (9, "building (楼栋)"),
        (10, "building (楼栋)"),
        (10, "note (备注)"),
        (11, "code (编号)"),
        (12, "code (编号)"),
    ]
    text = dict(((row, column), problem) for row, column, problem in found)
    assert text[(3, "kind (类型)")].startswith("Unknown kind; one of: ")
    assert "Smoke detector" in text[(3, "kind (类型)")]
    assert text[(3, "building (楼栋)")] == (
        "No building “99幢” in community 东坡未来社区; give its code or its name."
    )
    assert "2-22-2201" in text[(4, "unit (房号)")]
    assert text[(6, "latitude (纬度)")] == "This point lies in no grid of community 东坡未来社区."
    assert text[(11, "code (编号)")] == "The same code is on row 4."
    assert text[(12, "code (编号)")] == "This code belongs to a device of another community."
    # A personal value is never echoed.
    assert not any("13912345678" in problem for _row, _column, problem in found)
    assert not Device.objects.filter(code__startswith="T-OK-").exists()


def test_problems_speak_chinese_on_chinese_terms(db):
    with translation.override("zh-hans"):
        found = problems([["T-ZH-1", "toaster", "3幢", "", "", "", "", "", ""]])
        assert [(row, column) for row, column, _p in found] == [(2, "类型")]
        assert found[0][2].startswith("未知")
        report = import_devices(
            csv_bytes([["T-ZH-1", "toaster", "3幢"]], ["编号", "类型", "楼栋"]),
            filename="d.csv",
            community_code=COMMUNITY,
            dry_run=True,
            actor=CLI_ACTOR,
        )
        assert report.problems[0]["feature"] == "第2行"


# --- who may import where ------------------------------------------------------------------------


def test_a_director_imports_into_their_community_only(users, outside, db):
    data = csv_bytes(good_rows())
    report = import_devices(
        data, filename="d.csv", community_code=COMMUNITY, dry_run=False, actor=users["director"]
    )
    assert (report.problems, report.created) == ([], 4)
    entry = AuditEntry.objects.filter(action="devices.import").order_by("-id").first()
    assert entry.actor_id == users["director"].pk
    sibling = outside["sibling"]
    rows = [["T-SIB-D1", "smoke", sibling["building"].code, "", "", "", "", "", ""]]
    for username in ("director", "street01"):
        before = Device.objects.count()
        report = import_devices(
            csv_bytes(rows), filename="d.csv", community_code="T-FAR", dry_run=False, actor=users[username]
        )
        assert [p["problem"] for p in report.problems] == ["Community T-FAR not found in your area."]
        assert Device.objects.count() == before
    refused = import_devices(
        csv_bytes(rows), filename="d.csv", community_code="T-SIB", dry_run=False, actor=users["director"]
    )
    assert [p["problem"] for p in refused.problems] == ["Community T-SIB not found in your area."]
    # The street officer's area holds the sibling community.
    report = import_devices(
        csv_bytes(rows), filename="d.csv", community_code="T-SIB", dry_run=False, actor=users["street01"]
    )
    assert (report.problems, report.created) == ([], 1)
    assert Device.objects.get(code="T-SIB-D1").grid == sibling["grid"]


@pytest.mark.parametrize("username", ["grid01", "property01", "resident01", "auditor", "volunteer01"])
def test_roles_that_may_not_change_places_may_not_import(users, username, db):
    with pytest.raises(PermissionDenied):
        import_devices(
            csv_bytes(good_rows()),
            filename="d.csv",
            community_code=COMMUNITY,
            dry_run=True,
            actor=users[username],
        )


# --- the installer's list --------------------------------------------------------------------------


def test_the_installers_list_is_by_building_with_topics_and_imports_again(users, tmp_path, db):
    import_devices(write(tmp_path, good_rows()), community_code=COMMUNITY, dry_run=False, actor=CLI_ACTOR)
    community = Region.objects.get(code=COMMUNITY)
    director = users["director"]
    rows = device_import.installer_rows(director, community)
    ours = [row for row in rows if row["code"].startswith("T-")]
    assert [row["code"] for row in ours] == ["T-SMK-1", "T-SMK-2", "T-GAS-1", "T-WL-1"]
    smoke = ours[0]
    building = Building.objects.get(code="B003")
    assert smoke == {
        "code": "T-SMK-1",
        "kind": "Smoke detector",
        "place": "3幢, entrance 1, room 101",
        "building": "3幢",
        "unit": "1-01-101",
        "facility": "",
        "latitude": round(building.latitude, 7),
        "longitude": round(building.longitude, 7),
        "installed": "2026-05-18",
        "status": "Online",
        "mqtt_topic": f"banyan/{COMMUNITY}/devices/T-SMK-1/readings",
    }
    buildings = [row["building"] for row in rows if row["building"]]
    assert buildings == sorted(buildings, key=lambda name: int(name.removesuffix("幢")))
    # The CSV, in Chinese, imports again unchanged.
    with translation.override("zh-hans"):
        data = device_import.installer_csv(director, community)
        assert data.startswith("\ufeff编号,类型,位置,楼栋".encode())
        assert "烟感探测器" in data.decode("utf-8-sig")
    report = import_devices(data, filename="list.csv", community_code=COMMUNITY, dry_run=True, actor=director)
    assert report.problems == []
    assert (report.created, report.updated) == (0, len(rows))
    # The workbook holds the same rows.
    sheet = load_workbook(io.BytesIO(device_import.installer_xlsx(director, community))).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:3] == ("code", "kind", "place")
    assert len(values) == len(rows) + 1
    assert values[1 + rows.index(smoke)][-1] == smoke["mqtt_topic"]


def test_the_installers_list_holds_only_what_the_user_may_see(users, db):
    community = Region.objects.get(code=COMMUNITY)
    seen = {row["code"] for row in device_import.installer_rows(users["grid01"], community)}
    grids = set(Device.objects.filter(code__in=seen).values_list("grid__code", flat=True))
    assert seen and grids == {"G01"}


def test_rows_and_bytes_are_limited(monkeypatch, db):
    monkeypatch.setattr(device_import, "MAX_ROWS", 3)
    report = import_devices(
        csv_bytes(good_rows()), filename="d.csv", community_code=COMMUNITY, dry_run=True, actor=CLI_ACTOR
    )
    assert [p["problem"] for p in report.problems] == [
        "The file has more than 3 rows; split it into several files."
    ]
    monkeypatch.setattr(device_import, "MAX_BYTES", 2**20)
    report = import_devices(
        b"code,kind\n" + b"x" * 2**20,
        filename="d.csv",
        community_code=COMMUNITY,
        dry_run=True,
        actor=CLI_ACTOR,
    )
    assert [p["problem"] for p in report.problems] == [
        "The file is larger than 1 MB; split it into several files."
    ]


def test_the_installer_list_neutralises_cells_that_would_start_a_formula():
    from banyan.sensing.device_import import _safe

    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1+1", "\r=1+1", "\n=1"):
        assert _safe(text).startswith("'"), repr(text)
    assert _safe("3幢 2单元") == "3幢 2单元" and _safe(12) == 12
