"""Roll-call tests run on simulated time (a day the seeded responders are on duty), on an active emergency
over grid G01 of the seeded community, made directly (the activation service is another part's)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from banyan.core import clock
from banyan.emergency.models import Emergency
from banyan.places.models import Region
from banyan.response.models import Shift


def local_day(hour: int, minute: int = 0) -> dt.datetime:
    first_shift = Shift.objects.order_by("starts_at").values_list("starts_at", flat=True).first()
    assert first_shift is not None
    day = timezone.localtime(first_shift + dt.timedelta(days=2)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return day.replace(hour=hour, minute=minute)


@pytest.fixture
def sim(db):
    with clock.use(clock.SimulatedClock(local_day(10))) as simulated:
        yield simulated


@pytest.fixture
def grid_g01(db):
    return Region.objects.get(code="G01", kind="grid")


def make_emergency(grids=(), *, status: str = "active", title: str = "台风“梅花”") -> Emergency:
    community = Region.objects.filter(kind="community").order_by("pk").first()
    now = clock.now()
    emergency = Emergency.objects.create(
        community=community,
        hazard="typhoon",
        level=2,
        status=status,
        title=title,
        trigger="manual",
        activated_at=now if status == "active" else None,
        created_at=now,
    )
    emergency.area_grids.set(list(grids))
    return emergency


@pytest.fixture
def emergency(sim, grid_g01):
    return make_emergency([grid_g01])
