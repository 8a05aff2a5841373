# ruff: noqa: F401, F811 -- the fixtures imported from board_fixtures are used as arguments
"""Plans proposed by their triggers: a government CAP warning covering the community (imported through
the warning app's own import), a local alert of a rule a plan names; the worker's sweep, idempotent."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from shapely.geometry import shape

from banyan.emergency import triggers
from banyan.emergency.models import Emergency
from banyan.emergency.tests.board_fixtures import START, community, make_plan, plan, sim
from banyan.processes.management.commands.worker import run_once
from banyan.warning import services as warning_services
from banyan.warning.cap import CapAlert, CapArea, CapInfo, build_cap, polygon_from_geojson
from banyan.warning.models import OfficialWarning
from banyan.warning.tests.conftest import event, make_rule, seeded_device


def _polygon_over(region) -> str:
    """A CAP polygon a little larger than the region's outline."""
    minx, miny, maxx, maxy = shape(region.boundary).bounds
    ring = [[minx - 0.01, miny - 0.01], [maxx + 0.01, miny - 0.01], [maxx + 0.01, maxy + 0.01],
            [minx - 0.01, maxy + 0.01], [minx - 0.01, miny - 0.01]]  # fmt: skip
    return polygon_from_geojson({"type": "Polygon", "coordinates": [ring]})


FAR_AWAY = polygon_from_geojson(
    {"type": "Polygon", "coordinates": [[[100, 20], [100.1, 20], [100.1, 20.1], [100, 20.1], [100, 20]]]}
)


def _import(
    *,
    identifier="ZJ-TY-001",
    headline_zh="杭州市气象台发布台风橙色预警信号",
    event_zh="台风",
    event_en="Typhoon",
    severity="Severe",
    polygons=(),
    circles=(),
    geocodes=(),
    expires=None,
    status="Actual",
) -> OfficialWarning:
    area = CapArea("杭州市", polygons=tuple(polygons), circles=tuple(circles), geocodes=tuple(geocodes))
    common = {"urgency": "Expected", "severity": severity, "certainty": "Likely", "areas": (area,)}
    infos = (
        CapInfo("zh-CN", ("Met",), event_zh, headline=headline_zh, expires=expires, **common),
        CapInfo("en", ("Met",), event_en, headline=f"{event_en} warning", expires=expires, **common),
    )
    data = build_cap(CapAlert(identifier, "hz-meteo@zj.gov.cn", START, status=status, infos=infos))
    warning, created = warning_services.import_official_warning(actor="cap-import", data=data)
    assert created
    return warning


def test_levels_of_warnings(db):
    w = OfficialWarning(headline_zh="台风红色预警", severity="Minor", grade="blue")
    assert triggers.warning_level(w) == 1  # the colour in the headline first
    assert triggers.warning_level(OfficialWarning(headline_en="Orange typhoon warning")) == 2
    assert triggers.warning_level(OfficialWarning(grade="yellow", severity="Extreme")) == 3
    assert triggers.warning_level(OfficialWarning(severity="Minor")) == 4
    assert triggers.warning_level(OfficialWarning(severity="Unknown")) is None


def test_a_cap_warning_over_the_community_proposes_its_plan_at_its_level(plan, sim):
    orange = plan  # level 2
    make_plan(level=3)
    warning = _import(polygons=[_polygon_over(community())])
    assert triggers.sweep() == 1
    [emergency] = Emergency.objects.all()
    assert (emergency.status, emergency.level, emergency.hazard) == ("proposed", 2, "typhoon")
    assert (emergency.trigger, emergency.official_warning, emergency.plan) == ("cap", warning, orange)
    assert emergency.proposed_at == START and emergency.title == orange.title_zh
    assert emergency.timeline.get().kind == "proposed"
    # idempotent: the next rounds propose nothing more
    assert triggers.sweep() == 0 and triggers.sweep() == 0
    assert Emergency.objects.count() == 1


def test_a_geocode_of_the_district_covers_its_communities(plan, sim):
    _import(geocodes=[("行政区划代码", community().code[:6])])
    assert triggers.sweep() == 1


def _circle_near(region, km_east: float, radius_km: float) -> str:
    """A CAP circle centred ``km_east`` east of the region's outline's east edge."""
    minx, miny, maxx, maxy = shape(region.boundary).bounds
    latitude = (miny + maxy) / 2
    longitude = maxx + km_east / (111.32 * math.cos(math.radians(latitude)))
    return f"{latitude:.6f},{longitude:.6f} {radius_km}"


def test_a_circle_reaching_the_community_covers_it(plan, sim):
    _import(identifier="FAR", circles=[_circle_near(community(), 5, 2)])
    assert triggers.sweep() == 0  # 5 km east of its edge, 2 km wide: short of it
    _import(identifier="NEAR", circles=[_circle_near(community(), 5, 6)])
    assert triggers.sweep() == 1


@pytest.mark.parametrize(
    "change",
    [
        {"polygons": [FAR_AWAY]},  # elsewhere
        {"polygons": [], "geocodes": [("行政区划代码", "110101")]},  # another district
        {
            "event_zh": "暴雪",
            "event_en": "Snowstorm",
            "headline_zh": "暴雪黄色预警",
        },  # an event no plan names
        {"headline_zh": "台风蓝色预警", "severity": "Minor"},  # below the plan's least severity
        {"status": "Exercise"},  # not an actual warning
        {"expires": START - dt.timedelta(hours=1)},  # no longer in force
    ],
)
def test_warnings_that_propose_nothing(plan, sim, change):
    fields = {"polygons": [_polygon_over(community())], **change}
    _import(**fields)
    assert triggers.sweep() == 0
    assert not Emergency.objects.exists()


def test_a_red_warning_takes_the_red_plan_and_falls_back_to_the_nearest(plan, sim):
    _import(headline_zh="台风红色预警", severity="Extreme", polygons=[_polygon_over(community())])
    assert triggers.sweep() == 1
    [emergency] = Emergency.objects.all()
    assert emergency.level == 1 and emergency.plan == plan  # no red plan: the orange one, at level I


def test_the_worker_round_proposes(plan, sim):
    _import(polygons=[_polygon_over(community())])
    assert run_once()["proposed"] == 1
    assert run_once()["proposed"] == 0


def test_a_local_alert_of_a_named_rule_proposes(plan, sim):
    grid = community().children.order_by("code").first()
    device = seeded_device(grid=grid)
    rule = make_rule(community=device.community)
    rule.incident_category = "flooding"
    rule.save()
    [alert] = warning_services.apply_events([event("Raised", rule, device.code, at=START)])
    assert triggers.sweep() == 1
    [emergency] = Emergency.objects.all()
    assert (emergency.trigger, emergency.alert, emergency.status) == ("alert", alert, "proposed")
    assert emergency.level == {"red": 1, "orange": 2, "yellow": 3, "blue": 4}[alert.grade]
    assert triggers.sweep() == 0


def test_an_alert_of_a_rule_no_plan_names_proposes_nothing(plan, sim):
    grid = community().children.order_by("code").first()
    device = seeded_device(grid=grid)
    rule = make_rule(community=device.community)
    warning_services.apply_events([event("Raised", rule, device.code, at=START)])
    assert triggers.sweep() == 0
