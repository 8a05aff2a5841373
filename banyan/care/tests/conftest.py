"""Care tests run on simulated time, on a day when the seeded responders are on duty."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from banyan.core import clock
from banyan.response.models import Shift


def local_today(hour: int, minute: int) -> dt.datetime:
    """Two days after the seed's first shift (the seeded responders on duty), at hour:minute."""
    first_shift = Shift.objects.order_by("starts_at").values_list("starts_at", flat=True).first()
    assert first_shift is not None
    day = timezone.localtime(first_shift + dt.timedelta(days=2)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    return day.replace(hour=hour, minute=minute)


def at(sim, hour: int, minute: int) -> None:
    """Move the simulated clock on to hour:minute of that day."""
    sim.advance(local_today(hour, minute) - clock.now())


@pytest.fixture
def sim(db):
    with clock.use(clock.SimulatedClock(local_today(8, 0))) as simulated:
        yield simulated
