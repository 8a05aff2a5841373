"""A fall or SOS alert shows who needs help — the person, their household and their emergency contact —
to the roles that may see care data, phones masked; revealing them to call takes a purpose and is
audited, and only the revealed numbers are call links. Other roles read that this is hidden from them
(issue 12)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse

from banyan.audit.models import AuditEntry
from banyan.conftest import make_resident
from banyan.people.models import CareProfile, Carer, Household
from banyan.sensing.tests.conftest import make_device
from banyan.warning import services
from banyan.warning.tests.conftest import event, make_rule

ROLES = ["admin", "street01", "director", "grid01", "property01", "volunteer01", "resident01", "auditor"]
CARE_VIEWERS = {"admin", "street01", "director", "grid01"}  # may see care data, and alerts
HIDDEN_FROM = {"property01", "auditor"}  # see alerts, not care data
PERSON_PHONE = "13912340001"
CONTACT_PHONE = "13912340002"


@pytest.fixture
def person(users, now):
    """An 83-year-old living alone in grid01's grid with an SOS button, a care profile and her son as
    emergency contact (not a resident here), and a lodger in the same household."""
    grid = users["grid01"].region
    household = Household.objects.filter(grid=grid).select_related("unit__building").order_by("id").first()
    resident = make_resident(
        household, name="刘桂香", phone=PERSON_PHONE, birth_date=dt.date(1943, 1, 5), is_living_alone=True
    )
    lodger = make_resident(household, name="陈小明", relation="tenant", birth_date=dt.date(1990, 3, 1))
    profile = CareProfile.objects.create(resident=resident, kind="elderly_alone", since=dt.date(2025, 1, 1))
    Carer.objects.create(
        care_profile=profile, kind="family", name="刘建国", phone=CONTACT_PHONE, is_primary=True
    )
    return {"resident": resident, "lodger": lodger, "household": household}


@pytest.fixture
def sos(person):
    device = make_device(unit=person["household"].unit, kind="sos_button", resident=person["resident"])
    rule = make_rule(
        community=device.community,
        name="紧急呼叫按钮被按下",
        metric="sos",
        raise_at=1,
        clear_below=1,
        grade="red",
    )
    [alert] = services.apply_events([event("Raised", rule, device.code, value=1.0, grade="red")])
    return alert


def client_of(users, username: str) -> Client:
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(users[username])
    return client


def detail(alert) -> str:
    return reverse("warning:alert-detail", args=[alert.pk])


def call(alert) -> str:
    return reverse("warning:alert-call", args=[alert.pk])


@pytest.mark.parametrize("username", ROLES)
def test_who_sees_the_person_and_who_reads_that_it_is_hidden(username, users, person, sos):
    response = client_of(users, username).get(detail(sos))
    if username not in CARE_VIEWERS | HIDDEN_FROM:
        assert response.status_code == 403, username
        return
    assert response.status_code == 200, username
    html = response.content.decode()
    assert 'id="person-title"' in html, username
    if username in CARE_VIEWERS:
        assert "刘桂香" in html and "83 years old" in html and "lives alone" in html
        assert "陈小明 (Tenant, 36)" in html
        assert "刘建国 (Family)" in html
        assert "139****0001" in html and "139****0002" in html
        assert PERSON_PHONE not in html and CONTACT_PHONE not in html
        assert "tel:" not in html, "a masked number is no call link"
        assert call(sos) in html
    else:
        assert "hidden from your role" in html
        for value in ("刘桂香", "陈小明", "刘建国", "139****0001", call(sos)):
            assert value not in html, (username, value)


def test_another_grids_worker_does_not_see_the_alert(users, sos):
    assert client_of(users, "grid02").get(detail(sos)).status_code == 404
    assert client_of(users, "grid02").post(call(sos), {"purpose": "紧急呼叫"}).status_code == 404


def test_revealing_to_call_shows_call_links_and_is_audited(users, person, sos):
    before = AuditEntry.objects.count()
    response = client_of(users, "grid01").post(call(sos), {"purpose": "SOS 紧急呼叫，上门前先电话确认"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert f'href="tel:{PERSON_PHONE}"' in html and f'href="tel:{CONTACT_PHONE}"' in html
    assert "Call 刘桂香" in html and "Call 刘建国" in html
    entries = AuditEntry.objects.order_by("id")[before:]
    assert [(e.action, e.subject_type, e.purpose) for e in entries] == [
        ("resident.reveal", "resident", "SOS 紧急呼叫，上门前先电话确认"),
        ("resident.reveal", "carer", "SOS 紧急呼叫，上门前先电话确认"),
    ]
    assert PERSON_PHONE not in str([e.details for e in entries])


def test_the_purpose_is_checked_and_proposed(users, person, sos):
    client = client_of(users, "grid01")
    page = client.get(detail(sos)).content.decode()
    assert re.search(rf'name="purpose"[^>]*value="Emergency call about alert {sos.pk}"', page)
    before = AuditEntry.objects.count()
    refused = client.post(call(sos), {"purpose": f"call {PERSON_PHONE}"})
    assert refused.status_code == 200
    html = refused.content.decode()
    assert "Do not write ID numbers or phone numbers in the purpose" in html
    assert "tel:" not in html and AuditEntry.objects.count() == before
    assert "State the purpose" in client.post(call(sos), {"purpose": ""}).content.decode()


@pytest.mark.parametrize("username", sorted(HIDDEN_FROM | {"volunteer01", "resident01"}))
def test_roles_that_may_not_see_care_cannot_reveal(username, users, person, sos):
    before = AuditEntry.objects.count()
    response = client_of(users, username).post(call(sos), {"purpose": "紧急呼叫确认"})
    assert response.status_code == 403, username
    assert AuditEntry.objects.count() == before


def test_a_contact_who_lives_here_is_revealed_as_a_resident(users, person, sos):
    carer = Carer.objects.get(name="刘建国")
    carer.resident = person["lodger"]
    carer.save(update_fields=["resident"])
    numbers = services.reveal_call_numbers(actor=users["director"], alert=sos, purpose="紧急呼叫确认")
    assert numbers == {"person": PERSON_PHONE, "contact": person["lodger"].phone}
    subjects = AuditEntry.objects.filter(action="resident.reveal").order_by("-id")[:2]
    assert {e.subject_id for e in subjects} == {str(person["resident"].pk), str(person["lodger"].pk)}


def test_other_alerts_are_not_about_a_person(users, person):
    device = make_device(unit=person["household"].unit, kind="wearable_band", resident=person["resident"])
    rule = make_rule(
        community=device.community, name="Heart rate", metric="heart_rate", raise_at=120, clear_below=100
    )
    [alert] = services.apply_events([event("Raised", rule, device.code, value=131.0)])
    assert services.person_at_risk(users["director"], alert) is None
    html = client_of(users, "director").get(detail(alert)).content.decode()
    assert 'id="person-title"' not in html and "刘桂香" not in html


def english_words(page: str) -> list[str]:
    main = page.split("<main", 1)[1].split(">", 1)[1].split("</main>", 1)[0]
    main = re.sub(r"<script.*?</script>", " ", main, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", main)
    return re.findall(r"[A-Za-z]{3,}", text)


def test_the_panel_in_chinese(users, person, sos):
    client = Client(headers={"Accept-Language": "zh-hans"})
    client.force_login(users["grid01"])
    html = client.get(detail(sos)).content.decode()
    assert "需要帮助的人" in html and "刘桂香 · 83 岁" in html and "紧急联系人" in html
    called = client.post(call(sos), {"purpose": "紧急呼叫确认"}).content.decode()
    assert "呼叫 刘桂香" in called
    # What the panel says is in Chinese (the rest of the alert page is the lead's page walk).
    panel = called.split('id="person-title"', 1)[1].split("</section>", 1)[0]
    assert english_words("<main>" + panel + "</main>") == []
