"""The default warning rule set of a synthetic community: plain dicts the engine reads (ADR 0005).

Life-safety rules (smoke, gas, SOS, falls) do not clear by themselves: a person must check and
resolve them. Offline rules follow each device kind's expected reporting interval (three missed).
Crowd density is judged on each plaza and sports field from its crowd counter, with the zone's area
computed from the facility's polygon; the place key is the facility code (``place_key`` in
``banyan.warning.services``).
"""

from __future__ import annotations

import datetime as dt

from django.utils import translation

from banyan.places.choices import FacilityKind
from banyan.places.geo import polygon_area_m2
from banyan.sensing.kinds import KINDS
from banyan.sim.seed.plan import CommunityPlan
from banyan.warning.models import RULE_COLUMNS, Rule

HOUR = 3600


def _label(kind: str, language: str) -> str:
    with translation.override(language):
        return str(KINDS[kind].label)


def _rule(names: tuple[str, str], kind: str, grade: str, device_kind: str, **settings) -> dict:
    name, name_en = names
    return {
        "name": name,
        "name_en": name_en,
        "kind": kind,
        "grade": grade,
        "device_kinds": [device_kind],
        **settings,
    }


def plan_rules(plan: CommunityPlan) -> tuple[dict, ...]:
    """The rule dicts for ``plan`` (``name``, ``kind``, ``grade`` and the kind's settings)."""
    rules: list[dict] = [
        _rule(("积水达到50厘米", "Water level ≥ 50 cm"), "threshold", "orange", "water_level",
              metric="water_level_cm", raise_at=50, clear_below=40, incident_category="flooding"),
        _rule(("烟感报警", "Smoke alarm"), "threshold", "red", "smoke", auto_clear=False,
              metric="smoke_alarm", raise_at=1, clear_below=1, incident_category="fire_smoke"),
        _rule(("燃气泄漏（≥25%爆炸下限）", "Combustible gas ≥ 25 %LEL"), "threshold", "red",
              "combustible_gas", auto_clear=False, metric="gas_lel", raise_at=25, clear_below=20,
              incident_category="gas"),
        _rule(("独居老人12小时未用水", "No water used in 12 h"), "no_data", "yellow", "water_meter",
              metric="water_m3", measure="delta", below=0.01, window_s=12 * HOUR,
              incident_category="wellness_check"),
        _rule(("独居老人24小时未开门", "Door not opened in 24 h"), "no_data", "yellow", "door_contact",
              metric="door_open", measure="count", op="==", value=1, below=1, window_s=24 * HOUR,
              incident_category="wellness_check"),
        _rule(("1小时内两次跌倒", "Two falls within 1 h"), "count_window", "orange", "wearable_band",
              auto_clear=False, metric="fall", op="==", value=1, count=2, window_s=HOUR,
              incident_category="fall_medical"),
        _rule(("心率过快（5分钟超过130）", "Heart rate > 130 for 5 min"), "sustained", "orange",
              "wearable_band",
              metric="heart_rate", op=">", value=130, duration_s=300, incident_category="fall_medical"),
        _rule(("紧急呼叫按钮被按下", "SOS pressed"), "threshold", "red", "sos_button", auto_clear=False,
              metric="sos", raise_at=1, clear_below=1, incident_category="fall_medical"),
    ]  # fmt: skip
    for kind in sorted(KINDS):
        rules.append(
            {
                "name": f"设备离线：{_label(kind, 'zh-hans')}",
                "name_en": f"Device offline: {_label(kind, 'en')}",
                "kind": "offline",
                "grade": "blue",
                "device_kinds": [kind],
                "interval_s": KINDS[kind].expected_interval_s,
                "missed": 3,
            }
        )
    areas = {
        facility.code: round(polygon_area_m2(facility.area), 1)
        for facility in plan.facilities
        if facility.kind in (FacilityKind.PLAZA, FacilityKind.SPORTS_FIELD) and facility.area
    }
    if areas:
        rules.append(
            {
                "name": "广场和运动场人流密度",
                "name_en": "Crowd density on plaza and sports field",
                "kind": "crowd_density",
                "device_kinds": ["crowd_counter"],
                "metric": "person_count",
                "areas_m2": areas,
                "incident_category": "crowding",
            }
        )
    return tuple(rules)


def write_rules(rules: tuple[dict, ...], *, community, now: dt.datetime) -> int:
    """Store the rules for ``community``, each validated by the engine first; returns how many."""

    objects = []
    for spec in rules:
        columns = {key: spec[key] for key in RULE_COLUMNS if key in spec}
        params = {key: value for key, value in spec.items() if key not in RULE_COLUMNS}
        rule = Rule(community=community, params=params, created_at=now, updated_at=now, **columns)
        rule.clean()
        objects.append(rule)
    Rule.objects.bulk_create(objects)
    return len(objects)
