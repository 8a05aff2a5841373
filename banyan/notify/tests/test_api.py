"""GET /notify/messages, POST /notify/messages/{id}/ack, preferences and the gateways' receipts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from banyan.notify import channels, services
from banyan.notify.models import Delivery
from banyan.notify.services import Contact, notify

from .conftest import GATEWAY_TOKEN

PHONE = "13911112222"


def test_my_messages_only_newest_first_with_their_deliveries(users, api, now, notify_settings):
    mine = notify([users["grid01"]], "incident.assigned", "First", "B", reference=("incident", 1))
    notify([users["grid02"]], "incident.assigned", "Not yours", "B")
    newer = notify([users["grid01"]], "incident.escalated", "Second", "B", urgency="urgent")

    response = api("grid01").get("notify/messages")

    assert response.status_code == 200
    assert response.data["count"] == 2
    assert [item["id"] for item in response.data["items"]] == [newer[0].pk, mine[0].pk]
    item = response.data["items"][1]
    assert (item["subject"], item["kind"], item["subject_type"], item["subject_id"]) == (
        "First",
        "incident.assigned",
        "incident",
        "1",
    )
    assert [(d["channel"], d["status"]) for d in item["deliveries"]] == [("in_app", "queued")]
    assert item["acknowledged_at"] is None


def test_the_list_takes_a_constant_number_of_queries(users, api, notify_settings):
    client = api("grid01")
    notify([users["grid01"]], "incident.assigned", "S", "B")
    with CaptureQueriesContext(connection) as one:
        client.get("notify/messages")
    for _ in range(5):
        notify([users["grid01"]], "incident.assigned", "S", "B")
    with CaptureQueriesContext(connection) as six:
        response = client.get("notify/messages")
    assert response.data["count"] == 6
    assert len(six) == len(one)


def test_filters(users, api, notify_settings):
    first, second = (notify([users["grid01"]], kind, "S", "B")[0] for kind in ("a.one", "a.two"))
    services.acknowledge(first, users["grid01"])
    client = api("grid01")

    assert [i["id"] for i in client.get("notify/messages?acknowledged=false").data["items"]] == [second.pk]
    assert [i["id"] for i in client.get("notify/messages?acknowledged=true").data["items"]] == [first.pk]
    assert [i["id"] for i in client.get("notify/messages?kind=a.one").data["items"]] == [first.pk]
    assert [i["id"] for i in client.get(f"notify/messages?since_id={first.pk}").data["items"]] == [second.pk]


def test_acknowledge_my_message(users, api, now, notify_settings):
    [message] = notify([users["grid01"]], "incident.assigned", "S", "B")

    response = api("grid01").post(f"notify/messages/{message.pk}/ack")

    assert response.status_code == 200
    assert response.data["acknowledged_at"] is not None
    message.refresh_from_db()
    assert message.acknowledged_by == users["grid01"]


@pytest.mark.parametrize("path", ["notify/messages/{id}", "notify/messages/{id}/ack"])
def test_anothers_message_is_the_same_404_as_a_missing_one(users, api, path, notify_settings):
    [message] = notify([users["grid01"]], "incident.assigned", "S", "B")
    method = "post" if path.endswith("ack") else "get"

    theirs = getattr(api("grid02"), method)(path.format(id=message.pk))
    missing = getattr(api("grid02"), method)(path.format(id=message.pk + 1000))

    assert theirs.status_code == missing.status_code == 404
    assert theirs.data == missing.data
    message.refresh_from_db()
    assert message.acknowledged_at is None


def test_even_an_administrator_sees_only_their_own(users, api, notify_settings):
    notify([users["grid01"]], "incident.assigned", "S", "B")
    assert api("admin").get("notify/messages").data["count"] == 0


def test_anonymous_is_401(db, api):
    assert api().get("notify/messages").status_code == 401
    assert api().post("notify/messages/1/ack").status_code == 401


def test_preferences_round_trip_with_the_phone_masked(users, api, notify_settings):
    client = api("grid01")
    assert client.get("notify/preferences").data == {
        "language": "",
        "normal_channels": [],
        "urgent_channels": [],
        "phone": "",
    }

    response = client.patch(
        "notify/preferences", {"language": "en", "urgent_channels": ["in_app", "sms"], "phone": PHONE}
    )

    assert response.status_code == 200
    assert response.data == {
        "language": "en",
        "normal_channels": [],
        "urgent_channels": ["in_app", "sms"],
        "phone": "139****2222",
    }
    assert PHONE not in response.content.decode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"language": "fr"}, "language"),
        ({"urgent_channels": ["pigeon"]}, "urgent_channels"),
        ({"phone": "12ab"}, "phone"),
    ],
)
def test_bad_preferences_name_the_field(users, api, body, field, notify_settings):
    response = api("grid01").patch("notify/preferences", body)
    assert response.status_code == 400
    assert response.data["field"] == field


# --- receipts ----------------------------------------------------------------------------------


@pytest.fixture
def sent_sms(db, notify_settings):
    fake = channels.MemoryChannel()
    previous = channels.install("sms", fake)
    [message] = notify([Contact(phone=PHONE)], "report.status", "S", "B")
    services.send_pending()
    yield message.deliveries.get()
    channels.install("sms", previous)


def receipt(api, body, token=GATEWAY_TOKEN):
    client = api()
    if token:
        client.headers["Authorization"] = f"Bearer {token}"
    return client.post("notify/receipts", body)


def test_a_receipt_marks_the_delivery_delivered(api, sent_sms):
    response = receipt(api, {"id": sent_sms.provider_message_id, "status": "delivered"})

    assert response.status_code == 200
    assert response.data == {"delivery": sent_sms.pk, "channel": "sms", "status": "delivered"}


@pytest.mark.parametrize("token", ["", "wrong-token", "byn_not-a-gateway"])
def test_a_receipt_without_the_gateway_token_is_refused(api, sent_sms, token):
    response = receipt(api, {"id": sent_sms.provider_message_id, "status": "delivered"}, token=token)

    assert response.status_code == 401
    assert Delivery.objects.get(pk=sent_sms.pk).status == "sent"


def test_a_users_token_is_not_a_gateway_token(users, api, sent_sms):
    response = api("admin").post(
        "notify/receipts", {"id": sent_sms.provider_message_id, "status": "delivered"}
    )
    assert response.status_code == 401


def test_receipts_are_refused_when_no_gateway_token_is_configured(api, sent_sms, notify_settings):
    notify_settings(GATEWAY_TOKEN="")
    response = receipt(api, {"id": sent_sms.provider_message_id, "status": "delivered"}, token="anything")
    assert response.status_code == 401


def test_a_receipt_for_an_unknown_id_is_404_and_a_bad_one_422(api, sent_sms):
    assert receipt(api, {"id": "sms-999", "status": "delivered"}).status_code == 404
    bad = receipt(api, {"id": sent_sms.provider_message_id, "status": "read"})
    assert bad.status_code == 422 and bad.data["field"] == "status"
