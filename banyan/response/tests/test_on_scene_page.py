""" "On scene" on the responder's page: far from the place the form asks why, keeping the position;
the incident page then says how far and why (issue 12)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from banyan.response import services
from banyan.response.models import Incident
from banyan.response.tests.test_on_scene import north_of


@pytest.fixture
def incident(site, users):
    return services.open_incident(
        actor=users["director"], category="flooding", source="staff", building=site["building"]
    )


@pytest.fixture
def client(site):
    """The assignee's phone, reading English."""
    client = Client(headers={"Accept-Language": "en"})
    client.force_login(site["responders"][0].user)
    return client


def test_a_far_arrival_asks_for_the_reason_then_is_flagged_on_the_page(site, incident, client):
    url = reverse("response:incident-step", args=[incident.pk, "on-scene"])
    latitude, longitude = north_of(site["building"], 1800)
    position = {"version": incident.version, "latitude": f"{latitude:.6f}", "longitude": f"{longitude:.6f}"}

    page = client.get(reverse("response:incident-detail", args=[incident.pk])).content.decode()
    assert 'name="reason"' not in page, "the reason is asked for only when it is needed"

    asked = client.post(url, position)
    assert asked.status_code == 200
    html = asked.content.decode()
    assert "Your phone is 1.8 km from the place, farther than 150 m" in html
    assert 'id="id_on-scene_reason"' in html and 'aria-invalid="true"' in html
    assert f'value="{latitude:.6f}"' in html, "the position is kept for the second try"
    assert Incident.objects.get(pk=incident.pk).status == "assigned"

    taken = client.post(url, {**position, "reason": "The gate is locked; waiting at the east gate."})
    assert taken.status_code == 302
    incident.refresh_from_db()
    assert (incident.status, incident.on_scene_far, incident.latitude) == ("on_scene", True, None)
    html = client.get(reverse("response:incident-detail", args=[incident.pk])).content.decode()
    assert "1.8 km from the place" in html and "farther than allowed" in html
    assert "The gate is locked; waiting at the east gate." in html


def test_without_a_position_the_page_says_so(incident, client):
    url = reverse("response:incident-step", args=[incident.pk, "on-scene"])
    assert client.post(url, {"version": incident.version}).status_code == 302
    html = client.get(reverse("response:incident-detail", args=[incident.pk])).content.decode()
    assert "the phone gave no position" in html
