"""The inbox: ``GET /notify/messages?unread=true``, the header's bell and urgent bar on every page,
the inbox page, and "seen" one by one or all at once."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from banyan.notify import services
from banyan.notify.models import Delivery
from banyan.notify.services import notify


@pytest.fixture
def page_as(users):
    def make(username: str) -> Client:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(users[username])
        return client

    return make


def bell_count(html: str) -> int:
    match = re.search(r"data-bell-count>(\d+)<", html)
    assert match, "no bell in the header"
    return int(match.group(1))


def test_unread_lists_only_those_not_seen_urgent_first(users, api, now, notify_settings):
    grid01 = [users["grid01"]]
    old = notify(grid01, "incident.assigned", "Old", "B")[0]
    urgent = notify(grid01, "incident.escalated", "Escalated", "B", urgency="urgent")[0]
    seen = notify(grid01, "incident.assigned", "Seen", "B")[0]
    newest = notify(grid01, "incident.assigned", "Newest", "B")[0]
    notify([users["grid02"]], "incident.assigned", "Not yours", "B", urgency="urgent")
    services.acknowledge(seen, users["grid01"])

    response = api("grid01").get("notify/messages?unread=true")

    assert response.status_code == 200
    assert response.data["count"] == 3
    assert [item["id"] for item in response.data["items"]] == [urgent.pk, newest.pk, old.pk]
    assert all(item["acknowledged_at"] is None for item in response.data["items"])
    read = api("grid01").get("notify/messages?unread=false").data
    assert [item["id"] for item in read["items"]] == [seen.pk]


def test_the_bell_shows_the_same_count_on_every_page(users, api, page_as, notify_settings):
    notify([users["director"]], "incident.escalated", "A", "B", urgency="urgent")
    notify([users["director"]], "incident.assigned", "B", "B")
    client = page_as("director")
    unread = api("director").get("notify/messages?unread=true").data["count"]
    assert unread == 2
    for name in ("account:home", "response:incident-list", "notify:inbox", "places:grid-list"):
        html = client.get(reverse(name)).content.decode()
        assert bell_count(html) == unread, name


def test_an_urgent_message_stays_on_top_of_every_page_until_seen(users, page_as, notify_settings):
    message = notify(
        [users["director"]],
        "incident.escalated",
        "Fall at 3-2-2201 not accepted",
        "B",
        urgency="urgent",
        reference=("incident", 7),
    )[0]
    client = page_as("director")
    for name in ("account:home", "places:grid-list"):
        html = client.get(reverse(name)).content.decode()
        bar = html[html.index("data-urgent-bar") : html.index("</section>", html.index("data-urgent-bar"))]
        assert "Fall at 3-2-2201 not accepted" in bar
        assert 'href="/response/incidents/7/"' in bar
        assert reverse("notify:acknowledge", args=[message.pk]) in bar

    response = client.post(reverse("notify:acknowledge", args=[message.pk]), {"next": "/places/"})

    assert response.status_code == 302 and response["Location"] == "/places/"
    html = client.get(reverse("account:home")).content.decode()
    assert "Fall at 3-2-2201 not accepted" not in html
    assert bell_count(html) == 0
    message.refresh_from_db()
    assert message.acknowledged_by == users["director"]


def test_a_normal_message_is_counted_but_not_pinned(users, page_as, notify_settings):
    notify([users["director"]], "incident.assigned", "Routine", "B")
    html = page_as("director").get(reverse("account:home")).content.decode()
    assert bell_count(html) == 1
    assert re.search(r"<section[^>]*data-urgent-bar[^>]*hidden>", html)
    assert "Routine" not in html


def test_seeing_an_urgent_message_cancels_its_pending_call(users, page_as, notify_settings):
    message = notify(
        [users["director"]], "incident.escalated", "S", "B", urgency="urgent", channels=["in_app", "voice"]
    )[0]
    services.set_preference(actor=users["director"], user=users["director"], phone="13911112222")
    page_as("director").post(reverse("notify:acknowledge", args=[message.pk]))
    statuses = dict(Delivery.objects.filter(message=message).values_list("channel", "status"))
    assert statuses["voice"] in ("cancelled", "failed")


def test_the_inbox_page_lists_mine_unread_first_and_all_on_request(users, page_as, notify_settings):
    grid01 = [users["grid01"]]
    seen = notify(grid01, "incident.assigned", "Earlier task", "B")[0]
    services.acknowledge(seen, users["grid01"])
    notify(grid01, "incident.assigned", "Routine task", "B", reference=("incident", 3))
    notify(grid01, "incident.escalated", "Backup needed", "B", urgency="urgent")
    notify([users["grid02"]], "incident.assigned", "Someone else's", "B")
    client = page_as("grid01")

    html = client.get(reverse("notify:inbox")).content.decode()
    listed = html[html.index('data-live-list="inbox"') :]
    assert listed.index("Backup needed") < listed.index("Routine task")
    assert "Earlier task" not in listed and "Someone else's" not in html
    assert 'href="/response/incidents/3/"' in listed
    every = client.get(reverse("notify:inbox") + "?show=all").content.decode()
    assert "Earlier task" in every and "Someone else's" not in every


def test_all_seen_marks_only_what_the_inbox_showed(users, page_as, notify_settings):
    grid01 = [users["grid01"]]
    shown = notify(grid01, "incident.assigned", "Shown", "B")[0]
    client = page_as("grid01")
    html = client.get(reverse("notify:inbox")).content.decode()
    up_to = re.search(r'name="up_to" value="(\d+)"', html).group(1)
    later = notify(grid01, "incident.assigned", "Arrived after", "B")[0]

    response = client.post(reverse("notify:acknowledge-all"), {"up_to": up_to})

    assert response.status_code == 302
    shown.refresh_from_db()
    later.refresh_from_db()
    assert shown.acknowledged_at is not None
    assert later.acknowledged_at is None


@pytest.mark.parametrize("up_to", ["", "abc", "9" * 30, "-1"])
def test_all_seen_without_a_good_up_to_marks_nothing(users, page_as, notify_settings, up_to):
    message = notify([users["grid01"]], "incident.assigned", "S", "B")[0]
    client = page_as("grid01")
    response = client.post(reverse("notify:acknowledge-all"), {"up_to": up_to}, follow=True)
    message.refresh_from_db()
    assert message.acknowledged_at is None
    assert "nothing was marked" in response.content.decode()


def test_anothers_message_cannot_be_seen_for_them(users, page_as, notify_settings):
    message = notify([users["grid02"]], "incident.assigned", "S", "B")[0]
    response = page_as("grid01").post(reverse("notify:acknowledge", args=[message.pk]))
    assert response.status_code == 404
    message.refresh_from_db()
    assert message.acknowledged_at is None


def test_the_bell_is_in_chinese_on_a_chinese_page(users, notify_settings):
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(users["director"])
    notify([users["director"]], "incident.escalated", "S", "B", urgency="urgent")
    html = client.get(reverse("account:home")).content.decode()
    for english in ("Notifications not yet seen", ">Urgent<", ">Seen<", ">Menu<"):
        assert english not in html
