"""The roll call's pages: managers start it from its page (or the board), residents answer on their home
page or the question's page, staff mark a household safe; every page in both languages."""

from __future__ import annotations

import pytest

from banyan.core import clock
from banyan.emergency.rollcall import services
from banyan.emergency.rollcall.models import Entry, RollCall
from banyan.notify.models import Message
from banyan.people.models import Carer, Consent


def test_a_director_starts_the_roll_call_from_its_page(signed_in, users, emergency):
    client = signed_in("director")
    page = client.get(f"/emergency/{emergency.pk}/rollcall/")
    assert page.status_code == 200
    assert b"data-rollcall-start" in page.content and b"No roll call yet." in page.content
    response = client.post(
        f"/emergency/{emergency.pk}/rollcall/start", {"next": f"/emergency/{emergency.pk}/rollcall/"}
    )
    assert response.status_code == 302 and response["Location"] == f"/emergency/{emergency.pk}/rollcall/"
    roll_call = RollCall.objects.get(emergency=emergency)
    page = client.get(f"/emergency/{emergency.pk}/rollcall/")
    text = page.content.decode()
    assert f'data-count="asked">{roll_call.entries.count()}<' in text
    assert "data-rollcall-start" not in text and "data-mark-safe" in text
    # a second start is refused with a message, nothing more is written
    client.post(f"/emergency/{emergency.pk}/rollcall/start")
    assert RollCall.objects.filter(emergency=emergency).count() == 1


def test_roles_that_may_not_start_get_403_and_see_the_panel_without_buttons(signed_in, users, emergency):
    services.start_roll_call(actor=users["director"], emergency=emergency)
    for username in ("grid01", "auditor", "volunteer01"):
        response = signed_in(username).post(f"/emergency/{emergency.pk}/rollcall/start")
        assert response.status_code in (403, 404)
    auditor = signed_in("auditor").get(f"/emergency/{emergency.pk}/rollcall/").content.decode()
    assert "data-rollcall-unaccounted" in auditor and "data-mark-safe" not in auditor
    assert signed_in("resident01").get(f"/emergency/{emergency.pk}/rollcall/").status_code == 404


def test_the_resident_answers_on_the_home_page(signed_in, users, emergency):
    services.start_roll_call(actor=users["director"], emergency=emergency)
    client = signed_in("resident01", "zh-hans")
    home = client.get("/").content.decode()
    assert "您平安吗？" in home and 'data-answer="safe"' in home and 'data-answer="need_help"' in home
    entry = Entry.objects.get(household_id=users["resident01"].resident.household_id)
    response = client.post(f"/emergency/rollcall/{entry.pk}/answer", {"status": "safe"})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.status == "safe"
    home = client.get("/").content.decode()  # answered: the question and its notification leave the home page
    assert 'data-answer="safe"' not in home and "您平安吗？" not in home
    assert Message.objects.get(pk=entry.message_id).acknowledged_at is not None
    page = client.get(f"/emergency/rollcall/{entry.pk}/answer").content.decode()
    assert 'data-answered="safe"' in page and 'data-answer="need_help"' in page
    bad = client.post(f"/emergency/rollcall/{entry.pk}/answer", {"status": "x" * 5000})
    assert bad.status_code == 200 and 'role="alert"' in bad.content.decode()
    client.post(f"/emergency/rollcall/{entry.pk}/answer", {"status": "need_help"})
    entry.refresh_from_db()
    assert entry.status == "need_help" and entry.incident_id is not None
    # someone else's question: 404
    other = Entry.objects.exclude(pk=entry.pk).first()
    assert client.get(f"/emergency/rollcall/{other.pk}/answer").status_code == 404
    assert signed_in("grid01").get(f"/emergency/rollcall/{entry.pk}/answer").status_code == 404


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_grid_worker_marks_a_household_safe_after_a_call(signed_in, users, emergency, language):
    services.start_roll_call(actor=users["director"], emergency=emergency)
    entry = Entry.objects.filter(status="waiting").first()
    client = signed_in("grid01", language)
    client.post(f"/emergency/rollcall/{entry.pk}/safe", {})  # without the button's value: nothing
    entry.refresh_from_db()
    assert entry.status == "waiting"
    response = client.post(
        f"/emergency/rollcall/{entry.pk}/safe", {"status": "safe", "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == f"/emergency/{emergency.pk}/rollcall/"
    entry.refresh_from_db()
    assert (entry.status, entry.answered_by) == ("safe", users["grid01"])
    assert signed_in("grid02").post(f"/emergency/rollcall/{entry.pk}/safe").status_code == 404
    assert signed_in("auditor").post(f"/emergency/rollcall/{entry.pk}/safe").status_code == 403


def test_the_emergency_board_shows_the_roll_call(signed_in, users, emergency):
    director = signed_in("director")
    board = director.get(f"/emergency/{emergency.pk}/").content.decode()
    assert "data-rollcall-start" in board  # a manager may start it from the board
    assert (
        "data-rollcall-start" not in signed_in("grid01").get(f"/emergency/{emergency.pk}/").content.decode()
    )
    director.post(f"/emergency/{emergency.pk}/rollcall/start", {"next": f"/emergency/{emergency.pk}/"})
    board = director.get(f"/emergency/{emergency.pk}/").content.decode()
    assert "data-rollcall-counts" in board and "data-rollcall-unaccounted" in board
    assert "data-rollcall-start" not in board


def test_a_carer_is_asked_when_the_household_has_no_account_nor_phone(signed_in, users, emergency):
    volunteer = users["volunteer01"]
    carer = (
        Carer.objects.filter(
            user=volunteer, care_profile__is_active=True, care_profile__resident__household__grid__code="G01"
        )
        .exclude(care_profile__resident__household_id=users["resident01"].resident.household_id)
        .select_related("care_profile__resident")
        .first()
    )
    resident = carer.care_profile.resident
    household = resident.household
    household.members.update(phone="", phone_index="")
    Carer.objects.filter(care_profile__resident__household=household).exclude(pk=carer.pk).delete()
    Consent.objects.create(
        resident=resident, scope="share_with_carers", given_by="self", granted_at=clock.now()
    )
    services.start_roll_call(actor=users["director"], emergency=emergency)
    entry = Entry.objects.get(household=household)
    assert (entry.channel, entry.asked_user, entry.resident) == ("carer", volunteer, resident)
    client = signed_in("volunteer01", "zh-hans")
    home = client.get("/").content.decode()
    assert f'action="/emergency/rollcall/{entry.pk}/answer"' in home
    client.post(f"/emergency/rollcall/{entry.pk}/answer", {"status": "safe"})
    entry.refresh_from_db()
    assert (entry.status, entry.answered_by) == ("safe", volunteer)
