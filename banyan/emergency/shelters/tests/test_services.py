"""Shelters and supplies through their services: install, open and close, check in and out by name and by
ID number, capacity, occupancy history, stock moves that never go negative, low-stock telling once per
crossing, the board's part and the drill's summary."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from banyan.audit.models import AuditEntry
from banyan.core import clock
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.emergency.choices import TimelineKind
from banyan.emergency.models import TimelineEntry
from banyan.emergency.shelters import services
from banyan.emergency.shelters.choices import MoveKind
from banyan.emergency.shelters.models import Move, Shelter, Stay, Stock
from banyan.notify.models import Message
from banyan.people.models import Household, Resident, User
from banyan.places.choices import FacilityKind
from banyan.tests_browser.support import ensure_seeded


def residents_of(user, count: int) -> list[Resident]:
    return list(Resident.objects.restrict(user).order_by("id")[:count])


def test_install_makes_shelters_and_stock_once(community):
    """(The seed may have installed them already: the second run makes nothing either way.)"""
    services.install_shelters(community)
    assert services.install_shelters(community) == {"shelters": 0, "stocks": 0}
    kinds = set(Shelter.objects.filter(community=community).values_list("facility__kind", flat=True))
    assert {FacilityKind.SHELTER, FacilityKind.COMMUNITY_CENTRE, FacilityKind.SPORTS_FIELD} <= kinds
    shelter = Shelter.objects.get(community=community, facility__kind=FacilityKind.SHELTER)
    assert shelter.capacity == (shelter.facility.capacity or 800) and shelter.step_free and shelter.pets
    stocks = Stock.objects.filter(community=community)
    assert stocks.count() == 14
    assert Move.objects.filter(stock__community=community, kind=MoveKind.RECEIVED).count() == 14
    assert not stocks.low().exists()


def test_open_for_an_emergency_goes_on_its_timeline(centre, emergency, users):
    with pytest.raises(PermissionDenied):
        services.open_shelter(actor=users["grid01"], shelter=centre, emergency=emergency)
    services.open_shelter(actor=users["director"], shelter=centre, emergency=emergency)
    centre.refresh_from_db()
    assert centre.is_open and centre.opened_for == emergency
    entry = TimelineEntry.objects.get(emergency=emergency, kind=TimelineKind.SHELTER_OPENED)
    assert entry.details["shelter"] == centre.pk and entry.actor == users["director"]
    assert AuditEntry.objects.filter(action="shelter.open", subject_id=str(centre.pk)).exists()
    with pytest.raises(InvalidInput, match="already"):
        services.open_shelter(actor=users["director"], shelter=centre, emergency=emergency)


def test_check_in_by_name_and_by_id_number_then_out(open_centre, users, emergency):
    grid01 = users["grid01"]
    resident = residents_of(grid01, 1)[0]
    found = services.find_residents(grid01, resident.name[:2])
    assert resident in found
    assert all(r.household.grid.code == "G01" for r in found), "only residents in the caller's scope"
    stay = services.check_in(actor=grid01, shelter=open_centre, resident=found[found.index(resident)])
    assert stay.emergency == emergency and stay.household_id == resident.household_id
    open_centre.refresh_from_db()
    assert open_centre.occupied == 1
    with pytest.raises(InvalidInput, match="already"):
        services.check_in(actor=grid01, shelter=open_centre, resident=resident)
    other = residents_of(grid01, 2)[1]
    by_id = services.find_by_id_number(grid01, other.id_number.lower())
    assert by_id == other
    services.check_in(actor=grid01, shelter=open_centre, resident=by_id, via="id_number")
    entry = AuditEntry.objects.filter(action="shelter.check_in", subject_id=str(other.pk)).get()
    assert entry.details["via"] == "id_number" and other.id_number not in str(entry.details)
    services.check_out(actor=grid01, stay=stay)
    open_centre.refresh_from_db()
    assert open_centre.occupied == 1
    with pytest.raises(InvalidInput, match="already"):
        services.check_out(actor=grid01, stay=stay)


def test_id_number_outside_the_scope_is_not_found(users):
    outside = Resident.objects.restrict(users["grid02"]).order_by("id").first()
    with pytest.raises(InvalidInput) as caught:
        services.find_by_id_number(users["grid01"], outside.id_number)
    assert caught.value.field == "id_number"
    with pytest.raises(InvalidInput) as caught:
        services.find_by_id_number(users["grid01"], "12345")
    assert caught.value.field == "id_number"


def test_check_in_refused_beyond_capacity_and_when_closed(open_centre, centre, users):
    Shelter.objects.filter(pk=open_centre.pk).update(capacity=2)
    open_centre.refresh_from_db()
    first, second, third = residents_of(users["director"], 3)
    services.check_in(actor=users["director"], shelter=open_centre, resident=first)
    services.check_in(actor=users["director"], shelter=open_centre, resident=second)
    with pytest.raises(InvalidInput, match=r"full \(2 people\)") as caught:
        services.check_in(actor=users["director"], shelter=open_centre, resident=third)
    assert caught.value.field == "shelter"
    assert Stay.objects.filter(shelter=open_centre).count() == 2
    with pytest.raises(InvalidInput, match="still checked in"):
        services.close_shelter(actor=users["director"], shelter=open_centre)
    for stay in Stay.objects.filter(shelter=open_centre):
        services.check_out(actor=users["director"], stay=stay)
    services.close_shelter(actor=users["director"], shelter=open_centre)
    with pytest.raises(InvalidInput, match="not open"):
        services.check_in(actor=users["director"], shelter=open_centre, resident=third)


def test_who_may_check_in(open_centre, users):
    resident = residents_of(users["grid01"], 1)[0]
    with pytest.raises(PermissionDenied):
        services.check_in(actor=users["auditor"], shelter=open_centre, resident=resident)
    with pytest.raises(NotFound):  # a resident of G01 is not grid02's to check in
        services.check_in(actor=users["grid02"], shelter=open_centre, resident=resident)
    assert not Stay.objects.exists()


def test_names_masked_outside_the_scope(open_centre, users):
    resident = residents_of(users["grid01"], 1)[0]
    services.check_in(actor=users["grid01"], shelter=open_centre, resident=resident)
    (mine,) = services.current_stays(users["grid01"], open_centre)
    (theirs,) = services.current_stays(users["grid02"], open_centre)
    assert mine.name == resident.name and mine.named
    assert theirs.name != resident.name and theirs.name.startswith(resident.name[0]) and "*" in theirs.name


def test_occupancy_history_and_peak(open_centre, users, emergency):
    director = users["director"]
    start = clock.now()
    people = residents_of(director, 3)
    stays = []
    for i, resident in enumerate(people):
        with clock.use(clock.SimulatedClock(start + dt.timedelta(minutes=i))):
            stays.append(services.check_in(actor=director, shelter=open_centre, resident=resident))
    with clock.use(clock.SimulatedClock(start + dt.timedelta(minutes=10))):
        services.check_out(actor=director, stay=stays[0])
        services.check_out(actor=director, stay=stays[1])
    curve = services.occupancy_curve(emergency)
    assert [n for _at, n in curve] == [1, 2, 3, 2, 1]
    assert services.occupancy_at(emergency, start + dt.timedelta(minutes=5)) == 3
    assert services.occupancy_at(emergency, start + dt.timedelta(minutes=11)) == 1
    figures = services.summary(emergency)
    assert figures["shelter_peak"] == 3
    assert figures["sheltered_now"] == 1 and figures["check_ins"] == 3
    part = services.board_part(director, emergency)
    assert part.peak == 3 and part.occupied == 1 and part.shelters == [open_centre]


def test_stock_moves_never_go_negative(water, emergency, users):
    director = users["director"]
    household = Household.objects.restrict(users["grid01"]).order_by("code").first()
    assert water.quantity == 120
    services.move_stock(
        actor=director, stock=water, kind=MoveKind.RESERVED, quantity=100, emergency=emergency
    )
    with pytest.raises(InvalidInput, match="Only 20 boxes of Drinking water at") as caught:
        services.move_stock(
            actor=director, stock=water, kind=MoveKind.RESERVED, quantity=21, emergency=emergency
        )
    assert caught.value.field == "quantity"
    # a distribution for the emergency comes out of its reservation first
    move = services.move_stock(
        actor=users["grid01"],
        stock=water,
        kind=MoveKind.DISTRIBUTED,
        quantity=30,
        emergency=emergency,
        household=household,
    )
    water.refresh_from_db()
    assert (water.quantity, water.reserved, move.from_reserve, move.balance) == (90, 70, 30, 90)
    assert services.reserved_for(water, emergency) == 70
    # without an emergency only what is not held may go
    with pytest.raises(InvalidInput, match="Only 20"):
        services.move_stock(
            actor=users["grid01"], stock=water, kind=MoveKind.DISTRIBUTED, quantity=21, household=household
        )
    with pytest.raises(InvalidInput, match="reserved for emergencies"):
        services.move_stock(actor=director, stock=water, kind=MoveKind.ADJUSTED, quantity=60)
    services.move_stock(actor=director, stock=water, kind=MoveKind.ADJUSTED, quantity=75, note="盘点")
    water.refresh_from_db()
    assert (water.quantity, water.reserved) == (75, 70)
    with pytest.raises(InvalidInput) as caught:
        services.move_stock(actor=director, stock=water, kind=MoveKind.RECEIVED, quantity=-3)
    assert caught.value.field == "quantity"
    with pytest.raises(InvalidInput) as caught:
        services.move_stock(actor=users["grid01"], stock=water, kind=MoveKind.DISTRIBUTED, quantity=1)
    assert caught.value.field == "household"
    assert Stock.objects.filter(quantity__lt=0).count() == 0


def test_who_may_move_stock(water, emergency, users):
    household = Household.objects.restrict(users["grid01"]).order_by("code").first()
    with pytest.raises(PermissionDenied):
        services.move_stock(actor=users["grid01"], stock=water, kind=MoveKind.RECEIVED, quantity=5)
    with pytest.raises(PermissionDenied):
        services.move_stock(
            actor=users["auditor"], stock=water, kind=MoveKind.DISTRIBUTED, quantity=1, household=household
        )
    with pytest.raises(InvalidInput, match="household in your area"):
        services.move_stock(
            actor=users["grid02"], stock=water, kind=MoveKind.DISTRIBUTED, quantity=1, household=household
        )
    water.refresh_from_db()
    assert water.quantity == 120 and not Move.objects.filter(stock=water).exclude(kind=MoveKind.RECEIVED)


def test_low_stock_tells_the_director_once_per_crossing(water, users, django_capture_on_commit_callbacks):
    director = users["director"]

    def told() -> int:
        return Message.objects.filter(
            kind="supplies.low", subject_type="stock", subject_id=str(water.pk)
        ).count()

    services.move_stock(actor=director, stock=water, kind=MoveKind.ADJUSTED, quantity=31)
    assert told() == 0
    services.move_stock(actor=director, stock=water, kind=MoveKind.ADJUSTED, quantity=30)
    assert told() == 1
    assert Message.objects.get(kind="supplies.low").recipient == director
    services.move_stock(actor=director, stock=water, kind=MoveKind.ADJUSTED, quantity=10)
    assert told() == 1, "still low: not told again"
    services.move_stock(actor=director, stock=water, kind=MoveKind.RECEIVED, quantity=50)
    services.move_stock(actor=director, stock=water, kind=MoveKind.ADJUSTED, quantity=5)
    assert told() == 2, "a new crossing"
    assert [s.pk for s in services.stocks_low_first(director)][0] in {
        s.pk for s in Stock.objects.filter(quantity__lte=5, low_at__gte=5)
    } | {water.pk}


def test_purge_removes_stays_and_households_of_moves(open_centre, water, emergency, users):
    director = users["director"]
    first, second = residents_of(director, 2)
    done = services.check_in(actor=director, shelter=open_centre, resident=first)
    services.check_out(actor=director, stay=done)
    services.check_in(actor=director, shelter=open_centre, resident=second)
    services.move_stock(
        actor=director,
        stock=water,
        kind=MoveKind.DISTRIBUTED,
        quantity=2,
        emergency=emergency,
        household=first.household,
    )
    assert services.purge_emergency(emergency) == {"stays": 2, "moves": 1}
    open_centre.refresh_from_db()
    water.refresh_from_db()
    assert open_centre.occupied == 0 and not Stay.objects.filter(emergency=emergency).exists()
    assert not Move.objects.filter(emergency=emergency, household__isnull=False).exists()
    assert water.quantity == 118, "the stock's quantities stay as they are"


def test_households_found_by_unit(users):
    household = (
        Household.objects.restrict(users["grid01"]).select_related("unit__building").order_by("code")[0]
    )
    query = f"{household.unit.building.name} {household.unit.number}"
    assert household in services.find_households(users["grid01"], query)
    assert services.find_households(users["grid02"], query) == []


@pytest.mark.django_db(transaction=True)
def test_the_last_place_is_taken_once_by_two_desks_at_once():
    """Two check-ins at the same moment, each on its own database connection, for one free place:
    exactly one gets it, the other is told the shelter is full."""
    ensure_seeded()
    director = User.objects.get(username="director")
    services.install_shelters(director.region)
    shelter = Shelter.objects.get(community=director.region, facility__kind=FacilityKind.COMMUNITY_CENTRE)
    Shelter.objects.filter(pk=shelter.pk).update(capacity=1, is_open=True)
    shelter.refresh_from_db()
    people = list(Resident.objects.order_by("id")[:2])
    results: list[str] = []
    barrier = threading.Barrier(2, timeout=60)

    def desk(resident):
        try:
            barrier.wait()
            services.check_in(actor=director, shelter=shelter, resident=resident)
            results.append("in")
        except InvalidInput as exc:
            results.append(exc.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=desk, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    shelter.refresh_from_db()
    assert sorted(results, key=lambda r: r != "in")[0] == "in" and results.count("in") == 1, results
    assert len(results) == 2
    assert shelter.occupied == 1 and Stay.objects.filter(shelter=shelter).count() == 1
