"""Rule dicts: what parse_rule builds, and what it refuses, naming the field."""

from __future__ import annotations

import pytest

from banyan.warning.engine import (
    CompositeRule,
    Condition,
    CrowdDensityRule,
    Grade,
    NoDataRule,
    OfflineRule,
    RuleError,
    ThresholdRule,
    parse_rule,
    rule_fingerprint,
)

BASE = {"id": "r1", "name": "Basement water", "grade": "orange"}


def rule(**data):
    return {**BASE, **data}


def test_the_contract_example_parses():
    parsed = parse_rule(
        {
            "name": "Garage water",
            "id": 7,
            "kind": "threshold",
            "metric": "water_level_cm",
            "device_codes": ["WL-001"],
            "raise_at": 50,
            "clear_below": 40,
            "grade": "orange",
        }
    )
    assert parsed == ThresholdRule(
        id="7",
        name="Garage water",
        grade=Grade.ORANGE,
        device_codes=frozenset({"WL-001"}),
        metric="water_level_cm",
        raise_at=50.0,
        clear_at=40.0,
    )
    assert parsed.auto_clear is True and parsed.below is False


def test_defaults_of_the_other_kinds():
    density = parse_rule({"id": "c", "kind": "crowd_density", "areas_m2": {"plaza": 2500}})
    assert isinstance(density, CrowdDensityRule)
    assert density.levels == ((Grade.YELLOW, 2.0), (Grade.ORANGE, 4.0), (Grade.RED, 5.0))
    assert density.grade is Grade.RED and density.name == "c" and density.metric == "person_count"
    assert density.area_of("plaza") == 2500.0 and density.area_of("field") is None
    offline = parse_rule(rule(kind="offline", interval_s=60))
    assert isinstance(offline, OfflineRule) and offline.silence_s == 180.0
    door = parse_rule(rule(kind="no_data", metric="door_open", window_s=86400))
    assert isinstance(door, NoDataRule) and (door.measure, door.below, door.condition) == ("count", 1.0, None)
    fire = parse_rule(
        rule(kind="composite", conditions=[{"metric": "smoke", "op": ">=", "value": 1}] * 2, mode="any")
    )
    assert isinstance(fire, CompositeRule) and not fire.require_all and fire.within_s == 300.0
    assert fire.conditions[0] == Condition("smoke", ">=", 1.0) and fire.metrics == ("smoke",)


def test_fingerprints_are_plain_and_tell_settings_apart():
    one = rule_fingerprint(
        parse_rule(rule(kind="threshold", metric="m", raise_at=5, device_codes=["b", "a"]))
    )
    assert one["device_codes"] == ["a", "b"] and one["grade"] == "orange" and one["kind"] == "threshold"
    other = rule_fingerprint(
        parse_rule(rule(kind="threshold", metric="m", raise_at=6, device_codes=["a", "b"]))
    )
    assert one != other


INVALID = [
    ({"name": "x", "grade": "red", "metric": "m", "raise_at": 1}, "kind", "'threshold'"),
    (rule(kind="thresh", metric="m", raise_at=1), "kind", "'crowd_density'"),
    ({"kind": "threshold", "grade": "red", "metric": "m", "raise_at": 1}, "id", "required"),
    (
        rule(kind="threshold", metric="m", raise_at=1, grade="purple"),
        "grade",
        "'blue', 'yellow', 'orange', 'red'",
    ),
    ({"id": "x", "kind": "threshold", "metric": "m", "raise_at": 1}, "grade", "'blue'"),
    (rule(kind="threshold", metric="m", raise_at=40, clear_below=50), "clear_below", "at most raise_at"),
    (
        rule(kind="threshold", metric="m", direction="below", raise_at=10, clear_above=5),
        "clear_above",
        "at least",
    ),
    (rule(kind="threshold", metric="m", raise_at=10, clear_above=15), "clear_above", "'below'"),
    (
        rule(kind="threshold", metric="m", direction="below", raise_at=10, clear_below=5),
        "clear_below",
        "'above'",
    ),
    (rule(kind="threshold", metric="m", direction="up", raise_at=10), "direction", "'above', 'below'"),
    (rule(kind="threshold", metric="", raise_at=1), "metric", "non-empty"),
    (rule(kind="threshold", raise_at=1), "metric", "required"),
    (rule(kind="threshold", metric="m", raise_at="50"), "raise_at", "number"),
    (rule(kind="threshold", metric="m", raise_at=True), "raise_at", "number"),
    (rule(kind="threshold", metric="m", raise_at=float("nan")), "raise_at", "finite"),
    (rule(kind="threshold", metric="m", raise_at=1, clear_bellow=0), "clear_bellow", "clear_below"),
    (rule(kind="threshold", metric="m", raise_at=1, auto_clear="yes"), "auto_clear", "true or false"),
    (rule(kind="threshold", metric="m", raise_at=1, device_codes="WL-1"), "device_codes", "list"),
    (rule(kind="threshold", metric="m", raise_at=1, device_kinds=["smoke", ""]), "device_kinds", "list"),
    (rule(kind="sustained", metric="m", op=">=", value=1, duration_s=0), "duration_s", "greater than 0"),
    (rule(kind="sustained", metric="m", op=">=", value=1, duration_s=-5), "duration_s", "greater than 0"),
    (rule(kind="sustained", metric="m", op="=>", value=1, duration_s=5), "op", "'>='"),
    (rule(kind="sustained", metric="m", op=">", duration_s=5), "value", "required"),
    (rule(kind="rate_of_change", metric="m", limit=0, window_s=60), "limit", "greater than 0"),
    (rule(kind="rate_of_change", metric="m", limit=1, window_s=60, direction="up"), "direction", "'either'"),
    (rule(kind="no_data", metric="m"), "window_s", "required"),
    (rule(kind="no_data", metric="m", window_s=60, measure="avg"), "measure", "'delta'"),
    (
        rule(kind="no_data", metric="m", window_s=60, measure="delta", below=1, op=">"),
        "op",
        "'count' or 'sum'",
    ),
    (rule(kind="no_data", metric="m", window_s=60, measure="sum"), "below", "required"),
    (rule(kind="offline", interval_s=60, missed=0), "missed", "at least 1"),
    (rule(kind="offline", interval_s=60, metric="m"), "metric", "interval_s"),
    (rule(kind="count_window", metric="fall", count=0, window_s=60), "count", "at least 1"),
    (rule(kind="count_window", metric="fall", count=1.5, window_s=60), "count", "whole number"),
    (rule(kind="count_window", metric="fall", count=2, window_s=60, per="person"), "per", "'place'"),
    (rule(kind="composite", conditions=[{"metric": "smoke", "op": ">=", "value": 1}]), "conditions", "two"),
    (
        rule(
            kind="composite", conditions=[{"metric": "a", "op": ">", "value": 1}, {"metric": "b", "op": "~"}]
        ),
        "conditions[1].op",
        "'>'",
    ),
    (
        rule(
            kind="composite", conditions=[{"metric": "a", "op": ">", "value": 1}, {"metric": "", "op": ">"}]
        ),
        "conditions[1].metric",
        "non-empty",
    ),
    (
        rule(kind="composite", conditions=[{"metric": "a", "op": ">", "value": 1, "unit": "C"}] * 2),
        "conditions[0].unit",
        "metric, op, value",
    ),
    (
        rule(kind="composite", conditions=[{"metric": "a", "op": ">", "value": 1}] * 2, within_s=0),
        "within_s",
        "> 0",
    ),
    ({"id": "c", "kind": "crowd_density", "areas_m2": {}}, "areas_m2", "area"),
    ({"id": "c", "kind": "crowd_density", "areas_m2": {"plaza": 0}}, "areas_m2.plaza", "greater than 0"),
    ({"id": "c", "kind": "crowd_density", "areas_m2": {"p": 9}, "grade": "red"}, "grade", "levels"),
    (
        {"id": "c", "kind": "crowd_density", "areas_m2": {"p": 9}, "levels": {"red": 3, "orange": 4}},
        "levels.red",
        "",
    ),
    (
        {"id": "c", "kind": "crowd_density", "areas_m2": {"p": 9}, "levels": {"purple": 1}},
        "levels.purple",
        "'red'",
    ),
    ({"id": "c", "kind": "crowd_density", "areas_m2": {"p": 9}, "hysteresis": 2}, "hysteresis", "below"),
    (
        {"id": "c", "kind": "crowd_density", "areas_m2": {"p": 9}, "hysteresis": -1},
        "hysteresis",
        "at least 0",
    ),
]


@pytest.mark.parametrize(
    ("data", "field", "hint"), INVALID, ids=[f"{i}-{case[1]}" for i, case in enumerate(INVALID)]
)
def test_an_invalid_rule_names_its_field_and_what_would_be_accepted(data, field, hint):
    with pytest.raises(RuleError) as caught:
        parse_rule(data)
    assert caught.value.field == field
    assert hint.replace("> 0", "greater than 0") in caught.value.message
    assert str(caught.value).startswith(f"{field}: ")


def test_a_rule_that_is_not_an_object_is_refused():
    with pytest.raises(RuleError) as caught:
        parse_rule(["threshold"])  # type: ignore[arg-type]
    assert caught.value.field == "rule"
