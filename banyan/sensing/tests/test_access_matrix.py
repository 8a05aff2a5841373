"""Role × sensing endpoint × in-scope/out-of-scope (the pattern of core/tests/test_access_matrix.py).

Inside answers 200/201 (or 403 where the role lacks the right); outside answers 404, the same
as missing. Devices are places infrastructure: VIEW_PLACES to see, CHANGE_PLACES to change.
"""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.places.models import Region, Unit
from banyan.sensing import services
from banyan.sensing.models import Device, Reading
from banyan.sensing.tests.conftest import NOW, make_device

ROLES = ["admin", "street01", "director", "grid01", "property01", "volunteer01", "resident01", "auditor"]
CHANGERS = {"admin", "street01", "director"}
SENDERS = CHANGERS | {"property01"}  # may send readings (a community's gateway account is property staff)


def _seeded_device(grid):
    return Device.objects.filter(grid=grid, kind="smoke").order_by("code").first()


def anchors(username, outside):
    g1, g2 = Region.objects.filter(kind="grid").exclude(code__startswith="T-").order_by("code")[:2]
    sibling = make_device(unit=outside["sibling"]["unit"], kind="smoke")
    far = make_device(unit=outside["other_street"]["unit"], kind="smoke")
    inside, out = _seeded_device(g1), sibling
    if username in ("admin", "auditor"):
        out = None
    elif username == "street01":
        inside, out = sibling, far
    elif username in ("grid01", "resident01"):
        out = _seeded_device(g2)
    assert inside is not None
    return inside, out


def _unit_of(device):
    return Unit.objects.filter(building__grid=device.grid).order_by("id").first()


@pytest.mark.parametrize("username", ROLES)
def test_reads_in_scope_200_out_of_scope_404(username, api, outside):
    inside, out = anchors(username, outside)
    client = api(username)
    for path in (f"devices/{inside.pk}", f"devices/{inside.pk}/readings"):
        assert client.get(path).status_code == 200, (username, path)
    listed = client.get(f"devices?code={inside.code}").data
    assert [i["id"] for i in listed["items"]] == [inside.pk], username
    assert client.get("device-kinds").status_code == 200
    assert client.get("devices?limit=500").status_code == 200
    if out is not None:
        for path in (f"devices/{out.pk}", f"devices/{out.pk}/readings"):
            response = client.get(path)
            assert response.status_code == 404, (username, path)
            assert response.data["code"] == "not_found"
        assert client.get(f"devices?code={out.code}").data == {"count": 0, "items": []}, username


@pytest.mark.parametrize("username", ROLES)
def test_device_writes(username, api, outside):
    inside, out = anchors(username, outside)
    client = api(username)
    allowed = username in CHANGERS
    response = client.patch(f"devices/{inside.pk}", {"status": "maintenance"})
    assert response.status_code == (200 if allowed else 403), (username, response.data)
    inside.refresh_from_db()
    assert (inside.status == "maintenance") == allowed
    body = {"code": f"NEW-{username}", "kind": "pir_motion", "unit": _unit_of(inside).pk}
    response = client.post("devices", body)
    assert response.status_code == (201 if allowed else 403), (username, response.data)
    if out is not None:
        expected = 404 if allowed else 403
        assert client.patch(f"devices/{out.pk}", {"status": "maintenance"}).status_code == expected
        out.refresh_from_db()
        assert out.status == "online"
        body = {"code": f"OUT-{username}", "kind": "pir_motion", "unit": _unit_of(out).pk}
        assert client.post("devices", body).status_code == expected, username
        assert not Device.objects.filter(code=body["code"]).exists()
        # Moving an own device out of scope is refused the same way.
        if allowed:
            response = client.patch(f"devices/{inside.pk}", {"unit": _unit_of(out).pk})
            assert response.status_code == 404
            inside.refresh_from_db()
            assert inside.grid_id != out.grid_id


@pytest.mark.parametrize("username", ROLES)
def test_readings_batch_and_dead_letters(username, api, outside, now):
    inside, out = anchors(username, outside)
    client = api(username)
    ts = (NOW - dt.timedelta(minutes=1)).isoformat()
    items = [{"device": inside.code, "metric": "smoke_obscuration", "value": 0.1, "ts": ts}]
    if out is not None:
        items.append({"device": out.code, "metric": "smoke_obscuration", "value": 0.1, "ts": ts})
    response = client.post("readings", {"readings": items})
    if username not in SENDERS:
        assert response.status_code == 403, username
        assert not Reading.objects.filter(device__in=[inside] + ([out] if out else [])).exists()
        assert client.get("dead-letters").status_code == 403
        return
    assert response.status_code == 200, (username, response.data)
    assert response.data["accepted"] == 1
    if out is not None:
        assert response.data["rejected_items"] == [
            {
                "index": 1,
                "reason": "unknown_device",
                "field": "device",
                "message": "No device with this code.",
            }
        ]
        assert not Reading.objects.filter(device=out).exists()
    if username not in CHANGERS:
        assert client.get("dead-letters").status_code == 403
        return
    services.record_dead_letter(source="mqtt", reason="bad_json", device=inside, payload=b"{")
    if out is not None:
        services.record_dead_letter(source="mqtt", reason="bad_json", device=out, payload=b"{")
    listed = client.get("dead-letters?source=mqtt&limit=500").data
    codes = {i["device"] for i in listed["items"]}
    assert inside.code in codes, username
    if out is not None:
        assert out.code not in codes


def test_anonymous_gets_401_everywhere(api, outside):
    inside, _ = anchors("admin", outside)
    client = api(None)
    for path in (
        "devices",
        f"devices/{inside.pk}",
        f"devices/{inside.pk}/readings",
        "device-kinds",
        "dead-letters",
    ):
        assert client.get(path).status_code == 401, path
    assert client.post("readings", {"readings": []}).status_code == 401
    assert client.post("devices", {"code": "X", "kind": "smoke"}).status_code == 401
    assert client.patch(f"devices/{inside.pk}", {"status": "offline"}).status_code == 401
