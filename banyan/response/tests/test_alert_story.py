"""An alert and its incident are one story (issue 12): each page shows the other, and resolving one asks
what becomes of the other — resolved too (the default), or kept open with a reason. Resolving an alert
no longer leaves its incident running and missing its deadlines."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from banyan.response import services
from banyan.response.models import Incident
from banyan.response.tests.conftest import NOW
from banyan.sensing.tests.conftest import make_device
from banyan.warning import services as warning_services
from banyan.warning.models import Alert
from banyan.warning.tests.conftest import event, make_rule

ROLES = ["admin", "street01", "director", "grid01", "property01", "volunteer01", "resident01", "auditor"]
ALERT_VIEWERS = {"admin", "street01", "director", "grid01", "property01", "auditor"}


@pytest.fixture
def alert(site):
    """An open orange water alert in the site's grid, from a rule that opens flooding incidents."""
    device = make_device(building=site["building"], kind="water_level")
    rule = make_rule(community=site["grid"].parent, name="地下车库积水", name_en="Garage flooding")
    rule.incident_category = "flooding"
    rule.save(update_fields=["incident_category"])
    [raised] = warning_services.apply_events([event("Raised", rule, device.code)])
    return raised


@pytest.fixture
def incident(site, alert):
    incident = services.open_incident(
        actor=None, category="flooding", source="alert", alert=alert, building=site["building"]
    )
    assert (incident.status, incident.assignee_id) == ("assigned", site["responders"][0].user_id)
    return incident


def fresh(thing):
    return type(thing).objects.get(pk=thing.pk)


def page(username: str, users, url: str):
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(users[username])
    return client.get(url)


# --- resolving the alert --------------------------------------------------------------------------


def test_resolving_the_alert_resolves_its_incident_too_by_default(api, alert, incident, now):
    resolved = api("director").post(f"alerts/{alert.pk}/resolve", {"note": "水泵已修复"})
    assert resolved.status_code == 200, resolved.data
    ended = fresh(incident)
    assert ended.status == "cancelled"  # nobody had accepted it: nothing is left to do
    step = ended.events.get(kind="cancel")
    assert (step.note, step.details["with_alert"]) == ("水泵已修复", alert.pk)
    now.advance(dt.timedelta(hours=1))
    assert services.escalate_due() == [], "no deadline of a settled incident is missed"
    assert fresh(incident).escalation_level == 0


def test_an_accepted_incident_is_resolved_with_its_alert(api, site, alert, incident):
    services.act(actor=site["responders"][0].user, incident=incident, move="accept")
    resolved = api("grid01").post(f"alerts/{alert.pk}/resolve", {"note": "已排水", "incident": "resolve"})
    assert resolved.status_code == 200, resolved.data
    assert fresh(incident).status == "resolved"
    detail = api("director").get(f"incidents/{incident.pk}").data
    assert detail["timeline"][-1]["kind"] == "resolve" and detail["timeline"][-1]["note"] == "已排水"


def test_keeping_the_incident_open_needs_a_reason(api, alert, incident):
    url = f"alerts/{alert.pk}/resolve"
    missing = api("director").post(url, {"note": "传感器复位", "incident": "keep"})
    assert missing.status_code == 400 and missing.data["field"] == "incident_reason"
    bad = api("director").post(url, {"note": "传感器复位", "incident": "later"})
    assert bad.status_code == 400 and bad.data["field"] == "incident"
    assert fresh(alert).status == "open" and fresh(incident).status == "assigned"  # nothing changed
    kept = api("director").post(
        url, {"note": "传感器复位", "incident": "keep", "incident_reason": "车库仍有积水，物业在抽水"}
    )
    assert kept.status_code == 200, kept.data
    assert (fresh(alert).status, fresh(incident).status) == ("resolved", "assigned")
    step = fresh(incident).events.get(kind="alert_resolved")
    assert step.note == "车库仍有积水，物业在抽水" and step.details == {"alert": alert.pk, "kept_open": True}


def test_an_alert_without_an_incident_resolves_as_before(api, alert):
    assert api("director").post(f"alerts/{alert.pk}/resolve", {"note": "误报"}).status_code == 200
    assert fresh(alert).status == "resolved"


# --- resolving the incident -----------------------------------------------------------------------


def test_resolving_the_incident_resolves_its_alert_too_by_default(api, site, alert, incident):
    worker = api(site["responders"][0].user.username)
    url = f"incidents/{incident.pk}/actions"
    worker.post(url, {"move": "accept"})
    done = worker.post(url, {"move": "resolve", "note": "已抽水"})
    assert done.status_code == 200, done.data
    assert done.data["timeline"][-1]["details"]["alert"] == "resolved"
    ended = fresh(alert)
    assert (ended.status, ended.resolution_note, ended.resolved_by_id) == (
        "resolved",
        "已抽水",
        site["responders"][0].user_id,
    )


def test_keeping_the_alert_open_needs_a_reason(api, site, alert, incident):
    worker = api(site["responders"][0].user.username)
    url = f"incidents/{incident.pk}/actions"
    worker.post(url, {"move": "accept"})
    missing = worker.post(url, {"move": "resolve", "note": "已抽水", "alert": "keep"})
    assert missing.status_code == 400 and missing.data["field"] == "alert_reason"
    assert fresh(incident).status == "accepted"
    kept = worker.post(
        url, {"move": "resolve", "note": "已抽水", "alert": "keep", "alert_reason": "水位计仍报高"}
    )
    assert kept.status_code == 200, kept.data
    assert (fresh(incident).status, fresh(alert).status) == ("resolved", "open")
    assert kept.data["timeline"][-1]["details"]["alert_reason"] == "水位计仍报高"


def test_a_responder_who_may_not_handle_alerts_leaves_the_alert_to_those_who_may(
    site, users, alert, incident
):
    volunteer = users["volunteer01"]
    from banyan.response.tests.conftest import responder_at

    responder_at(volunteer, site["committee"], site["responders"][0], skills=["flooding"])
    services.act(actor=users["director"], incident=incident, move="assign", assignee=volunteer)
    services.act(actor=volunteer, incident=incident, move="accept")
    services.act(actor=volunteer, incident=fresh(incident), move="resolve", note="已处理")
    assert (fresh(incident).status, fresh(alert).status) == ("resolved", "open")
    assert fresh(incident).events.get(kind="resolve").details["alert"] == "left"


# --- the pages ------------------------------------------------------------------------------------


def test_the_alert_page_shows_its_incident(users, site, alert, incident):
    html = page("director", users, reverse("warning:alert-detail", args=[alert.pk])).content.decode()
    assert reverse("response:incident-detail", args=[incident.pk]) in html
    assert f"Incident {incident.pk}" in html and "Assigned" in html
    assert site["responders"][0].user.display_name in html


def test_the_incident_page_shows_its_alert(users, alert, incident):
    html = page("director", users, reverse("response:incident-detail", args=[incident.pk])).content.decode()
    assert reverse("warning:alert-detail", args=[alert.pk]) in html
    assert "Garage flooding" in html and 'class="grade grade--orange"' in html


@pytest.mark.parametrize("username", ROLES)
def test_who_sees_the_alerts_incident_and_the_incidents_alert(username, users, site, alert, incident):
    alert_page = page(username, users, reverse("warning:alert-detail", args=[alert.pk]))
    assert alert_page.status_code == (200 if username in ALERT_VIEWERS else 403), username
    if alert_page.status_code == 200:
        assert f"Incident {incident.pk}" in alert_page.content.decode(), username
    incident_page = page(username, users, reverse("response:incident-detail", args=[incident.pk]))
    if incident_page.status_code == 200:
        html = incident_page.content.decode()
        linked = reverse("warning:alert-detail", args=[alert.pk]) in html
        assert linked == (username in ALERT_VIEWERS), username
    else:
        assert username in {"volunteer01", "resident01"}, username


def test_another_grid_sees_neither(users, alert, incident):
    assert page("grid02", users, reverse("warning:alert-detail", args=[alert.pk])).status_code == 404
    assert page("grid02", users, reverse("response:incident-detail", args=[incident.pk])).status_code == 404


def test_the_alert_form_asks_what_becomes_of_the_incident(users, alert, incident):
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(users["director"])
    url = reverse("warning:alert-resolve", args=[alert.pk])
    html = client.get(reverse("warning:alert-detail", args=[alert.pk])).content.decode()
    assert 'name="incident" value="resolve"' in html and 'name="incident" value="keep"' in html
    unsaid = client.post(url, {"note": "水泵已修复"})
    assert (
        unsaid.status_code == 200
        and "Say what becomes of the alert&#x27;s incident" in unsaid.content.decode()
    )
    no_reason = client.post(url, {"note": "水泵已修复", "incident": "keep"})
    assert "Say why it stays open: the reason is required." in no_reason.content.decode()
    assert fresh(alert).status == "open"
    kept = client.post(
        url, {"note": "水泵已修复", "incident": "keep", "incident_reason": "仍在排水"}, follow=True
    )
    assert "Alert resolved; its incident stays open." in kept.content.decode()
    assert (fresh(alert).status, fresh(incident).status) == ("resolved", "assigned")


def test_the_incident_form_asks_what_becomes_of_the_alert(users, site, alert, incident):
    worker = site["responders"][0].user
    services.act(actor=worker, incident=incident, move="accept")
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(worker)
    html = client.get(reverse("response:incident-detail", args=[incident.pk])).content.decode()
    assert 'name="alert" value="resolve"' in html
    url = reverse("response:incident-step", args=[incident.pk, "resolve"])
    version = fresh(incident).version
    unsaid = client.post(url, {"version": version, "note": "已抽水"})
    assert "Say what becomes of the incident&#x27;s alert" in unsaid.content.decode()
    done = client.post(url, {"version": version, "note": "已抽水", "alert": "resolve"})
    assert done.status_code == 302
    assert (fresh(incident).status, fresh(alert).status) == ("resolved", "resolved")
    timeline = client.get(reverse("response:incident-detail", args=[incident.pk])).content.decode()
    assert "its alert resolved too" in timeline


def test_no_choice_once_the_alert_is_over(users, site, alert, incident):
    Alert.objects.filter(pk=alert.pk).update(status="cleared", cleared_at=NOW)
    worker = site["responders"][0].user
    services.act(actor=worker, incident=incident, move="accept")
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(worker)
    html = client.get(reverse("response:incident-detail", args=[incident.pk])).content.decode()
    assert 'name="alert"' not in html and "Cleared" in html
    assert Incident.objects.filter(pk=incident.pk, status="accepted").exists()


def test_both_pages_in_chinese(api, users, alert, incident):
    from banyan.response.tests.test_task_cards import english_words

    api("director").post(
        f"alerts/{alert.pk}/resolve",
        {"note": "传感器复位", "incident": "keep", "incident_reason": "仍在排水"},
    )
    client = Client(headers={"Accept-Language": "zh-hans"})
    client.force_login(users["director"])
    incident_page = client.get(reverse("response:incident-detail", args=[incident.pk])).content.decode()
    assert "对应预警已解决；工单继续处理" in incident_page and "仍在排水" in incident_page
    alert_page = client.get(reverse("warning:alert-detail", args=[alert.pk])).content.decode()
    assert f"工单 {incident.pk}" in alert_page
    section = alert_page.split('id="incident-title"', 1)[1].split("</section>", 1)[0]
    assert english_words("<main>" + section + "</main>") == []
    assert english_words(incident_page) == []
