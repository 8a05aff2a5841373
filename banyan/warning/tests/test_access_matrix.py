"""Role × warning endpoint × in-scope/out-of-scope (the pattern of core/tests/test_access_matrix.py).

Inside answers 200/201 (or 403 where the role lacks the right); outside answers 404, the same as
missing. VIEW_ALERTS: every staff role but volunteers (and residents); HANDLE_ALERTS (acknowledge,
resolve): admin, street, director, grid, property; CHANGE_RULES: admin, street, director.
"""

from __future__ import annotations

import pytest

from banyan.audit.models import AuditEntry
from banyan.places.models import Region
from banyan.sensing.tests.conftest import make_device
from banyan.warning import services
from banyan.warning.models import Alert, Rule
from banyan.warning.tests.conftest import event, make_rule, seeded_device

ROLES = ["admin", "street01", "director", "grid01", "property01", "volunteer01", "resident01", "auditor"]
VIEWERS = {"admin", "street01", "director", "grid01", "property01", "auditor"}
HANDLERS = {"admin", "street01", "director", "grid01", "property01"}
RULE_CHANGERS = {"admin", "street01", "director"}


def _alert_for(device):
    rule = make_rule(community=device.community, name=f"rule {device.code}")
    [alert] = services.apply_events([event("Raised", rule, device.code)])
    return alert


def anchors(username, users, outside):
    """(alert inside the role's scope, alert outside it or None)."""
    g1 = users["grid01"].region
    g2 = Region.objects.filter(kind="grid", parent=g1.parent).exclude(pk=g1.pk).order_by("code").first()
    sibling = _alert_for(make_device(unit=outside["sibling"]["unit"], kind="water_level"))
    far = _alert_for(make_device(unit=outside["other_street"]["unit"], kind="water_level"))
    inside, out = _alert_for(seeded_device(grid=g1)), sibling
    if username in ("admin", "auditor"):
        out = None
    elif username == "street01":
        inside, out = sibling, far
    elif username in ("grid01", "resident01"):
        out = _alert_for(seeded_device(grid=g2))
    return inside, out


@pytest.mark.parametrize("username", ROLES)
def test_reads(username, users, api, outside, now):
    inside, out = anchors(username, users, outside)
    client = api(username)
    allowed = username in VIEWERS
    for path in (f"alerts/{inside.pk}", f"alerts/{inside.pk}/cap", f"rules/{inside.rule_id}"):
        assert client.get(path).status_code == (200 if allowed else 403), (username, path)
    for path in ("alerts", "rules"):
        response = client.get(path + "?limit=500")
        assert response.status_code == (200 if allowed else 403), (username, path)
    if allowed:
        assert inside.pk in [item["id"] for item in client.get("alerts?limit=500").data["items"]]
        assert inside.rule_id in [item["id"] for item in client.get("rules?limit=500").data["items"]]
    if out is not None:
        # A grid's staff see the rules of their whole community, but only their grid's alerts.
        other_community = out.community_id != inside.community_id
        paths = [f"alerts/{out.pk}", f"alerts/{out.pk}/cap"] + [f"rules/{out.rule_id}"] * other_community
        for path in paths:
            response = client.get(path)
            assert response.status_code == (404 if allowed else 403), (username, path)
        if allowed:
            assert out.pk not in [item["id"] for item in client.get("alerts?limit=500").data["items"]]
            rules = [item["id"] for item in client.get("rules?limit=500").data["items"]]
            assert (out.rule_id in rules) == (not other_community)
    assert client.get("official-warnings").status_code == 200


@pytest.mark.parametrize("username", ROLES)
def test_acknowledge_and_resolve(username, users, api, outside, now):
    inside, out = anchors(username, users, outside)
    client = api(username)
    allowed = username in HANDLERS
    response = client.post(f"alerts/{inside.pk}/acknowledge")
    assert response.status_code == (200 if allowed else 403), (username, response.data)
    response = client.post(f"alerts/{inside.pk}/resolve", {"note": "checked"})
    assert response.status_code == (200 if allowed else 403), (username, response.data)
    inside.refresh_from_db()
    assert inside.status == ("resolved" if allowed else "open")
    audited = AuditEntry.objects.filter(subject_type="alert", subject_id=str(inside.pk), actor=username)
    assert sorted(audited.values_list("action", flat=True)) == (
        ["alert.acknowledge", "alert.resolve"] if allowed else []
    )
    if out is not None:
        expected = 404 if allowed else 403
        assert client.post(f"alerts/{out.pk}/acknowledge").status_code == expected, username
        assert client.post(f"alerts/{out.pk}/resolve", {"note": "x"}).status_code == expected, username
        out.refresh_from_db()
        assert out.status == "open"


@pytest.mark.parametrize("username", ROLES)
def test_rule_writes(username, users, api, outside, now):
    inside, out = anchors(username, users, outside)
    client = api(username)
    allowed = username in RULE_CHANGERS
    community = inside.community.code
    body = {
        "name": f"new {username}",
        "kind": "offline",
        "interval_s": 60,
        "grade": "blue",
        "community": community,
    }
    response = client.post("rules", body)
    assert response.status_code == (201 if allowed else 403), (username, response.data)
    assert Rule.objects.filter(name=body["name"]).exists() == allowed
    response = client.patch(f"rules/{inside.rule_id}", {"raise_at": 55})
    assert response.status_code == (200 if allowed else 403), (username, response.data)
    assert Rule.objects.get(pk=inside.rule_id).params["raise_at"] == (55 if allowed else 50)
    if out is not None:
        expected = 404 if allowed else 403
        assert client.patch(f"rules/{out.rule_id}", {"raise_at": 55}).status_code == expected, username
        assert Rule.objects.get(pk=out.rule_id).params["raise_at"] == 50
        body = {**body, "name": f"out {username}", "community": out.community.code}
        assert client.post("rules", body).status_code == expected, username
        assert not Rule.objects.filter(name=body["name"]).exists()


def test_anonymous_gets_401_everywhere(users, api, outside, now):
    inside, _ = anchors("admin", users, outside)
    client = api(None)
    for path in (
        "alerts",
        f"alerts/{inside.pk}",
        f"alerts/{inside.pk}/cap",
        "rules",
        f"rules/{inside.rule_id}",
    ):
        assert client.get(path).status_code == 401, path
    assert client.post(f"alerts/{inside.pk}/acknowledge").status_code == 401
    assert client.post(f"alerts/{inside.pk}/resolve", {"note": "x"}).status_code == 401
    assert client.post("rules", {"name": "x", "kind": "offline"}).status_code == 401
    assert client.patch(f"rules/{inside.rule_id}", {"name": "y"}).status_code == 401
    assert Alert.objects.get(pk=inside.pk).status == "open"
