"""The responder's task cards (issue 12): accept and decline on the card (declining asks why), the
description, the place in words, the walk from the responder's last known position over the walking
graph, and its route for the map (data in json_script, drawn by a static script)."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from banyan.response import services
from banyan.response.models import Incident

TASKS = "/response/tasks/"


@pytest.fixture
def incident(site, users):
    incident = services.open_incident(
        actor=users["director"],
        category="flooding",
        source="staff",
        building=site["building"],
        description="地下车库积水约20厘米\n入口在东侧",
    )
    assert incident.assignee_id == site["responders"][0].user_id
    return incident


@pytest.fixture
def phone(site):
    """The nearest responder's phone, reading English."""
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(site["responders"][0].user)
    return client


def routes_of(html: str) -> dict:
    found = re.search(r'<script id="task-routes" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the routes go to the page as JSON data, not as script"
    return json.loads(found.group(1))


def test_a_card_has_accept_decline_the_description_the_place_and_the_walk(phone, site, incident):
    html = phone.get(TASKS).content.decode()
    card = html[html.index(f'data-incident="{incident.pk}"') :]
    assert reverse("response:incident-step", args=[incident.pk, "accept"]) in card
    assert reverse("response:incident-step", args=[incident.pk, "decline"]) in card
    assert f'name="version" value="{incident.version}"' in card
    assert f'id="id_decline_{incident.pk}_note"' in card and "Why you decline" in card
    assert "地下车库积水约20厘米<br>入口在东侧" in card
    assert site["building"].name in card
    walk = services.walks_for(site["responders"][0], [Incident.objects.get(pk=incident.pk)])[incident.pk]
    assert walk is not None and walk.metres > 0
    assert f"{services.distance_text(walk.metres)} on foot, about" in card
    assert f'data-route-map="{incident.pk}"' in card and 'role="img"' in card
    route = routes_of(html)[str(incident.pk)]
    responder = site["responders"][0]
    assert route["route"][0] == [responder.latitude, responder.longitude]
    assert route["route"][-1] == [site["building"].latitude, site["building"].longitude]
    assert len(route["route"]) >= 3 and route["place"] and route["area"]["type"] == "Polygon"
    assert "/static/response/routes.js" in html and "/static/response/tasks.css" in html


def test_the_walk_is_the_one_dispatch_ranked_by(site, incident):
    from banyan.response.models import DispatchDecision

    decision = DispatchDecision.objects.get(incident=incident)
    ranked = {row["user"]: row["walk_s"] for row in decision.ranking}
    near = site["responders"][0]
    walk = services.walks_for(near, [incident])[incident.pk]
    assert walk.seconds == pytest.approx(ranked[near.user_id], abs=0.1)


def test_accept_from_the_card(phone, incident):
    accepted = phone.post(
        reverse("response:incident-step", args=[incident.pk, "accept"]), {"version": incident.version}
    )
    assert accepted.status_code == 302
    assert Incident.objects.get(pk=incident.pk).status == "accepted"
    card = phone.get(TASKS).content.decode()
    assert reverse("response:incident-step", args=[incident.pk, "accept"]) not in card
    assert reverse("response:incident-step", args=[incident.pk, "decline"]) not in card, "only while assigned"


def test_declining_from_the_card_asks_why(phone, site, incident):
    url = reverse("response:incident-step", args=[incident.pk, "decline"])
    refused = phone.post(url, {"version": incident.version, "note": " "})
    assert refused.status_code == 200
    assert "Say why you decline: the reason is required" in refused.content.decode()
    assert Incident.objects.get(pk=incident.pk).assignee_id == site["responders"][0].user_id
    declined = phone.post(url, {"version": incident.version, "note": "在处理另一起"})
    assert declined.status_code == 302 and declined.url == TASKS
    assert Incident.objects.get(pk=incident.pk).assignee_id == site["responders"][1].user_id
    assert f'data-incident="{incident.pk}"' not in phone.get(TASKS).content.decode()


def test_without_a_known_position_the_card_says_so_and_draws_no_route(phone, site, incident):
    responder = site["responders"][0]
    responder.latitude = responder.longitude = None
    responder.save(update_fields=["latitude", "longitude"])
    html = phone.get(TASKS).content.decode()
    assert "Your position is not known yet" in html
    assert "data-route-map" not in html  # no map box (the script is there for a task that arrives live)
    assert reverse("response:incident-step", args=[incident.pk, "accept"]) in html


def test_the_incident_page_shows_the_assignee_the_walk_and_route(phone, site, incident, client, users):
    html = phone.get(reverse("response:incident-detail", args=[incident.pk])).content.decode()
    assert "data-walk" in html and 'id="incident-route"' in html
    client.force_login(users["director"])
    staff = client.get(reverse("response:incident-detail", args=[incident.pk])).content.decode()
    assert "incident-route" not in staff, "the route is the assignee's"


def test_the_staff_list_shows_cards_without_the_responders_buttons(site, incident, client, users):
    client.force_login(users["director"])
    html = client.get(reverse("response:incident-list")).content.decode()
    assert f'data-incident="{incident.pk}"' in html
    assert reverse("response:incident-step", args=[incident.pk, "accept"]) not in html


def test_cards_at_the_tasks_page_for_each_role(site, incident, users):
    """Who reaches the cards: responders (their own only); managers see an empty list; others 403."""
    expected = {
        "admin": 200,
        "street01": 200,
        "director": 200,
        "grid01": 200,
        "property01": 200,
        "volunteer01": 200,
        "resident01": 403,
        "auditor": 403,
    }
    mine = site["responders"][0].user.username
    for username, status in expected.items():
        client = Client()
        client.force_login(users[username])
        response = client.get(TASKS)
        assert response.status_code == status, username
        if status == 200:
            shown = f'data-incident="{incident.pk}"' in response.content.decode()
            assert shown == (username == mine), username
    assert Client().get(TASKS).status_code == 302  # anonymous: to sign in


def english_words(page: str) -> list[str]:
    main = page.split("<main", 1)[1].split(">", 1)[1].split("</main>", 1)[0]
    main = re.sub(r"<script.*?</script>", " ", main, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", main)
    return [word for word in re.findall(r"[A-Za-z]{3,}", text) if word not in FILE_FORMATS]


FILE_FORMATS = {"JPEG", "PNG", "WebP"}  # the photo field names the formats it takes


def test_the_phone_pages_in_chinese(site, incident):
    client = Client(headers={"Accept-Language": "zh-hans"})
    client.force_login(site["responders"][0].user)
    tasks = client.get(TASKS).content.decode()
    assert "拒绝的原因" in tasks and "约" in tasks and "分钟" in tasks
    detail = client.get(reverse("response:incident-detail", args=[incident.pk])).content.decode()
    for page in (tasks, detail):
        assert english_words(page) == []
