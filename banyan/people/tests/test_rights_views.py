"""The "My data" pages: held data masked, own reveal, who viewed, copies, corrections and the staff queue."""

from __future__ import annotations

import io
import json

import pytest
from django.test import Client
from django.urls import reverse
from pypdf import PdfReader

from banyan.audit.models import AuditEntry
from banyan.people.models import CorrectionRequest, Resident, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(users):
    def make(user, language="en") -> Client:
        client = Client(headers={"Accept-Language": language})
        client.force_login(users[user] if isinstance(user, str) else user)
        return client

    return make


def test_my_data_page_in_english_and_chinese_masked_with_who_viewed(signed_in, users):
    own = users["resident01"].resident
    signed_in("grid01").post(
        reverse("people:resident-reveal", args=[own.pk]),
        {"field": ["phone"], "purpose": "phone call for the weekly welfare check"},
    )
    response = signed_in("resident01").get(reverse("people:my-data"))
    html = response.content.decode()
    assert response.status_code == 200
    assert own.name in html and own.id_number not in html
    assert "Who viewed my data" in html and "phone call for the weekly welfare check" in html
    assert 'href="/people/me/"' in html  # the "My data" link in the header
    assert "<script>" not in html and " onclick=" not in html
    chinese = signed_in("resident01", "zh-hans").get(reverse("people:my-data")).content.decode()
    assert "我的数据" in chinese and "谁查看了我的数据" in chinese


def test_my_data_page_in_elder_mode(signed_in):
    client = signed_in("resident01")
    client.cookies["banyan_elder"] = "1"
    html = client.get(reverse("people:my-data")).content.decode()
    assert 'class="elder"' in html


def test_own_reveal_on_the_page_is_not_cached(signed_in, users):
    own = users["resident01"].resident
    response = signed_in("resident01").post(reverse("people:my-data-reveal"), {"field": ["id_number"]})
    assert response.status_code == 200
    assert f'data-revealed="id_number">{own.id_number}<' in response.content.decode()
    assert "no-store" in response["Cache-Control"] and response["Pragma"] == "no-cache"


def test_page_copies_pdf_and_json(signed_in, users):
    own = users["resident01"].resident
    client = signed_in("resident01")
    response = client.post(reverse("people:my-data-export"), {"format": "pdf"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"] and response["Pragma"] == "no-cache"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    assert own.name in text
    response = client.post(reverse("people:my-data-export"), {"format": "json"})
    assert json.loads(response.content)["registry"]["id_number"] == own.id_number
    assert "no-store" in response["Cache-Control"]


def test_correction_on_the_page_then_staff_accept(signed_in, users):
    own = users["resident01"].resident
    response = signed_in("resident01").post(
        reverse("people:my-correction-new"), {"field": "name", "proposed_value": "王小芳", "note": "改名了"}
    )
    assert response.status_code == 302 and "王小芳" not in response["Location"]
    correction = CorrectionRequest.objects.get(resident=own)
    queue = signed_in("grid01").get(reverse("people:correction-list")).content.decode()
    assert reverse("people:correction-detail", args=[correction.pk]) in queue
    detail = signed_in("grid01").get(reverse("people:correction-detail", args=[correction.pk]))
    assert "王小芳" in detail.content.decode() and "no-store" in detail["Cache-Control"]
    response = signed_in("grid01").post(reverse("people:correction-accept", args=[correction.pk]))
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.name == "王小芳"
    page = signed_in("resident01").get(reverse("people:my-data")).content.decode()
    assert "Accepted and corrected" in page
    again = signed_in("grid01").post(reverse("people:correction-accept", args=[correction.pk]))
    assert again.status_code == 409 and "This request was answered already." in again.content.decode()


def test_a_bad_correction_on_the_page_shows_the_error_and_saves_nothing(signed_in):
    response = signed_in("resident01").post(
        reverse("people:my-correction-new"), {"field": "phone", "proposed_value": "12"}
    )
    assert response.status_code == 200 and "field--invalid" in response.content.decode()
    assert "field--invalid" in response.content.decode()
    assert not CorrectionRequest.objects.exists()


def test_reject_on_the_page_needs_a_reason(signed_in, users):
    own = users["resident01"].resident
    signed_in("resident01").post(
        reverse("people:my-correction-new"), {"field": "other", "proposed_value": "我已搬家"}
    )
    correction = CorrectionRequest.objects.get(resident=own)
    response = signed_in("grid01").post(
        reverse("people:correction-reject", args=[correction.pk]), {"reason": ""}
    )
    assert response.status_code == 200 and "field--invalid" in response.content.decode()
    response = signed_in("grid01").post(
        reverse("people:correction-reject", args=[correction.pk]), {"reason": "请到社区办理"}
    )
    assert response.status_code == 302
    correction.refresh_from_db()
    assert (correction.status, correction.reason) == ("rejected", "请到社区办理")
    assert AuditEntry.objects.filter(action="correction.reject", subject_id=str(own.pk)).exists()


def test_queue_and_detail_are_404_out_of_scope_and_403_without_the_right(signed_in, users):
    own = users["resident01"].resident
    signed_in("resident01").post(
        reverse("people:my-correction-new"), {"field": "other", "proposed_value": "搬家"}
    )
    correction = CorrectionRequest.objects.get(resident=own)
    detail = reverse("people:correction-detail", args=[correction.pk])
    assert signed_in("grid02").get(detail).status_code == 404
    assert (
        signed_in("grid02").post(reverse("people:correction-accept", args=[correction.pk])).status_code == 404
    )
    assert detail not in signed_in("grid02").get(reverse("people:correction-list")).content.decode()
    assert detail in signed_in("grid01").get(reverse("people:correction-list")).content.decode()
    for role in ("property01", "auditor", "resident01"):
        assert signed_in(role).get(detail).status_code == 403, role
    other = (
        Resident.objects.filter(household__grid=own.household.grid).exclude(household=own.household).first()
    )
    other_account = User.objects.create_user(
        username="t-other", password="x" * 12, role="resident", resident=other
    )
    assert signed_in(other_account).get(detail).status_code == 403
    correction.refresh_from_db()
    assert correction.status == "pending"


def test_staff_without_a_registry_entry_have_no_my_data_page(signed_in):
    assert signed_in("director").get(reverse("people:my-data")).status_code == 404


def test_my_data_names_the_households_devices_as_people_say_them(signed_in, users):
    from banyan.sensing.models import Device

    household = users["resident01"].resident.household
    template = Device.objects.filter(kind="door_contact").first()
    devices = [
        Device.objects.create(
            code=f"T-HOME-{kind}",
            kind=kind,
            community=template.community,
            grid=household.grid,
            unit_id=household.unit_id,
            expected_interval_s=3600,
            installed_at=template.installed_at,
        )
        for kind in ("door_contact", "water_meter")
    ]
    chinese = signed_in("resident01", "zh-hans").get(reverse("people:my-data")).content.decode()
    for device in devices:
        assert f" · {device.kind} · " not in chinese
        assert f" · {device.kind_label} · " in chinese
