"""The relay pages: the managers' page (relayed warnings with counts, a notice per active emergency,
door-knocking from the not-reached list), the resident's subscriptions and what they were sent, the
home page's block, and the board's block with names masked for roles that may not see people."""

from __future__ import annotations

import datetime as dt

from django.template.loader import render_to_string
from django.test import RequestFactory

from banyan.emergency.models import Task
from banyan.emergency.relay import services
from banyan.emergency.relay.models import Notice, Subscription
from banyan.emergency.relay.tests.conftest import DESCRIPTION_ZH, HEADLINE_ZH, import_warning
from banyan.notify.models import Message

URL = "/emergency/relay/"


def test_the_relay_page_is_for_managers_and_lists_what_was_relayed(signed_in, sim, community):
    import_warning("VIEW-RED", region=community)
    services.relay_new_warnings()
    page = signed_in("director", "zh-hans").get(URL)
    assert page.status_code == 200
    text = page.content.decode()
    assert HEADLINE_ZH in text and "杭州市气象台" in text
    for username in ("grid01", "property01", "volunteer01", "resident01", "auditor"):
        assert signed_in(username).get(URL).status_code == 403


def test_a_notice_is_sent_from_the_page_and_a_bad_one_shows_why(users, signed_in, emergency):
    client = signed_in("director")
    response = client.post(f"{URL}{emergency.pk}/notice", {"text_zh": "", "audience": "area"})
    assert response.status_code == 200 and not Notice.objects.exists()
    assert "This field is required." in response.content.decode()
    response = client.post(
        f"{URL}{emergency.pk}/notice", {"text_zh": "请撤离", "text_en": "Leave", "audience": "area"}
    )
    assert response.status_code == 302
    notice = Notice.objects.get()
    assert notice.sent_by == users["director"] and notice.recipients.count() > 0
    page = client.get(URL).content.decode()
    assert "1 notice sent" in page
    assert (
        signed_in("grid01")
        .post(f"{URL}{emergency.pk}/notice", {"text_zh": "x", "audience": "area"})
        .status_code
        == 403
    )


def test_door_knocking_from_the_page_needs_the_count_it_showed(signed_in, users, emergency, sim):
    services.send_notice(actor=users["director"], emergency=emergency, text_zh="请撤离", audience="area")
    sim.advance(dt.timedelta(minutes=services.NOT_REACHED_AFTER_MIN + 1))
    pending = len(services.not_reached(emergency))
    client = signed_in("director")
    stale = client.post(f"{URL}{emergency.pk}/knock", {"count": pending + 1})
    assert stale.status_code == 200 and not Task.objects.filter(kind="door_knock").exists()
    assert "The list has changed" in stale.content.decode()
    assert client.post(f"{URL}{emergency.pk}/knock", {"count": pending}).status_code == 302
    assert Task.objects.filter(emergency=emergency, kind="door_knock").exists()


def test_the_resident_chooses_warnings_on_the_subscriptions_page(users, signed_in, sim):
    client = signed_in("resident01", "zh-hans")
    page = client.get(f"{URL}subscriptions")
    assert page.status_code == 200 and "红色预警总会发送" in page.content.decode()
    response = client.post(f"{URL}subscriptions", {"place": "building", "grades": ["orange"]})
    assert response.status_code == 302
    subscription = Subscription.objects.get(resident=users["resident01"].resident)
    assert (subscription.place, subscription.grades) == ("building", ["orange"])
    refused = client.post(f"{URL}subscriptions", {"place": "street", "grades": ["red"]})
    assert refused.status_code == 200
    subscription.refresh_from_db()
    assert subscription.place == "building"
    assert signed_in("director").get(f"{URL}subscriptions").status_code == 403


def test_the_resident_sees_the_warning_as_received_at_home_and_on_its_page(users, signed_in, sim, community):
    import_warning("VIEW-HOME", region=community)
    services.relay_new_warnings()
    client = signed_in("resident01", "zh-hans")
    home = client.get("/").content.decode()
    assert HEADLINE_ZH in home and DESCRIPTION_ZH in home and "来源：杭州市气象台" in home
    received = client.get(f"{URL}received").content.decode()
    assert HEADLINE_ZH in received
    # another person's messages are never shown
    assert Message.objects.filter(kind="relay.warning").exclude(recipient=users["resident01"]).exists()
    assert HEADLINE_ZH not in signed_in("grid01").get(f"{URL}received").content.decode()


def test_the_board_block_masks_names_for_roles_that_may_not_see_people(users, emergency, sim):
    services.send_notice(actor=users["director"], emergency=emergency, text_zh="请撤离", audience="area")
    sim.advance(dt.timedelta(minutes=services.NOT_REACHED_AFTER_MIN + 1))
    missing = services.not_reached(emergency)[0].resident

    def board(username: str) -> str:
        request = RequestFactory().get("/")
        request.user = users[username]
        return render_to_string("emergency/_board_relay.html", {"emergency": emergency, "request": request})

    assert missing.name in board("director")
    masked = board("property01")
    assert missing.name not in masked and missing.name[0] + "*" in masked
    assert "data-not-reached" in masked


def test_the_emergency_board_shows_the_notices_block(users, signed_in, emergency):
    services.send_notice(actor=users["director"], emergency=emergency, text_zh="请撤离", audience="area")
    for username in ("director", "grid01", "property01", "auditor"):
        page = signed_in(username, "zh-hans").get(f"/emergency/{emergency.pk}/").content.decode()
        assert "data-relay-summary" in page and "已发送 1 条通知" in page
