"""Browsing pages: scope by construction, masking by default, reveal with a purpose and an audit entry."""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from django.urls import reverse

from banyan.audit.models import AuditEntry
from banyan.people.models import CareProfile, Household, Resident
from banyan.places.models import Building

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(users):
    """``signed_in("grid01")`` — a web client with a session for that demo account."""

    def make(username: str) -> Client:
        client = Client()
        client.force_login(users[username])
        return client

    return make


def resident_in(grid) -> Resident:
    """A resident of ``grid`` with a phone number."""
    return (
        Resident.objects.filter(household__grid=grid)
        .exclude(phone="")
        .select_related("household__unit__building")
        .order_by("id")
        .first()
    )


def reveal(client, resident, **data):
    return client.post(reverse("people:resident-reveal", args=[resident.pk]), data)


def test_grid_worker_sees_their_grid_only(signed_in, users):
    own, other = users["grid01"].region, users["grid02"].region
    html = signed_in("grid01").get(reverse("places:grid-list")).content.decode()
    assert own.code in html
    assert other.code not in html
    assert reverse("places:grid-detail", args=[own.pk]) in html


def test_grid_worker_browses_grid_to_resident(signed_in, users):
    client = signed_in("grid01")
    resident = resident_in(users["grid01"].region)
    household = resident.household
    building = household.unit.building
    grid_url = reverse("places:grid-detail", args=[household.grid_id])
    building_url = reverse("places:building-detail", args=[building.pk])
    household_url = reverse("people:household-detail", args=[household.pk])
    resident_url = reverse("people:resident-detail", args=[resident.pk])
    steps = [(grid_url, building_url), (building_url, household_url), (household_url, resident_url)]
    for page, link in steps:
        response = client.get(page)
        assert response.status_code == 200, page
        assert link in response.content.decode(), page
    response = client.get(resident_url)
    assert response.status_code == 200
    assert f"<h1>{resident.name}</h1>" in response.content.decode()


def test_grid_worker_gets_404_in_another_grid(signed_in, users):
    client = signed_in("grid01")
    other_grid = users["grid02"].region
    resident = resident_in(other_grid)
    urls = [
        reverse("places:grid-detail", args=[other_grid.pk]),
        reverse("places:building-detail", args=[Building.objects.filter(grid=other_grid).first().pk]),
        reverse("people:household-detail", args=[Household.objects.filter(grid=other_grid).first().pk]),
        reverse("people:resident-detail", args=[resident.pk]),
        reverse("people:resident-reveal", args=[resident.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    before = AuditEntry.objects.count()
    response = reveal(client, resident, field=["id_number"], purpose="welfare check call")
    assert response.status_code == 404
    assert AuditEntry.objects.count() == before


def test_a_community_is_not_a_grid_page(signed_in, users):
    community = users["grid01"].region.parent
    assert signed_in("director").get(reverse("places:grid-detail", args=[community.pk])).status_code == 404


def test_pages_show_id_number_and_phone_masked_only(signed_in, users):
    client = signed_in("director")
    household = resident_in(users["grid01"].region).household
    members = list(Resident.objects.filter(household=household))
    pages = [
        reverse("places:grid-detail", args=[household.grid_id]),
        reverse("places:building-detail", args=[household.unit.building_id]),
        reverse("people:household-detail", args=[household.pk]),
    ] + [reverse("people:resident-detail", args=[m.pk]) for m in members]
    for page in pages:
        html = client.get(page).content.decode()
        for member in members:
            assert member.id_number not in html, page
            if member.phone:
                assert member.phone not in html, page
    household_html = client.get(reverse("people:household-detail", args=[household.pk])).content.decode()
    for member in members:
        assert member.id_number_masked in household_html
        assert member.phone_masked in household_html


def chronic_profile(grid) -> CareProfile:
    """An active chronic-illness profile in ``grid``; the seed records conditions and medications."""
    return (
        CareProfile.objects.filter(is_active=True, kind="chronic_illness", resident__household__grid=grid)
        .select_related("resident")
        .order_by("id")
        .first()
    )


def test_care_profiles_show_kind_and_level_but_not_details(signed_in, users):
    profile = chronic_profile(users["grid01"].region)
    secrets = profile.details["conditions"] + profile.details["medications"]
    assert secrets
    client = signed_in("grid01")
    kind, level = profile.get_kind_display(), profile.get_level_display()
    household_url = reverse("people:household-detail", args=[profile.resident.household_id])
    resident_url = reverse("people:resident-detail", args=[profile.resident_id])
    household_html = client.get(household_url).content.decode()
    resident_html = client.get(resident_url).content.decode()
    assert f'<span class="tag">{kind} · {level}</span>' in household_html
    assert f"<td>{kind}</td>\n          <td>{level}</td>" in resident_html
    for secret in secrets:
        assert secret not in household_html
        assert secret not in resident_html


def test_reveal_dialog_offers_the_fields_of_the_role(signed_in, users):
    resident = resident_in(users["grid01"].region)
    html = signed_in("grid01").get(reverse("people:resident-detail", args=[resident.pk])).content.decode()
    assert '<dialog id="reveal-dialog" aria-labelledby="reveal-dialog-title">' in html
    assert 'data-dialog="reveal-dialog"' in html
    assert f'href="{reverse("people:resident-reveal", args=[resident.pk])}#reveal"' in html
    for value in ("id_number", "phone", "care_details"):
        assert f'value="{value}"' in html
    assert '<label for="id_purpose">' in html


def test_reveal_fallback_page_shows_the_form_without_a_dialog(signed_in, users):
    resident = resident_in(users["grid01"].region)
    response = signed_in("grid01").get(reverse("people:resident-reveal", args=[resident.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="reveal"' in html
    assert "<dialog" not in html
    assert resident.id_number not in html


def test_reveal_without_purpose_shows_the_error_and_audits_nothing(signed_in, users):
    resident = resident_in(users["grid01"].region)
    before = AuditEntry.objects.count()
    response = reveal(signed_in("grid01"), resident, field=["id_number"], purpose="  ")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_purpose_error"' in html
    assert 'aria-invalid="true"' in html
    assert resident.id_number not in html
    assert AuditEntry.objects.count() == before


def test_reveal_with_too_short_purpose_shows_the_services_error(signed_in, users):
    resident = resident_in(users["grid01"].region)
    before = AuditEntry.objects.count()
    html = reveal(signed_in("grid01"), resident, field=["phone"], purpose="ab").content.decode()
    assert 'id="id_purpose_error"' in html
    assert "至少 4 个字符" in html
    assert resident.phone not in html
    assert AuditEntry.objects.count() == before


def test_reveal_without_fields_shows_the_error(signed_in, users):
    resident = resident_in(users["grid01"].region)
    before = AuditEntry.objects.count()
    html = reveal(signed_in("grid01"), resident, purpose="weekly welfare call").content.decode()
    assert 'id="id_field_error"' in html
    assert AuditEntry.objects.count() == before


def test_reveal_with_purpose_shows_clear_values_once_and_audits_each_field(signed_in, users, caplog):
    caplog.set_level(logging.DEBUG)
    resident = resident_in(users["grid01"].region)
    purpose = "phone call for the weekly welfare check"
    before = AuditEntry.objects.count()
    response = reveal(signed_in("grid01"), resident, field=["id_number", "phone"], purpose=purpose)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-revealed="id_number">{resident.id_number}<' in html
    assert f'data-revealed="phone">{resident.phone}<' in html
    assert purpose not in html
    assert "no-store" in response["Cache-Control"]
    assert response["Pragma"] == "no-cache"
    entries = list(AuditEntry.objects.filter(id__gt=before).order_by("id"))
    assert [(e.action, e.subject_id, e.details, e.purpose, e.actor) for e in entries] == [
        ("resident.reveal", str(resident.pk), {"field": "id_number"}, purpose, "grid01"),
        ("resident.reveal", str(resident.pk), {"field": "phone"}, purpose, "grid01"),
    ]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (resident.id_number, resident.phone, purpose):
        assert secret not in logged
    # The next ordinary visit is masked again.
    again = signed_in("grid01").get(reverse("people:resident-detail", args=[resident.pk])).content.decode()
    assert resident.id_number not in again


def test_reveal_care_details(signed_in, users):
    profile = chronic_profile(users["grid01"].region)
    before = AuditEntry.objects.count()
    html = reveal(
        signed_in("grid01"), profile.resident, field=["care_details"], purpose="prepare the home visit"
    ).content.decode()
    medications = "、".join(profile.details["medications"])
    conditions = "、".join(profile.details["conditions"])
    assert f'<dt>药物</dt><dd><span class="revealed">{medications}</span></dd>' in html
    assert f'<dt>病症</dt><dd><span class="revealed">{conditions}</span></dd>' in html
    assert AuditEntry.objects.filter(id__gt=before, action="resident.reveal").count() == 1


def test_role_cannot_reveal_a_field_it_may_not_see(signed_in, users):
    # Property staff serve the whole community and may reveal the phone only.
    resident = resident_in(users["grid01"].region)
    client = signed_in("property01")
    html = client.get(reverse("people:resident-detail", args=[resident.pk])).content.decode()
    assert 'value="phone"' in html
    assert 'value="id_number"' not in html
    assert 'value="care_details"' not in html
    before = AuditEntry.objects.count()
    html = reveal(client, resident, field=["id_number"], purpose="fix the water pipe").content.decode()
    assert 'id="id_field_error"' in html
    assert resident.id_number not in html
    assert AuditEntry.objects.count() == before


def test_auditor_page_offers_no_reveal(signed_in, users):
    resident = resident_in(users["grid01"].region)
    client = signed_in("auditor")
    html = client.get(reverse("people:resident-detail", args=[resident.pk])).content.decode()
    assert resident.name in html
    assert "<dialog" not in html
    assert reverse("people:resident-reveal", args=[resident.pk]) not in html
    before = AuditEntry.objects.count()
    assert client.get(reverse("people:resident-reveal", args=[resident.pk])).status_code == 403
    response = reveal(client, resident, field=["id_number"], purpose="curious about this one")
    assert response.status_code == 403
    assert "无权" in response.content.decode()
    assert AuditEntry.objects.count() == before


@pytest.mark.parametrize(
    ("page", "queries"),
    [("grid-list", 10), ("grid", 9), ("building", 9), ("household", 9), ("resident", 7)],
)
def test_pages_use_a_fixed_number_of_queries(signed_in, users, django_assert_num_queries, page, queries):
    """Session, user, the second-factor device, the header's unread notifications, then the page's own
    queries; none per row (the grid list also asks which communities one may edit grids of)."""
    resident = resident_in(users["grid01"].region)
    household = resident.household
    url = {
        "grid-list": reverse("places:grid-list"),
        "grid": reverse("places:grid-detail", args=[household.grid_id]),
        "building": reverse("places:building-detail", args=[household.unit.building_id]),
        "household": reverse("people:household-detail", args=[household.pk]),
        "resident": reverse("people:resident-detail", args=[resident.pk]),
    }[page]
    client = signed_in("director")
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200


def test_grid_pages_link_the_ledger_export_for_roles_that_may_export(signed_in, users):
    grid = users["grid01"].region
    href = f"{reverse('people:ledger-export')}?grid={grid.code}"
    client = signed_in("grid01")
    for url in (reverse("places:grid-list"), reverse("places:grid-detail", args=[grid.pk])):
        html = client.get(url).content.decode()
        assert f'href="{href}"' in html, url
        assert reverse("api:export_resident_ledger") not in html, url
    response = client.get(href)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    grid_page = signed_in("property01").get(reverse("places:grid-detail", args=[grid.pk]))
    assert reverse("people:ledger-export") not in grid_page.content.decode()
