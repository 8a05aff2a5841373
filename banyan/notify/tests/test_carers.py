"""tell_carers: a resident's consenting carers are told what happens to them — a signed-in carer in the
app on their channels, one without an account by SMS to the phone in the vault, which no log holds."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.core import clock
from banyan.notify import services
from banyan.notify.carers import tell_carers
from banyan.notify.models import Message
from banyan.people import carers
from banyan.people.models import CareProfile, Carer, Consent, Resident

PHONE = "13911112222"


@pytest.fixture
def elder(users):
    me = users["resident01"].resident
    return (
        Resident.objects.restrict(users["grid01"])
        .exclude(household=me.household)
        .filter(care_profiles__isnull=True)
        .order_by("id")
        .first()
    )


@pytest.fixture
def profile(elder):
    return CareProfile.objects.create(resident=elder, kind="elderly_alone", since=dt.date(2025, 1, 1))


@pytest.fixture
def daughter(users, profile):
    """A carer signed in as resident01, with a carer consent in force."""
    carer = Carer.objects.create(care_profile=profile, kind="family", name="女儿", is_primary=True)
    carers.link_account(actor=users["grid01"], carer=carer, username="resident01")
    carers.grant(actor=users["grid01"], carer=carer, given_by="self", scopes=["report"])
    return carer


@pytest.fixture
def neighbour(profile):
    """A carer without an account, only a phone."""
    return Carer.objects.create(care_profile=profile, kind="neighbour", name="邻居", phone=PHONE)


def test_a_carer_with_consent_is_told_in_the_app(users, elder, daughter, neighbour):
    [message] = tell_carers(elder, "checkin.missed", params={"time": "9:00"})
    assert message.recipient == users["resident01"]
    assert message.kind == "carer.checkin.missed" and message.urgency == "urgent"
    assert elder.name in message.subject and "9:00" in message.body
    assert message.language != "zh-hans" or "还没有报平安" in message.subject
    assert (message.subject_type, message.subject_id) == ("resident", str(elder.pk))
    assert "in_app" in set(message.deliveries.values_list("channel", flat=True))


def test_no_consent_no_message(elder, neighbour, profile):
    assert tell_carers(elder, "alert.raised", params={"what": "烟雾"}) == []
    assert not Message.objects.filter(kind__startswith="carer.").exists()


def test_a_withdrawn_consent_stops_the_messages(users, elder, daughter):
    carers.withdraw(actor=users["grid01"], consent=daughter.consents.get())
    assert tell_carers(elder, "incident.opened", params={"number": "7"}) == []


def test_a_carer_without_an_account_gets_an_sms_at_the_gateway(users, elder, neighbour, gateway, log_lines):
    Consent.objects.create(resident=elder, scope="share_with_carers", given_by="self", granted_at=clock.now())
    [message] = tell_carers(elder, "alert.raised", params={"what": "烟雾报警"})
    assert message.recipient is None and message.recipient_phone == PHONE
    services.send_pending()
    sms = [r for r in gateway.received if r["channel"] == "sms"]
    assert [r["to"] for r in sms] == [PHONE]
    assert "烟雾报警" in sms[0]["text"]
    assert not [line for line in log_lines if PHONE in line]


def test_need_help_for_a_resident_tells_their_carers(api, users, elder, daughter):
    response = api("grid01").post(
        "care/checkins", {"resident": elder.pk, "outcome": "need_help", "channel": "staff"}
    )
    assert response.status_code == 201, response.data
    [message] = Message.objects.filter(kind="carer.incident.opened")
    assert message.recipient == users["resident01"]
    assert (message.subject_type, message.subject_id) == ("incident", str(response.data["incident"]))


def test_an_unknown_event_is_refused(elder):
    with pytest.raises(ValueError, match="unknown carer event"):
        tell_carers(elder, "birthday")
