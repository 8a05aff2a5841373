"""The devices page's import (check first, then all rows or none, problems by row) and the installer's
list to download (XLSX and CSV), by role and scope."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from banyan.audit.models import AuditEntry
from banyan.sensing.models import Device
from banyan.sensing.tests.conftest import make_device

COMMUNITY = "330102001001"
LIST_URL = reverse("sensing:device-list")
IMPORT_URL = reverse("sensing:device-import")
HEADER = "编号,类型,楼栋,房号,安装日期\n"
GOOD = HEADER + "T-WEB-1,smoke,3幢,1-01-101,2026-05-18\nT-WEB-2,water_level,B002,,\n"
BAD = HEADER + "T-WEB-1,smoke,3幢,1-01-101,2026-05-18\nT-WEB-3,toaster,99幢,,2026-13-01\n"


def send(client, text: str, *, dry_run: bool = True, community: str = COMMUNITY, name: str = "devices.csv"):
    body = {"community": community, "file": SimpleUploadedFile(name, text.encode())}
    if dry_run:
        body["dry_run"] = "on"
    return client.post(IMPORT_URL, body)


def test_the_devices_page_offers_the_import_to_those_who_change_places(signed_in):
    for username, offered in (("director", True), ("street01", True), ("grid01", False), ("auditor", False)):
        page = signed_in(username).get(LIST_URL).content.decode()
        assert (f'action="{IMPORT_URL}"' in page) == offered, username
        assert reverse("sensing:device-installer-xlsx") in page, username
        # Both come after a long list of devices: the top of the page leads to them.
        top = page.split('class="filters"')[0]
        assert ('href="#import-title"' in top) == offered, username
        assert 'href="#installer-title"' in top, username


def test_a_check_lists_problems_by_row_and_writes_nothing(signed_in):
    client = signed_in("director")
    before = (Device.objects.count(), AuditEntry.objects.count())
    page = send(client, BAD).content.decode()
    assert "3 problems found. Nothing was imported." in page
    assert '<th scope="row" class="number">3</th>' in page
    assert "kind (类型)" in page and "building (楼栋)" in page and "installed (安装日期)" in page
    # A real run of the same file is refused as a whole.
    page = send(client, BAD, dry_run=False).content.decode()
    assert "3 problems found. Nothing was imported." in page
    assert (Device.objects.count(), AuditEntry.objects.count()) == before


def test_a_clean_check_then_the_import(signed_in):
    client = signed_in("director")
    page = send(client, GOOD).content.decode()
    assert "The check found no problems" in page
    assert '<dd data-count="created">2</dd>' in page
    assert not Device.objects.filter(code__startswith="T-WEB-").exists()
    response = send(client, GOOD, dry_run=False)
    assert response.status_code == 302 and response["Location"] == LIST_URL
    assert set(Device.objects.filter(code__startswith="T-WEB-").values_list("code", "grid__code")) == {
        ("T-WEB-1", "G03"),
        ("T-WEB-2", "G02"),
    }
    assert "The devices were imported: 2 new, 0 updated." in client.get(LIST_URL).content.decode()


def test_the_import_page_speaks_chinese(signed_in):
    page = send(signed_in("director", "zh-hans"), BAD).content.decode()
    assert "第 3 行" not in page  # row numbers stand alone in their column
    assert "类型" in page and "未知" in page


def test_bad_forms_are_refused_at_the_field(signed_in, outside):
    client = signed_in("director")
    page = send(client, GOOD, community="T-SIB").content.decode()
    assert "Choose one of the communities in your area." in page
    page = send(client, "x", name="devices.pdf").content.decode()
    assert "A device list must be a .csv or .xlsx file" in page
    assert not Device.objects.filter(code__startswith="T-WEB-").exists()


@pytest.mark.parametrize("username", ["grid01", "property01", "resident01", "auditor"])
def test_roles_that_may_not_change_places_are_refused(signed_in, username):
    client = signed_in(username)
    assert client.get(IMPORT_URL).status_code == 403
    assert send(client, GOOD, dry_run=False).status_code == 403
    assert not Device.objects.filter(code__startswith="T-WEB-").exists()


def test_the_installers_list_downloads_as_xlsx_and_csv_in_scope(signed_in, users, outside):
    make_device(grid=outside["sibling"]["grid"], code="T-SIB-LIST")
    client = signed_in("director")
    xlsx = client.get(reverse("sensing:device-installer-xlsx"), {"community": COMMUNITY})
    assert xlsx.status_code == 200
    assert xlsx["Content-Disposition"].startswith(f'attachment; filename="devices-{COMMUNITY}-')
    rows = list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "code" and rows[0][-1] == "mqtt_topic"
    assert all(row[-1].startswith(f"banyan/{COMMUNITY}/devices/") for row in rows[1:])
    assert len(rows) > 1
    text = client.get(reverse("sensing:device-installer-csv"), {"community": COMMUNITY}).content
    lines = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    assert [line[0] for line in lines] == [row[0] for row in rows]
    # Another community's list is not the director's; nor is nonsense.
    sibling = "T-SIB"
    for query in ({"community": sibling}, {"community": "x"}, {"community": "9" * 40}, {}):
        assert client.get(reverse("sensing:device-installer-csv"), query).status_code == 404, query
    street = signed_in("street01")
    assert street.get(reverse("sensing:device-installer-csv"), {"community": sibling}).status_code == 200
