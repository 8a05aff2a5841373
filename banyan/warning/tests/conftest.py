"""Factories for alert tests: rules on seeded devices, engine events as the engine makes them."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.core import clock

NOW = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def now():
    with clock.use(clock.SimulatedClock(NOW)) as simulated:
        yield simulated


def make_rule(community=None, **spec):
    from banyan.places.models import Region
    from banyan.warning.models import Rule

    community = community or Region.objects.filter(kind="community").order_by("code").first()
    defaults = {"name": "地下室积水", "name_en": "Basement water", "kind": "threshold", "grade": "orange"}
    if spec.get("kind", "threshold") == "threshold":
        defaults.update(metric="water_level_cm", raise_at=50, clear_below=40)
    spec = {**defaults, **spec}
    if spec.get("grade") is None:
        spec.pop("grade")
    names = ("name", "name_en", "kind", "grade", "auto_clear")
    columns = {key: spec.pop(key) for key in names if key in spec}
    return Rule.objects.create(community=community, params=spec, created_at=NOW, updated_at=NOW, **columns)


def seeded_device(kind="water_level", grid=None):
    from banyan.sensing.models import Device

    devices = Device.objects.exclude(code__startswith="T-").order_by("code")
    if grid is not None:
        devices = devices.filter(grid=grid)
        if devices.filter(kind=kind).exists():
            devices = devices.filter(kind=kind)
    else:
        devices = devices.filter(kind=kind)
    return devices.select_related("grid", "facility", "building", "unit").first()


def event(kind, rule, subject, *, value=55.0, grade="orange", at=NOW, count=1, place=""):
    from banyan.warning import engine

    return getattr(engine, kind)(
        rule_id=str(rule.pk),
        subject=subject,
        grade=engine.Grade.parse(grade),
        value=value,
        reading_ts=at,
        at=at,
        count=count,
        place=place,
    )
