"""Epidemic tests run on simulated time (a day the seeded responders are on duty, 10:00 local), on an
active epidemic emergency over grid G01 of the seeded community, made directly."""

from __future__ import annotations

import pytest

from banyan.core import clock
from banyan.emergency.epidemic import services
from banyan.emergency.rollcall.tests.conftest import local_day, make_emergency
from banyan.people.models import CareProfile, Household
from banyan.places.models import Region


@pytest.fixture
def sim(db):
    with clock.use(clock.SimulatedClock(local_day(10))) as simulated:
        yield simulated


@pytest.fixture
def grid_g01(db):
    return Region.objects.get(code="G01", kind="grid")


@pytest.fixture
def epidemic(sim, grid_g01):
    emergency = make_emergency([grid_g01], title="新冠疫情居家隔离")
    emergency.hazard = "epidemic"
    emergency.save(update_fields=["hazard"])
    return emergency


@pytest.fixture
def cared_household(grid_g01):
    """A household of G01 with a member in care (an active care profile)."""
    household = (
        Household.objects.filter(grid=grid_g01, members__care_profiles__is_active=True).order_by("pk").first()
    )
    assert household is not None, "the seed has residents in care in G01"
    assert CareProfile.objects.filter(resident__household=household, is_active=True).exists()
    return household


def isolate(users, emergency, household, status="isolating", username="director"):
    return services.set_status(
        actor=users[username], emergency=emergency, household=household, status=status, since=clock.today()
    )
