"""Ledger pages: import with a dry run first, the empty template, masked and revealed export.

Every file is built here with synthetic ID numbers (``make_id_number``); nothing personal is committed.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from banyan.audit.models import AuditEntry
from banyan.conftest import make_id_number, make_resident
from banyan.people import ledgers
from banyan.people.models import Household, Resident
from banyan.places.models import Unit

pytestmark = pytest.mark.django_db

IMPORT_URL = reverse("people:ledger-import")
HEADER_ZH = ["户编号", "楼栋编号", "房号", "姓名", "身份证号", "手机号", "与户主关系", "居住状态", "标签"]
CLEAR_ID = re.compile(r"\d{17}[\dX]")


@pytest.fixture
def signed_in(users):
    """``signed_in("grid01")`` — a web client with a session for that demo account, in English."""

    def make(username: str) -> Client:
        client = Client(headers={"Accept-Language": "en"})
        client.force_login(users[username])
        return client

    return make


@pytest.fixture
def unit(users) -> Unit:
    """A unit in grid01's grid."""
    return (
        Unit.objects.filter(building__grid=users["grid01"].region)
        .select_related("building")
        .order_by("building__code", "id")
        .first()
    )


def ledger_csv(rows: list[list[str]], name: str = "ledger.csv") -> SimpleUploadedFile:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER_ZH)
    writer.writerows(rows)
    return SimpleUploadedFile(name, buffer.getvalue().encode("utf-8"), content_type="text/csv")


def good_rows(unit: Unit) -> list[list[str]]:
    code, number = unit.building.code, unit.number
    return [
        [
            "T-WEB-H1",
            code,
            number,
            "测试甲",
            make_id_number("19470312", "110101"),
            "13900001111",
            "户主",
            "",
            "",
        ],
        [
            "T-WEB-H1",
            code,
            number,
            "测试乙",
            make_id_number("19490820", "110101"),
            "",
            "配偶",
            "户在人在",
            "党员",
        ],
    ]


def counts() -> tuple[int, int, int]:
    return Resident.objects.count(), Household.objects.count(), AuditEntry.objects.count()


def upload(client: Client, file: SimpleUploadedFile, **data):
    return client.post(IMPORT_URL, {"file": file, **data})


def checked_digest(html: str) -> str:
    match = re.search(r'name="checked" value="([0-9a-f]{64})"', html)
    assert match, "the dry run offers no “Import now” form"
    return match.group(1)


# --- import ------------------------------------------------------------------------------


def test_import_page_requires_sign_in():
    response = Client().get(IMPORT_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account:login"))


@pytest.mark.parametrize("username", ["property01", "volunteer01", "resident01", "auditor"])
def test_import_page_is_403_for_roles_that_may_not_import(signed_in, unit, username):
    client = signed_in(username)
    assert client.get(IMPORT_URL).status_code == 403
    assert client.get(reverse("people:ledger-template")).status_code == 403
    before = counts()
    response = upload(client, ledger_csv(good_rows(unit)), dry_run="0")
    assert response.status_code == 403
    assert counts() == before
    home = client.get(reverse("account:home")).content.decode()
    assert f'href="{IMPORT_URL}"' not in home


def test_import_page_offers_a_labelled_file_input_and_the_columns(signed_in):
    response = signed_in("grid01").get(IMPORT_URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<label for="id_file">' in html
    assert 'type="file" name="file" accept=".csv,.xlsx"' in html
    assert 'enctype="multipart/form-data"' in html
    assert f'href="{reverse("people:ledger-template")}"' in html
    for column in ledgers.COLUMNS:
        assert f'<th scope="row">{column.header_zh}</th>' in html
        assert f"<code>{column.key}</code>" in html
    # The navigation links the page, marked as the current one.
    assert f'<a href="{IMPORT_URL}" aria-current="page">Ledgers</a>' in html


def test_import_page_speaks_chinese(users):
    client = Client()
    client.force_login(users["grid01"])
    html = client.get(IMPORT_URL).content.decode()
    assert "<h1>导入居民台账</h1>" in html
    assert ">台账</a>" in html


def test_template_is_the_chinese_header_only(signed_in):
    response = signed_in("grid01").get(reverse("people:ledger-template"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="ledger-template.csv"'
    text = response.content.decode("utf-8")
    assert text == "\ufeff" + ",".join(HEADER_ZH) + "\r\n"
    # The template is itself a valid (empty) ledger.
    assert ledgers.parse_ledger(response.content, "ledger-template.csv") == []


def test_dry_run_with_bad_rows_lists_each_row_and_writes_nothing(signed_in, unit):
    good = good_rows(unit)
    bad_id = good[0][4][:17] + ("1" if good[0][4][17] != "1" else "2")
    rows = [
        good[0],
        ["T-WEB-H1", unit.building.code, unit.number, "", bad_id, "123", "户主", "", ""],
        [
            "T-WEB-H1",
            "NO-SUCH-BUILDING",
            unit.number,
            "测试丙",
            make_id_number("19500101", "110101"),
            "",
            "朋友",
            "",
            "",
        ],
        ["T-WEB-H1", unit.building.code, unit.number, "测试丁", good[0][4], "", "子女", "", ""],
    ]
    before = counts()
    response = upload(signed_in("grid01"), ledger_csv(rows))
    html = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert counts() == before
    found = re.findall(r'<th scope="row" class="number">(\d+)</th>\s*<td>(.*?)</td>\s*<td>([^<]*)</td>', html)
    assert [(int(row), re.sub(r"<[^>]+>", "", column)) for row, column, _ in found] == [
        (3, "姓名 (name)"),
        (3, "身份证号 (id_number)"),
        (3, "手机号 (phone)"),
        (4, "楼栋编号 (building_code)"),
        (4, "与户主关系 (relation)"),
        (5, "身份证号 (id_number)"),
    ]
    messages = [message for _, _, message in found]
    assert messages[0] == "This column is required."
    assert "check character" in messages[1]
    assert "Building NO-SUCH-BUILDING not found in your area." == messages[3]
    assert "The same ID number is on row 2." == messages[5]
    assert f"{len(found)} problems found. Nothing was imported." in html
    assert "<caption>Problems by row (row 1 is the header)</caption>" in html
    # No personal value is echoed, and the page offers no import.
    assert bad_id not in html
    assert good[0][4] not in html
    assert 'name="checked"' not in html
    assert "Import now" not in html


def test_the_empty_template_checks_as_a_file_without_residents(signed_in):
    client = signed_in("grid01")
    template = client.get(reverse("people:ledger-template")).content
    html = upload(client, SimpleUploadedFile("ledger-template.csv", template)).content.decode()
    assert re.search(
        r'<th scope="row" class="number">2</th>\s*<td>The whole file</td>\s*'
        r"<td>The file has a header but no resident rows.</td>",
        html,
    )


def test_clean_dry_run_shows_counts_and_asks_for_the_file_again(signed_in, unit):
    rows = good_rows(unit)
    before = counts()
    response = upload(signed_in("grid01"), ledger_csv(rows))
    html = response.content.decode()
    assert counts() == before
    assert '<dd data-count="households">1</dd>' in html
    assert '<dd data-count="residents">2</dd>' in html
    assert "Choose the same file again" in html
    assert '<input type="hidden" name="dry_run" value="0"' in html
    assert '<label for="confirm_file">' in html
    assert "Import now" in html
    assert checked_digest(html)
    for row in rows:
        assert row[4] not in html


def test_real_run_of_the_checked_file_creates_the_residents(signed_in, unit):
    client = signed_in("grid01")
    rows = good_rows(unit)
    digest = checked_digest(upload(client, ledger_csv(rows)).content.decode())
    residents, households, audit = counts()
    response = upload(client, ledger_csv(rows), dry_run="0", checked=digest)
    assert response.status_code == 302
    assert response["Location"] == reverse("places:grid-list")
    assert counts()[:2] == (residents + 2, households + 1)
    household = Household.objects.get(code="T-WEB-H1")
    assert household.unit_id == unit.pk
    assert sorted(Resident.objects.filter(household=household).values_list("name", flat=True)) == [
        "测试乙",
        "测试甲",
    ]
    assert AuditEntry.objects.filter(id__gt=audit, action="ledger.import").count() == 1
    # The grid list shows the counts and links the grid pages.
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "The ledger was imported. New households: 1. New residents: 2." in html
    assert reverse("places:grid-detail", args=[unit.building.grid_id]) in html


def test_real_run_of_another_file_only_checks_it(signed_in, unit):
    client = signed_in("grid01")
    digest = checked_digest(upload(client, ledger_csv(good_rows(unit))).content.decode())
    before = counts()
    response = upload(client, ledger_csv(good_rows(unit)), dry_run="0", checked=digest)
    html = response.content.decode()
    assert response.status_code == 200
    assert counts() == before
    assert "This is not the file that passed the check" in html
    assert checked_digest(html) != digest
    # Without any digest, a real run is a check as well.
    response = upload(client, ledger_csv(good_rows(unit)), dry_run="0")
    assert "This is not the file that passed the check" in response.content.decode()
    assert counts() == before


def test_real_run_with_errors_writes_nothing_and_shows_them(signed_in, unit):
    client = signed_in("grid01")
    rows = good_rows(unit)
    file_bytes = ledger_csv(rows).read()
    digest = checked_digest(upload(client, SimpleUploadedFile("a.csv", file_bytes)).content.decode())
    # Someone registers the first person between the check and the import.
    make_resident(Household.objects.filter(grid=unit.building.grid).first(), id_number=rows[0][4])
    before = counts()
    response = upload(client, SimpleUploadedFile("a.csv", file_bytes), dry_run="0", checked=digest)
    html = response.content.decode()
    assert response.status_code == 200
    assert counts() == before
    assert "1 problem found. Nothing was imported." in html
    assert "A resident with this ID number is already registered." in html


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("ledger.xls", b"\xd0\xcf\x11\xe0", "A ledger must be a .csv or .xlsx file"),
        ("ledger.xlsx", b"not a zip", "The file is not a readable .xlsx workbook."),
        ("ledger.csv", "姓名,身份证号\n".encode(), "Row 1 lacks the required column"),
        ("ledger.csv", b"", "The file is empty; the first row must name the columns."),
    ],
)
def test_file_level_problem_shows_next_to_the_file_field(signed_in, name, content, message):
    before = counts()
    response = upload(signed_in("grid01"), SimpleUploadedFile(name, content))
    html = response.content.decode()
    assert response.status_code == 200
    assert counts() == before
    assert '<ul class="errorlist" id="id_file_error">' in html
    error = re.search(r'id="id_file_error"><li>([^<]*)</li>', html).group(1)
    assert error.startswith(message)
    assert 'aria-invalid="true"' in html
    assert "Problems by row" not in html


def test_missing_file_asks_for_one(signed_in):
    html = signed_in("grid01").post(IMPORT_URL, {"dry_run": "1"}).content.decode()
    assert "Choose a ledger file." in html


# --- export ------------------------------------------------------------------------------


def export_url(grid_code: str) -> str:
    return f"{reverse('people:ledger-export')}?grid={grid_code}"


def reveal_url(grid_code: str) -> str:
    return f"{reverse('people:ledger-export-reveal')}?grid={grid_code}"


def workbook_cells(content: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_masked_export_downloads_an_xlsx_without_clear_id_numbers(signed_in, users):
    grid = users["grid01"].region
    before = AuditEntry.objects.count()
    response = signed_in("grid01").get(export_url(grid.code))
    assert response.status_code == 200
    assert response["Content-Type"] == ledgers.XLSX_CONTENT_TYPE
    assert response["Content-Disposition"] == f'attachment; filename="{ledgers.export_filename(grid.code)}"'
    assert "no-store" in response["Cache-Control"]
    rows = workbook_cells(response.content)
    residents = Resident.objects.filter(household__grid=grid)
    assert len(rows) == residents.count() + 1
    cells = [str(cell) for row in rows for cell in row if cell is not None]
    assert not any(CLEAR_ID.fullmatch(cell) for cell in cells)
    id_numbers = set(residents.values_list("id_number", flat=True))
    assert not id_numbers & set(cells)
    entries = list(AuditEntry.objects.filter(id__gt=before))
    assert [(e.action, e.subject_id) for e in entries] == [("ledger.export", grid.code)]


def test_grid_page_offers_the_reveal_form_with_the_roles_columns(signed_in, users):
    grid = users["grid01"].region
    html = signed_in("grid01").get(reverse("places:grid-detail", args=[grid.pk])).content.decode()
    assert f'action="{reveal_url(grid.code)}"' in html
    assert 'value="id_number"' in html and 'value="phone"' in html
    assert 'value="care_details"' not in html
    assert '<label for="id_purpose">' in html
    assert "<details" in html and '<details class="reveal-panel" id="ledger-reveal" open' not in html
    # The auditor may export masked but reveal nothing: no form.
    html = signed_in("auditor").get(reverse("places:grid-detail", args=[grid.pk])).content.decode()
    assert f'href="{export_url(grid.code)}"' in html
    assert reveal_url(grid.code) not in html


def test_reveal_export_without_purpose_shows_the_error_and_audits_nothing(signed_in, users):
    grid = users["grid01"].region
    before = AuditEntry.objects.count()
    response = signed_in("grid01").post(reveal_url(grid.code), {"field": ["id_number"], "purpose": " "})
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert 'id="id_purpose_error"' in html
    assert 'id="ledger-reveal" open' in html
    assert AuditEntry.objects.count() == before
    # A purpose the service finds too short is shown the same way.
    response = signed_in("grid01").post(reveal_url(grid.code), {"field": ["phone"], "purpose": "ab"})
    assert 'id="id_purpose_error"' in response.content.decode()
    # No column chosen.
    response = signed_in("grid01").post(reveal_url(grid.code), {"purpose": "subsidy application list"})
    assert 'id="id_field_error"' in response.content.decode()
    assert AuditEntry.objects.count() == before


def test_reveal_export_url_without_a_form_goes_back_to_the_grid_page(signed_in, users):
    # The language and elder-mode switches of a re-rendered form come back here with a GET.
    grid = users["grid01"].region
    response = signed_in("grid01").get(reveal_url(grid.code))
    assert response.status_code == 302
    assert response["Location"] == reverse("places:grid-detail", args=[grid.pk]) + "#ledger-reveal"


def test_reveal_export_with_purpose_has_clear_values_and_audits_them(signed_in, users):
    grid = users["grid01"].region
    purpose = "list for the elderly care subsidy application"
    before = AuditEntry.objects.count()
    response = signed_in("grid01").post(reveal_url(grid.code), {"field": ["id_number"], "purpose": purpose})
    assert response.status_code == 200
    assert response["Content-Type"] == ledgers.XLSX_CONTENT_TYPE
    assert "no-store" in response["Cache-Control"]
    assert purpose not in response["Content-Disposition"]
    rows = workbook_cells(response.content)
    id_column = rows[0].index("id_number")
    exported = {row[id_column] for row in rows[1:]}
    residents = Resident.objects.filter(household__grid=grid)
    assert exported == set(residents.values_list("id_number", flat=True))
    entries = AuditEntry.objects.filter(id__gt=before)
    reveals = entries.filter(action="resident.reveal")
    assert reveals.count() == residents.count()
    assert set(reveals.values_list("purpose", flat=True)) == {purpose}
    assert entries.get(action="ledger.export").details["revealed"] == ["id_number"]


def test_reveal_export_refuses_a_column_the_role_may_not_reveal(signed_in, users):
    grid = users["grid01"].region
    before = AuditEntry.objects.count()
    response = signed_in("grid01").post(
        reveal_url(grid.code), {"field": ["care_details"], "purpose": "subsidy application list"}
    )
    assert 'id="id_field_error"' in response.content.decode()
    assert AuditEntry.objects.count() == before


def test_export_of_a_grid_out_of_scope_is_404(signed_in, users):
    other = users["grid02"].region
    client = signed_in("grid01")
    before = AuditEntry.objects.count()
    assert client.get(export_url(other.code)).status_code == 404
    assert client.get(export_url("NO-SUCH-GRID")).status_code == 404
    assert client.get(reverse("people:ledger-export")).status_code == 404
    response = client.post(reveal_url(other.code), {"field": ["id_number"], "purpose": "subsidy list"})
    assert response.status_code == 404
    community = users["grid01"].region.parent
    director = signed_in("director")
    assert director.get(export_url(community.code)).status_code == 404
    response = director.post(reveal_url(community.code), {"field": ["id_number"], "purpose": "subsidy list"})
    assert response.status_code == 404
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize("username", ["property01", "volunteer01", "resident01"])
def test_export_is_403_for_roles_that_may_not_export(signed_in, users, username):
    grid = users["grid01"].region
    client = signed_in(username)
    before = AuditEntry.objects.count()
    assert client.get(export_url(grid.code)).status_code == 403
    response = client.post(reveal_url(grid.code), {"field": ["phone"], "purpose": "subsidy list"})
    assert response.status_code == 403
    assert AuditEntry.objects.count() == before


def test_auditor_may_export_masked_but_not_reveal(signed_in, users):
    grid = users["grid01"].region
    client = signed_in("auditor")
    assert client.get(export_url(grid.code)).status_code == 200
    before = AuditEntry.objects.count()
    response = client.post(reveal_url(grid.code), {"field": ["id_number"], "purpose": "annual audit sample"})
    assert response.status_code == 403
    assert AuditEntry.objects.count() == before
