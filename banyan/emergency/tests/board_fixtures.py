"""Shared makers of the board's tests: a plan of the seeded community (made directly, as the plans part
would), a simulated clock."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.core import clock
from banyan.emergency.models import Plan
from banyan.places.models import Region

START = dt.datetime(2026, 9, 14, 2, 0, tzinfo=dt.UTC)  # 10:00 in Hangzhou

BODY = {
    "triggers": {
        "manual": True,
        "cap": {"events": ["台风", "Typhoon"], "min_severity": "Moderate"},
        "alert_rules": ["flooding"],
    },
    "lead": {"organisation_kind": "community_committee", "role": "community_director"},
    "tasks": [
        {
            "key": "duty",
            "title_zh": "启动24小时值班",
            "title_en": "Start the 24-hour duty",
            "owner_kind": "community_committee",
            "owner_role": "community_director",
            "due_minutes": 15,
        },
        {
            "key": "patrol",
            "title_zh": "巡查低洼地带和地下车库",
            "title_en": "Patrol low ground and underground garages",
            "owner_kind": "community_committee",
            "owner_role": "grid_worker",
            "due_minutes": 60,
        },
        {
            "key": "sandbags",
            "title_zh": "在车库入口堆放沙袋",
            "title_en": "Sandbags at the garage entrances",
            "owner_kind": "property_company",
            "owner_role": "property_staff",
            "due_minutes": 90,
        },
        {
            "key": "clinic",
            "title_zh": "卫生站备好急救药品",
            "title_en": "The clinic readies first-aid supplies",
            "owner_kind": "clinic",
            "owner_role": "grid_worker",
            "due_minutes": 120,
        },
    ],
}


def community() -> Region:
    return Region.objects.filter(kind="community").order_by("pk").first()


def make_plan(
    level: int = 2, hazard: str = "typhoon", body: dict | None = None, where: Region | None = None
) -> Plan:
    where = where or community()
    Plan.objects.filter(community=where, hazard=hazard, level=level).delete()
    return Plan.objects.create(
        community=where,
        hazard=hazard,
        level=level,
        title_zh=f"防台风应急预案（{level}级）",
        title_en=f"Typhoon plan (level {level})",
        body=body if body is not None else BODY,
        created_at=clock.now(),
    )


@pytest.fixture
def sim(db):
    with clock.use(clock.SimulatedClock(START)) as simulated:
        yield simulated


@pytest.fixture
def plan(sim):
    """The orange (II) typhoon plan of the seeded community, its only plan (the seed's are removed, so that
    each test says which plans exist)."""
    Plan.objects.filter(community=community()).delete()
    return make_plan()
