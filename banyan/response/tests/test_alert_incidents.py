"""One open incident per alert, whoever opens it: the worker (``open_incidents_for_alerts``) and a
person's click on the cockpit (``POST /cockpit/alerts/{id}/dispatch``) take the same lock on the
alert, and the database refuses a second open incident for one alert whatever wrote it."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import IntegrityError, connection, transaction

from banyan.core import clock
from banyan.response import services
from banyan.response.models import Incident, Responder, Shift
from banyan.response.services import open_incidents_for_alerts
from banyan.sensing.models import Device
from banyan.warning.models import Alert, Rule

NOW = dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC)
RACES = 12  # alerts raced for, one after the other; each race starts both sides at one barrier


@pytest.fixture
def now():
    with clock.use(clock.SimulatedClock(NOW)) as simulated:
        yield simulated


def home_device() -> Device:
    return Device.objects.filter(unit__isnull=False).order_by("code").first()


def raise_alert(device: Device, subject: str = "") -> Alert:
    """An open red alert of the device, from a rule that names an incident category."""
    rules = Rule.objects.filter(community=device.community).exclude(incident_category="")
    rule = rules.order_by("pk").first()
    return Alert.objects.create(
        rule=rule,
        subject=subject or device.code,
        community=device.community,
        grid=device.grid,
        device=device,
        grade="red",
        status="open",
        raised_at=NOW,
        updated_at=NOW,
        reading_at=NOW,
    )


def everyone_on_duty() -> None:
    for responder in Responder.objects.all():
        Shift.objects.create(
            responder=responder, starts_at=NOW - dt.timedelta(hours=2), ends_at=NOW + dt.timedelta(hours=6)
        )


def chosen_responder(client, alert: Alert) -> int:
    """The responder a person picks on the alert's panel: the farthest of those offered, so that the
    worker's own dispatch (the nearest) and the click differ."""
    panel = client.get(f"cockpit/alerts/{alert.pk}/panel")
    assert panel.status_code == 200, panel.data
    return panel.data["nearest"][-1]["user"]


def copy_of(incident: Incident, **changes) -> Incident:
    """The incident written again as a new row, straight through the ORM (no service, no lock)."""
    incident.pk = None
    incident._state.adding = True
    for field, value in changes.items():
        setattr(incident, field, value)
    incident.save()
    return incident


# --- where an alert's incident stands --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["unit", "building", "facility", "zone", "grid"])
def test_the_incident_stands_where_the_alert_does_and_the_map_marks_the_same_point(api, now, kind):
    """One reading of an alert's place (``warning.services.alert_place``) for the incident it opens
    and for its marker on the cockpit's map: the unit's building, the building, the facility, the
    centre of the device's zone, else a point inside the grid."""
    from shapely.geometry import Point, shape

    from banyan.places.geo import rectangle
    from banyan.places.models import Facility

    device = home_device()
    grid = device.grid
    inside = shape(grid.boundary).representative_point()
    facility = Facility.objects.filter(region__path__startswith=grid.parent.path).order_by("code").first()
    places = {
        "unit": {},
        "building": {"unit": None},
        "facility": {"unit": None, "building": None, "facility": facility},
        "zone": {"unit": None, "building": None, "zone": rectangle(inside.x, inside.y, 20, 20)},
        "grid": {"unit": None, "building": None},
    }
    building = device.unit.building
    for field, value in places[kind].items():
        setattr(device, field, value)
    device.save()
    alert = raise_alert(device)
    if kind == "grid":
        Alert.objects.filter(pk=alert.pk).update(device=None, subject="a place")
    [incident] = open_incidents_for_alerts()
    marker = next(a for a in api("director").get("cockpit/state").data["alerts"] if a["id"] == alert.pk)
    if kind in ("unit", "building"):
        expected = (building.pk, None, None, None)
        assert incident.unit_id == (device.unit_id if kind == "unit" else None)
        assert (marker["building"], marker["point"]) == (building.pk, [building.latitude, building.longitude])
    elif kind == "facility":
        expected = (None, facility.pk, None, None)
        assert (marker["building"], marker["point"]) == (None, [facility.latitude, facility.longitude])
    else:
        area = shape(device.zone if kind == "zone" else grid.boundary)
        point = area.representative_point()
        expected = (None, None, point.y, point.x)
        assert (marker["building"], marker["point"]) == (None, [point.y, point.x])
        assert area.covers(Point(incident.longitude, incident.latitude))
    assert (incident.building_id, incident.facility_id, incident.latitude, incident.longitude) == expected
    assert incident.grid == (facility.region if kind == "facility" else grid)


# --- the database ---------------------------------------------------------------------------------


def test_the_database_refuses_a_second_open_incident_for_one_alert(api, now):
    everyone_on_duty()
    alert = raise_alert(home_device())
    [incident] = open_incidents_for_alerts()
    first = incident.pk
    for status in ("new", "assigned", "accepted", "on_scene"):
        with pytest.raises(IntegrityError), transaction.atomic():
            copy_of(Incident.objects.get(pk=first), status=status)
    assert list(Incident.objects.filter(alert=alert).values_list("pk", flat=True)) == [first]
    # Ended incidents do not count: the alert may have many, beside its one open incident.
    for status in ("resolved", "closed", "cancelled", "duplicate"):
        copy_of(Incident.objects.get(pk=first), status=status)
    Incident.objects.filter(pk=first).update(status="closed")
    again = copy_of(Incident.objects.get(pk=first), status="new")
    assert Incident.objects.open().filter(alert=alert).get() == again
    # Incidents of no alert are not held by it.
    staff = copy_of(Incident.objects.get(pk=first), alert=None, status="new")
    copy_of(staff, status="new")


def test_staff_opening_a_second_incident_for_an_alert_hear_which_is_open(api, now):
    everyone_on_duty()
    alert = raise_alert(home_device())
    [incident] = open_incidents_for_alerts()
    body = {"category": "fire_smoke", "building": incident.building_id, "alert": alert.pk}
    refused = api("director").post("incidents", body)
    assert refused.status_code == 409, refused.data
    assert refused.data["field"] == "alert" and str(incident.pk) in refused.data["detail"]
    assert Incident.objects.filter(alert=alert).count() == 1
    Incident.objects.filter(pk=incident.pk).update(status="closed")
    assert api("director").post("incidents", body).status_code == 201, "a closed one does not count"


def test_the_migration_marks_each_alerts_extra_open_incidents_duplicates_of_the_one_furthest_on(api, now):
    """Databases written before the constraint may hold two open incidents of one alert: the data fix
    before the constraint keeps the one furthest on open (else the oldest) and marks the others."""
    import importlib
    from types import SimpleNamespace

    from django.apps import apps

    migration = importlib.import_module("banyan.response.migrations.0005_incident_one_open_per_alert")
    everyone_on_duty()
    device = home_device()
    twice = raise_alert(device)
    raise_alert(device, subject=f"{device.code}/once")
    first, alone = sorted(open_incidents_for_alerts(), key=lambda i: i.alert_id != twice.pk)
    first = Incident.objects.get(pk=first.pk)
    with connection.cursor() as cursor:  # as before the constraint (rolled back with the test)
        cursor.execute("DROP INDEX incident_one_open_per_alert")
    later = NOW + dt.timedelta(minutes=5)
    on_scene = copy_of(Incident.objects.get(pk=first.pk), status="on_scene", created_at=later)
    newest = copy_of(Incident.objects.get(pk=first.pk), status="new", created_at=later, version=0)
    closed = copy_of(Incident.objects.get(pk=first.pk), status="closed")
    editor = SimpleNamespace(connection=connection, execute=lambda sql: connection.cursor().execute(sql))
    for _run in range(2):  # a second run changes nothing
        migration.mark_duplicates_of_each_alerts_open_incident(apps, editor)
        statuses = dict(Incident.objects.filter(alert=twice).values_list("pk", "status"))
        assert statuses == {
            first.pk: "duplicate",
            on_scene.pk: "on_scene",
            newest.pk: "duplicate",
            closed.pk: "closed",
        }
    assert Incident.objects.get(pk=alone.pk).status == alone.status, "an alert with one is left alone"
    marked = Incident.objects.get(pk=newest.pk)
    assert marked.version == 1
    [event] = marked.events.filter(kind="duplicate")
    assert (event.from_status, event.to_status, event.details["duplicate_of"]) == (
        "new",
        "duplicate",
        on_scene.pk,
    )
    assert first.events.filter(kind="duplicate").get().from_status == first.status
    # The constraint can be built on what the fix left.
    constraint = next(c for c in Incident._meta.constraints if c.name == "incident_one_open_per_alert")
    with connection.cursor() as cursor:
        cursor.execute(str(constraint.create_sql(Incident, connection.SchemaEditorClass(connection))))
    with pytest.raises(IntegrityError), transaction.atomic():
        copy_of(Incident.objects.get(pk=on_scene.pk), status="new")


# --- one transaction slipping in between another's check and its insert ----------------------------


@pytest.mark.parametrize("second", ["worker", "click"])
def test_one_side_slipping_in_between_the_others_check_and_insert_leaves_one_incident(
    api, now, monkeypatch, second
):
    """What the lock prevents, forced: ``second`` runs whole between the other side's check and its
    insert, as it could where a writer skipped the lock. The database refuses the later insert and
    that side takes the incident that exists (the worker opens none; the click assigns it), no 500."""
    everyone_on_duty()
    alert = raise_alert(home_device())
    client = api("director")
    chosen = chosen_responder(client, alert)

    def click():
        return client.post(f"cockpit/alerts/{alert.pk}/dispatch", {"responder": chosen})

    real_open_incident = services.open_incident
    slipped_in: dict = {}

    def open_after_the_other_side(**kwargs):
        opener = "worker" if kwargs.get("actor") is None else "click"
        if opener != second and not slipped_in:
            slipped_in[second] = click() if second == "click" else open_incidents_for_alerts()
        return real_open_incident(**kwargs)

    monkeypatch.setattr(services, "open_incident", open_after_the_other_side)
    if second == "click":
        opened, clicked = open_incidents_for_alerts(), slipped_in.get("click")
    else:
        clicked, opened = click(), slipped_in.get("worker")
    assert list(slipped_in) == [second], "the other side ran between the check and the insert"
    assert clicked.status_code == 200, clicked.data
    incident = Incident.objects.get(alert=alert)
    assert clicked.data["id"] == incident.pk
    assert opened == ([] if second == "click" else [incident]), "the worker counts what it opened"
    assert (incident.status, incident.assignee_id) == ("assigned", chosen)


# --- a real race ------------------------------------------------------------------------------------


def _ensure_seeded() -> None:
    """A transactional test before this one may have flushed the session's seed."""
    from banyan.tests_browser.support import ensure_seeded

    ensure_seeded()


def race(**sides) -> dict[str, object]:
    """Run each side in its own thread (its own database connection), all released at once by a
    barrier; what each returned, or the exception it raised."""
    barrier = threading.Barrier(len(sides), timeout=60)
    results: dict[str, object] = {}

    def run(name, call):
        try:
            barrier.wait()
            results[name] = call()
        except BaseException as exc:  # reported by the test, with the race it happened in
            results[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in sides.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_the_worker_and_a_click_racing_for_one_alert_open_one_incident(now):
    """For alert after alert, the worker opening incidents for new alerts and a person dispatching
    from the cockpit start together, each on its own database connection: one incident each time,
    assigned to the responder the person chose."""
    _ensure_seeded()
    from banyan.conftest import ApiClient
    from banyan.people.models import User

    everyone_on_duty()
    client = ApiClient(User.objects.get(username="director"))
    device = home_device()
    outcomes = []
    for number in range(RACES):
        alert = raise_alert(device, subject=f"{device.code}/race-{number}")
        chosen = chosen_responder(client, alert)
        results = race(
            worker=open_incidents_for_alerts,
            click=lambda alert=alert, chosen=chosen: client.post(
                f"cockpit/alerts/{alert.pk}/dispatch", {"responder": chosen}
            ),
        )
        worker, clicked = results["worker"], results["click"]
        assert not isinstance(worker, BaseException), (number, worker)
        assert not isinstance(clicked, BaseException), (number, clicked)
        incidents = list(Incident.objects.filter(alert=alert))
        outcomes.append(
            (
                len(incidents),
                clicked.status_code,
                [(i.pk == clicked.data.get("id"), i.status, i.assignee_id == chosen) for i in incidents],
            )
        )
    assert outcomes == [(1, 200, [(True, "assigned", True)])] * RACES, outcomes
