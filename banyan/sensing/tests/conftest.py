"""Factories for sensing tests: devices anywhere, readings as the parser gives them."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.core import clock
from banyan.sensing.kinds import KINDS
from banyan.sensing.parsing import ReadingIn

NOW = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def now():
    with clock.use(clock.SimulatedClock(NOW)) as simulated:
        yield simulated


_numbers = iter(range(1, 10_000_000))


def make_device(*, grid=None, building=None, unit=None, facility=None, kind="water_level", **fields):
    from banyan.places.models import Region
    from banyan.sensing.models import Device

    if unit is not None:
        building = unit.building
    if building is not None:
        grid = building.grid
    if facility is not None and grid is None:
        grid = facility.region
    grid = grid or Region.objects.filter(kind="grid").order_by("code").first()
    return Device.objects.create(
        code=fields.pop("code", None) or f"T-{kind[:3].upper()}-{next(_numbers):06d}",
        kind=kind,
        community_id=grid.parent_id,
        grid=grid,
        building=building,
        unit=unit,
        facility=facility,
        expected_interval_s=fields.pop("expected_interval_s", KINDS[kind].expected_interval_s),
        installed_at=fields.pop("installed_at", NOW - dt.timedelta(days=30)),
        **fields,
    )


@pytest.fixture
def device_factory(db):
    return make_device


def reading(metric="water_level_cm", value=10.0, *, minutes=0, seq=None, unit=None):
    return ReadingIn(metric, float(value), NOW - dt.timedelta(minutes=minutes), seq, unit)
