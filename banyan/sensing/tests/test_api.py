"""The sensing API contract: device list shape, HTTP batch, readings, dead letters, validation."""

from __future__ import annotations

import datetime as dt

from banyan.sensing.models import DeadLetter, Device, Reading
from banyan.sensing.tests.conftest import NOW, make_device

DEVICE_KEYS = {
    "id", "code", "kind", "community", "status", "grid", "building", "unit", "facility", "zone", "resident",
    "battery_pct", "last_seen_at", "last_seq", "expected_interval_s", "installed_at", "metrics",
}  # fmt: skip


def test_device_list_contract(api):
    response = api("director").get("devices?kind=water_level&limit=500")
    assert response.status_code == 200
    assert set(response.data) == {"count", "items"}
    seeded = Device.objects.filter(kind="water_level")
    assert response.data["count"] == seeded.count() > 0
    item = response.data["items"][0]
    assert set(item) == DEVICE_KEYS
    device = seeded.select_related("community", "grid").get(pk=item["id"])
    assert item["code"] == device.code
    assert item["community"] == device.community.code and device.community.kind == "community"
    assert item["grid"] == device.grid.code and item["kind"] == "water_level"
    assert item["metrics"][0] == {"name": "water_level_cm", "unit": "cm"}
    assert {i["kind"] for i in response.data["items"]} == {"water_level"}


def test_device_list_filters(api):
    client = api("admin")
    online = client.get("devices?status=maintenance&limit=500").data
    assert all(i["status"] == "maintenance" for i in online["items"])
    device = Device.objects.filter(building__isnull=False).order_by("id").first()
    by_building = client.get(f"devices?building={device.building_id}&limit=500").data
    assert device.pk in {i["id"] for i in by_building["items"]}
    assert {i["building"] for i in by_building["items"]} == {device.building_id}
    by_grid = client.get(f"devices?grid={device.grid.code}&limit=500").data
    assert {i["grid"] for i in by_grid["items"]} == {device.grid.code}
    assert client.get("devices?kind=Bad Kind").status_code == 422
    assert client.get("devices?status=broken").data["field"] == "status"


def test_device_kinds_table(api):
    response = api("resident01").get("device-kinds")
    assert response.status_code == 200
    kinds = {k["code"]: k for k in response.data["items"]}
    assert response.data["count"] == len(kinds) >= 12
    band = kinds["wearable_band"]
    assert band["health_data"] is True and "fall" in band["event_metrics"]
    heart = next(m for m in band["metrics"] if m["name"] == "heart_rate")
    assert (heart["unit"], heart["minimum"], heart["maximum"]) == ("bpm", 20, 250)


def test_resident_link_only_for_care_roles(api, users):
    meter = Device.objects.filter(kind="water_meter", resident__isnull=False).order_by("id").first()
    for username in ("admin", "director"):
        assert api(username).get(f"devices/{meter.pk}").data["resident"] == meter.resident_id, username
    for username in ("property01", "auditor"):
        # A home's devices are not theirs to see at all (issue 10, finding 6): a 404, like a missing one.
        assert api(username).get(f"devices/{meter.pk}").status_code == 404, username
        assert api(username).get("devices?kind=water_meter&limit=500").data["count"] == 0, username


def test_post_readings_mixed_good_and_bad(api, now):
    level = Device.objects.filter(kind="water_level").order_by("id").first()
    band = Device.objects.filter(kind="wearable_band").order_by("id").first()
    ts = (NOW - dt.timedelta(minutes=1)).isoformat()
    body = {
        "readings": [
            {"device": level.code, "metric": "water_level_cm", "value": 12.5, "ts": ts, "seq": 1},
            {"device": level.code, "metric": "water_level_cm", "value": 13, "ts": NOW.timestamp(), "seq": 2},
            {"device": "NO-SUCH", "metric": "water_level_cm", "value": 1, "ts": ts},
            {"device": level.code, "metric": "heart_rate", "value": 70, "ts": ts},
            {"device": level.code, "metric": "water_level_cm", "value": 99999, "ts": ts},
            {"device": level.code, "metric": "water_level_cm", "value": 1, "ts": "2027-01-01T00:00:00Z"},
            {"device": band.code, "metric": "heart_rate", "value": 400, "ts": ts},
            "not an object",
            {"metric": "water_level_cm", "value": 1, "ts": ts},
            {"device": level.code, "metric": "water_level_cm", "value": 1, "ts": ts, "unit": "m"},
        ]
    }
    response = api("director").post("readings", body)
    assert response.status_code == 200, response.data
    assert (response.data["accepted"], response.data["duplicates"], response.data["rejected"]) == (2, 0, 8)
    reasons = {i["index"]: i["reason"] for i in response.data["rejected_items"]}
    assert reasons == {
        2: "unknown_device",
        3: "unknown_metric",
        4: "out_of_range",
        5: "future_timestamp",
        6: "out_of_range",
        7: "not_a_reading",
        8: "missing_field",
        9: "wrong_unit",
    }
    assert Reading.objects.filter(device=level).count() == 2
    letters = DeadLetter.objects.filter(source="http").order_by("item_index")
    assert list(letters.values_list("item_index", flat=True)) == list(range(2, 10))
    band_letter = letters.get(item_index=6)
    assert band_letter.device_id == band.pk and '"value": null' in band_letter.payload
    assert "400" not in band_letter.payload + band_letter.detail
    # The same batch again: nothing new is stored.
    again = api("director").post("readings", body).data
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    listed = api("director").get("dead-letters?source=http&reason=unknown_device").data
    assert listed["count"] >= 2 and {i["device"] for i in listed["items"]} == {"NO-SUCH"}


def test_post_readings_limits_and_rights(api, now):
    assert api("grid01").post("readings", {"readings": []}).status_code == 403
    assert api("director").post("readings", {"readings": "x"}).status_code == 422
    too_many = {"readings": [{}] * 10_001}
    response = api("director").post("readings", too_many)
    assert response.status_code == 422 and response.data["field"] == "readings"


def test_device_readings_history(api, now):
    level = Device.objects.filter(kind="water_level").order_by("id").first()
    items = [
        {
            "device": level.code,
            "metric": "water_level_cm",
            "value": v,
            "ts": (NOW - dt.timedelta(minutes=v)).isoformat(),
        }
        for v in range(1, 6)
    ] + [{"device": level.code, "metric": "battery_pct", "value": 80, "ts": NOW.isoformat()}]
    assert api("director").post("readings", {"readings": items}).data["accepted"] == 6
    client = api("grid01" if level.grid.code == "G01" else "director")
    response = client.get(f"devices/{level.pk}/readings?metric=water_level_cm&limit=3")
    assert response.status_code == 200
    assert response.data["count"] == 5
    assert [i["value"] for i in response.data["items"]] == [1, 2, 3]
    since = (NOW - dt.timedelta(minutes=2, seconds=30)).isoformat().replace("+00:00", "Z")
    response = client.get(f"devices/{level.pk}/readings?since={since}")
    assert {(i["metric"], i["value"]) for i in response.data["items"]} == {
        ("water_level_cm", 1),
        ("water_level_cm", 2),
        ("battery_pct", 80),
    }
    assert client.get(f"devices/{level.pk}/readings?since=nonsense").data["field"] == "since"
    level.refresh_from_db()
    assert level.battery_pct == 80


def test_wearable_readings_only_for_care_roles(api, now):
    band = Device.objects.filter(kind="wearable_band", resident__isnull=False).order_by("id").first()
    assert api("director").get(f"devices/{band.pk}/readings").status_code == 200
    for username in ("property01", "auditor"):  # a home's device: not theirs to see at all
        assert api(username).get(f"devices/{band.pk}/readings").status_code == 404, username
    unlinked = make_device(kind="wearable_band", grid=band.grid)  # no home, no wearer linked
    for username in ("property01", "auditor"):  # seen, but its readings are health data
        assert api(username).get(f"devices/{unlinked.pk}/readings").status_code == 403, username


def test_create_and_patch_device(api, users, now):
    from banyan.places.models import Facility

    plaza = Facility.objects.filter(kind="plaza").order_by("id").first()
    body = {"code": "CC-T-01", "kind": "crowd_counter", "facility": plaza.pk, "zone": plaza.area}
    response = api("director").post("devices", body)
    assert response.status_code == 201, response.data
    assert response.data["grid"] == plaza.region.code and response.data["facility"] == plaza.pk
    assert response.data["expected_interval_s"] == 60
    device_id = response.data["id"]
    response = api("director").patch(f"devices/{device_id}", {"status": "offline", "battery_pct": 50})
    assert response.status_code == 200 and response.data["status"] == "offline"
    bad = [
        ({"kind": "toaster"}, "kind"),
        ({"status": "exploded"}, "status"),
        ({"battery_pct": 101}, "battery_pct"),
        ({"expected_interval_s": 0}, "expected_interval_s"),
        ({"zone": {"type": "Point", "coordinates": [0, 0]}}, "zone"),
        ({"metadata": {"x": "y" * 5000}}, "metadata"),
    ]
    for change, field in bad:
        response = api("director").patch(f"devices/{device_id}", change)
        assert response.status_code in (400, 422), (change, response.data)
        assert response.data["field"] == field, (change, response.data)
    response = api("director").post("devices", {**body, "code": "bad/code"})
    assert response.status_code == 400 and response.data["field"] == "code"
    response = api("director").post("devices", body)
    assert response.status_code == 400 and response.data["code"] == "duplicate"


def test_link_a_resident(api, users, now):
    from banyan.people.models import Resident

    resident = Resident.objects.filter(household__grid__code="G01").order_by("id").first()
    unit_id = resident.household.unit_id
    body = {"code": "SOS-T-01", "kind": "sos_button", "unit": unit_id, "resident": resident.pk}
    response = api("director").post("devices", body)
    assert response.status_code == 201 and response.data["resident"] == resident.pk
    assert api("grid01").get(f"devices/{response.data['id']}").data["resident"] == resident.pk
    assert api("auditor").get(f"devices/{response.data['id']}").status_code == 404  # a home's device
    response = api("director").patch(f"devices/{response.data['id']}", {"resident": None})
    assert response.status_code == 200 and response.data["resident"] is None


def test_device_list_queries_do_not_grow_with_the_page(api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api("director")
    counts = []
    for limit in (5, 200):
        with CaptureQueriesContext(connection) as queries:
            assert len(client.get(f"devices?kind=water_meter&limit={limit}").data["items"]) == min(
                limit, Device.objects.filter(kind="water_meter").count()
            )
        counts.append(len(queries))
    assert counts[0] == counts[1]
