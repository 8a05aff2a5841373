"""Shared makers of the review and purge tests: an emergency over grid G01 of the seeded community,
activated from a plan on simulated time (a day the seeded responders are on duty), with a roll call."""

from __future__ import annotations

import pytest

from banyan.core import clock
from banyan.emergency import services
from banyan.emergency.models import Emergency, Plan
from banyan.emergency.rollcall.tests.conftest import local_day
from banyan.emergency.tests.board_fixtures import community, make_plan
from banyan.places.models import Region


@pytest.fixture
def sim(db):
    with clock.use(clock.SimulatedClock(local_day(10))) as simulated:
        yield simulated


@pytest.fixture
def grid_g01(db):
    return Region.objects.get(code="G01", kind="grid")


@pytest.fixture
def activated(sim, users, grid_g01) -> Emergency:
    """The seeded community's orange typhoon plan (the board tests' four-task checklist) opened over G01."""
    Plan.objects.filter(community=community()).delete()
    make_plan()
    return services.activate(
        actor=users["director"], community=community(), hazard="typhoon", level=2, area_grids=[grid_g01.pk]
    )
