"""The rule engine, kind by kind, at the boundaries; plain Python, no database."""

from __future__ import annotations

import datetime as dt
import sys

import pytest

from banyan.warning.engine import (
    Cleared,
    Engine,
    Grade,
    Raised,
    Reading,
    RuleError,
    Updated,
    cap_severity,
    parse_rule,
)

T0 = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def reading(value, seconds, *, device="d1", kind="water_level", place="u1", metric="m", seq=None) -> Reading:
    return Reading(device, kind, place, metric, float(value), at(seconds), seq)


def engine(**data) -> Engine:
    data.setdefault("id", "r")
    data.setdefault("name", "rule")
    if data["kind"] != "crowd_density":
        data.setdefault("grade", "orange")
    return Engine([parse_rule(data)])


def kinds(events) -> list[str]:
    return [type(event).__name__ for event in events]


def feed(eng: Engine, values, **tags) -> list[list[str]]:
    """Feed one value a second; the event kinds per reading."""
    return [
        kinds(eng.evaluate(reading(value, index, seq=index, **tags))) for index, value in enumerate(values)
    ]


def test_the_engine_imports_no_django():
    import importlib
    import subprocess

    code = (
        "import sys, banyan.warning.engine, banyan.bench.rules; "
        "sys.exit(1 if any(m == 'django' or m.startswith('django.') for m in sys.modules) else 0)"
    )
    assert importlib.import_module("banyan.warning.engine")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# --- grades ---------------------------------------------------------------------------------------------


def test_grades_are_ordered_and_map_to_cap_severity():
    assert Grade.BLUE < Grade.YELLOW < Grade.ORANGE < Grade.RED
    assert [grade.level for grade in Grade] == [4, 3, 2, 1]
    assert [cap_severity(grade) for grade in Grade] == ["Minor", "Moderate", "Severe", "Extreme"]
    assert Grade.parse("orange") is Grade.ORANGE and Grade.RED.code == "red"


# --- threshold ------------------------------------------------------------------------------------------


def test_threshold_raises_at_raise_at_and_clears_below_clear_below():
    eng = engine(kind="threshold", metric="m", raise_at=50, clear_below=40)
    assert feed(eng, [49.99, 50, 40, 45, 50.5, 39.99, 40, 50]) == [
        [],
        ["Raised"],
        [],  # in the band: still raised
        [],
        ["Updated"],
        ["Cleared"],
        [],
        ["Raised"],
    ]


def test_threshold_events_carry_subject_grade_value_times_and_count():
    eng = engine(kind="threshold", metric="m", raise_at=50, clear_below=40, grade="red")
    raised = eng.evaluate(reading(55, 1, seq=1))
    updated = eng.evaluate(reading(57, 2, seq=2))
    cleared = eng.evaluate(reading(10, 3, seq=3))
    assert raised == [Raised("r", "d1", Grade.RED, 55.0, at(1), at(1), 1, "u1")]
    assert updated == [Updated("r", "d1", Grade.RED, 57.0, at(2), at(2), 2, "u1")]
    assert cleared == [Cleared("r", "d1", Grade.RED, 10.0, at(3), at(3), 2, "u1")]


def test_threshold_without_clear_below_clears_just_under_raise_at():
    eng = engine(kind="threshold", metric="m", raise_at=50)
    assert feed(eng, [50, 49.999]) == [["Raised"], ["Cleared"]]


def test_threshold_below_raises_at_or_under_and_clears_above_clear_above():
    eng = engine(kind="threshold", metric="m", direction="below", raise_at=10, clear_above=15)
    assert feed(eng, [10.01, 10, 15, 9, 15.01]) == [[], ["Raised"], [], ["Updated"], ["Cleared"]]


def test_threshold_without_auto_clear_rearms_silently():
    eng = engine(kind="threshold", metric="m", raise_at=50, auto_clear=False)
    assert feed(eng, [60, 10, 60]) == [["Raised"], [], ["Raised"]]


def test_duplicates_and_late_readings_do_not_move_a_threshold():
    eng = engine(kind="threshold", metric="m", raise_at=50)
    assert kinds(eng.evaluate(reading(60, 10, seq=5))) == ["Raised"]
    assert eng.evaluate(reading(60, 10, seq=5)) == []  # the same reading again
    assert eng.evaluate(reading(10, 5, seq=4)) == []  # older: would have cleared
    assert eng.evaluate(reading(10, 10, seq=4)) == []  # same time, lower seq
    assert kinds(eng.evaluate(reading(70, 10, seq=6))) == ["Updated"]  # same time, next seq
    assert eng.open_subjects("r") == ["d1"]


def test_a_rule_sees_only_the_devices_it_selects():
    eng = Engine(
        [
            parse_rule({"id": "codes", "kind": "threshold", "metric": "m", "raise_at": 1, "grade": "blue",
                        "device_codes": ["d1"]}),
            parse_rule({"id": "kinds", "kind": "threshold", "metric": "m", "raise_at": 1, "grade": "blue",
                        "device_kinds": ["gauge"]}),
            parse_rule({"id": "place", "kind": "threshold", "metric": "m", "raise_at": 1, "grade": "blue",
                        "places": ["u2"], "device_kinds": ["water_level"]}),
            parse_rule({"id": "all", "kind": "threshold", "metric": "m", "raise_at": 1, "grade": "blue"}),
        ]
    )  # fmt: skip
    assert [e.rule_id for e in eng.evaluate(reading(5, 1, device="d1", kind="water_level", place="u1"))] == [
        "codes",
        "all",
    ]
    assert [e.rule_id for e in eng.evaluate(reading(5, 1, device="d2", kind="gauge", place="u2"))] == [
        "kinds",
        "all",
    ]
    assert [e.rule_id for e in eng.evaluate(reading(5, 1, device="d3", kind="water_level", place="u2"))] == [
        "place",
        "all",
    ]
    assert eng.evaluate(reading(5, 2, device="d1", metric="other")) == []


def test_rule_ids_must_be_unique():
    rule = parse_rule({"id": "x", "kind": "threshold", "metric": "m", "raise_at": 1, "grade": "blue"})
    with pytest.raises(RuleError) as caught:
        Engine([rule, rule])
    assert caught.value.field == "id"


# --- sustained ------------------------------------------------------------------------------------------


def test_sustained_raises_exactly_at_the_duration_on_a_reading():
    eng = engine(kind="sustained", metric="m", op=">=", value=30, duration_s=60)
    assert eng.evaluate(reading(35, 0, seq=0)) == []
    assert eng.evaluate(reading(35, 59.999, seq=1)) == []
    assert kinds(eng.evaluate(reading(30, 60, seq=2))) == ["Raised"]
    assert kinds(eng.evaluate(reading(31, 61, seq=3))) == ["Updated"]
    assert kinds(eng.evaluate(reading(29.9, 62, seq=4))) == ["Cleared"]
    # the streak starts again
    assert eng.evaluate(reading(40, 70, seq=5)) == []
    assert eng.evaluate(reading(40, 129, seq=6)) == []
    assert kinds(eng.evaluate(reading(40, 130, seq=7))) == ["Raised"]


def test_sustained_raises_on_a_tick_when_no_reading_breaks_the_condition():
    eng = engine(kind="sustained", metric="m", op=">", value=30, duration_s=60)
    eng.evaluate(reading(35, 0, seq=0))
    assert eng.tick(at(59.999)) == []
    assert eng.tick(at(60)) == [Raised("r", "d1", Grade.ORANGE, 35.0, at(0), at(60), 1, "u1")]
    assert eng.tick(at(61)) == []  # raised once


def test_sustained_streak_is_broken_by_a_reading_before_the_tick():
    eng = engine(kind="sustained", metric="m", op=">", value=30, duration_s=60)
    eng.evaluate(reading(35, 0, seq=0))
    eng.evaluate(reading(30, 30, seq=1))  # not > 30
    assert eng.tick(at(60)) == []
    assert eng.tick(at(89)) == []


# --- rate of change -------------------------------------------------------------------------------------


def test_rate_of_change_per_minute_over_the_window():
    eng = engine(kind="rate_of_change", metric="m", limit=1.0, window_s=600)
    assert eng.evaluate(reading(10, 0, seq=0)) == []
    assert eng.evaluate(reading(10.5, 60, seq=1)) == []  # 0.5 per minute
    raised = eng.evaluate(reading(12, 120, seq=2))  # (12 - 10) / 2 min = 1.0
    assert kinds(raised) == ["Raised"] and raised[0].value == pytest.approx(1.0)
    cleared = eng.evaluate(reading(12, 180, seq=3))  # 2 / 3 min
    assert kinds(cleared) == ["Cleared"] and cleared[0].value == pytest.approx(2 / 3)


def test_rate_of_change_forgets_samples_that_left_the_window():
    eng = engine(kind="rate_of_change", metric="m", limit=1.0, window_s=120)
    eng.evaluate(reading(0, 0, seq=0))
    eng.evaluate(reading(5, 60, seq=1))  # 5 per minute: raised
    # at 120 the sample at 0 has left (the window is (0, 120]); from 60 to 120: 0.9 per minute
    events = eng.evaluate(reading(5.9, 120, seq=2))
    assert kinds(events) == ["Cleared"] and events[0].value == pytest.approx(0.9)


def test_rate_of_change_falling():
    eng = engine(kind="rate_of_change", metric="m", limit=2, window_s=600, direction="falling")
    assert feed(eng, [100, 101, 100]) == [[], [], []]
    assert kinds(eng.evaluate(reading(90, 120, seq=9))) == ["Raised"]
    either = engine(kind="rate_of_change", metric="m", limit=2, window_s=600, direction="either")
    either.evaluate(reading(100, 0, seq=0))
    assert kinds(either.evaluate(reading(97, 60, seq=1))) == ["Raised"]


# --- no data / inactivity -------------------------------------------------------------------------------


def test_door_not_opened_in_24_hours_fires_exactly_24_hours_after_the_last_opening():
    day = 24 * 3600
    eng = engine(kind="no_data", metric="door_open", op=">=", value=1, window_s=day)
    eng.evaluate(reading(1, 0, metric="door_open", kind="door", device="door-1"))
    assert eng.tick(at(day - 0.001)) == []
    assert eng.tick(at(day)) == [Raised("r", "door-1", Grade.ORANGE, 0.0, None, at(day), 1, "u1")]
    assert eng.tick(at(day + 60)) == []
    # a closing (value 0) does not count; an opening clears
    assert eng.evaluate(reading(0, day + 100, metric="door_open", device="door-1", seq=1)) == []
    assert kinds(eng.evaluate(reading(1, day + 200, metric="door_open", device="door-1", seq=2))) == [
        "Cleared"
    ]


def test_no_data_watches_a_device_from_its_first_reading_of_any_metric():
    eng = engine(kind="no_data", metric="door_open", window_s=3600, device_kinds=["door"])
    eng.evaluate(reading(97, 0, metric="battery_pct", kind="door", device="door-1"))
    assert eng.tick(at(3599)) == []
    assert kinds(eng.tick(at(3600))) == ["Raised"]


def test_no_data_watches_listed_devices_from_the_first_tick():
    eng = engine(kind="no_data", metric="door_open", window_s=3600, device_codes=["door-9"])
    assert eng.tick(at(100)) == []
    assert eng.tick(at(3699)) == []
    assert [(e.subject, e.reading_ts) for e in eng.tick(at(3700))] == [("door-9", None)]


def test_water_use_below_a_sum_in_12_hours():
    window = 12 * 3600
    eng = engine(kind="no_data", metric="water_m3", measure="sum", below=0.01, window_s=window)
    for hour in range(12):
        assert eng.evaluate(reading(0.0008, hour * 3600, metric="water_m3", seq=hour)) == []
    # the first reading's hour has left the window; 12 × 0.0008 = 0.0096 < 0.01 over a full window
    events = eng.evaluate(reading(0.0008, window, metric="water_m3", seq=12))
    assert kinds(events) == ["Raised"] and events[0].value == pytest.approx(0.0096)
    assert kinds(eng.evaluate(reading(0.005, window + 1, metric="water_m3", seq=13))) == ["Cleared"]


def test_water_use_at_the_threshold_does_not_raise():
    eng = engine(kind="no_data", metric="water_m3", measure="sum", below=0.01, window_s=3600)
    eng.evaluate(reading(0.01, 1, metric="water_m3", seq=1))
    assert eng.tick(at(3600)) == []
    assert kinds(eng.tick(at(3601))) == ["Raised"]


def test_a_duplicated_reading_is_not_summed_twice():
    eng = engine(kind="no_data", metric="water_m3", measure="sum", below=0.01, window_s=3600)
    eng.evaluate(reading(0.0, 0, metric="water_m3", seq=0))
    eng.evaluate(reading(0.006, 10, metric="water_m3", seq=1))
    eng.evaluate(reading(0.006, 10, metric="water_m3", seq=1))
    assert kinds(eng.tick(at(3600))) == ["Raised"]


def test_water_use_as_the_delta_of_a_cumulative_meter():
    eng = engine(kind="no_data", metric="meter_m3", measure="delta", below=0.01, window_s=3600)
    eng.evaluate(reading(100.0, 0, metric="meter_m3", seq=0))
    eng.evaluate(reading(100.004, 1800, metric="meter_m3", seq=1))
    events = eng.evaluate(reading(100.008, 3600, metric="meter_m3", seq=2))
    assert kinds(events) == ["Raised"] and events[0].value == pytest.approx(0.008)
    # the baseline is the last reading at or before the window's start: 100.004 at 1800
    assert eng.evaluate(reading(100.013, 5400, metric="meter_m3", seq=3)) == []  # 0.009
    assert kinds(eng.evaluate(reading(100.015, 5401, metric="meter_m3", seq=4))) == ["Cleared"]


# --- offline ----------------------------------------------------------------------------------------------


def test_offline_after_missed_heartbeats_and_back_on_the_next_reading():
    eng = engine(kind="offline", interval_s=60, missed=3, grade="blue")
    eng.evaluate(reading(1, 0, metric="battery_pct"))
    assert eng.tick(at(179.999)) == []
    assert eng.tick(at(180)) == [Raised("r", "d1", Grade.BLUE, 180.0, at(0), at(180), 1, "u1")]
    assert eng.tick(at(400)) == []
    # a late reading from long ago does not bring it back
    assert eng.evaluate(reading(1, 100, metric="other")) == []
    assert kinds(eng.evaluate(reading(1, 401, metric="other"))) == ["Cleared"]
    assert eng.tick(at(580)) == []
    assert kinds(eng.tick(at(581))) == ["Raised"]


def test_a_listed_device_that_never_reports_goes_offline():
    eng = engine(kind="offline", interval_s=10, missed=2, device_codes=["ghost"])
    assert eng.tick(at(5)) == []
    assert eng.tick(at(24.9)) == []
    assert eng.tick(at(25)) == [Raised("r", "ghost", Grade.ORANGE, 20.0, None, at(25), 1, "")]


# --- count within a window ------------------------------------------------------------------------------


def fall(seconds, *, device="band-1", seq=None, value=1, place="u1"):
    return reading(value, seconds, device=device, kind="wearable", metric="fall", seq=seq, place=place)


@pytest.mark.parametrize(("second", "expected"), [(3599.999, ["Raised"]), (3600, [])])
def test_two_falls_in_an_hour(second, expected):
    eng = engine(kind="count_window", metric="fall", count=2, window_s=3600, op=">=", value=1)
    assert eng.evaluate(fall(0)) == []
    assert kinds(eng.evaluate(fall(second))) == expected


def test_a_duplicated_fall_is_counted_once_and_a_late_one_in_the_window_counts():
    eng = engine(kind="count_window", metric="fall", count=2, window_s=3600)
    assert eng.evaluate(fall(1000, seq=7)) == []
    assert eng.evaluate(fall(1000, seq=7)) == []  # redelivered: still one fall
    assert kinds(eng.evaluate(fall(0, seq=1))) == ["Raised"]  # late, inside (1000 - 3600, 1000]


def test_a_fall_older_than_the_window_is_not_counted():
    eng = engine(kind="count_window", metric="fall", count=2, window_s=3600)
    eng.evaluate(fall(5000, seq=9))
    assert eng.evaluate(fall(1400, seq=3)) == []  # at the window's open end: outside
    assert kinds(eng.evaluate(fall(1401, seq=4))) == ["Raised"]


def test_count_window_raises_value_and_updates_then_clears_when_the_window_moves_on():
    eng = engine(kind="count_window", metric="fall", count=2, window_s=3600, op=">=", value=1)
    assert eng.evaluate(fall(0, value=0)) == []  # does not meet the condition
    assert eng.evaluate(fall(0, seq=1)) == []
    raised = eng.evaluate(fall(10, seq=2))
    assert kinds(raised) == ["Raised"] and raised[0].value == 2.0
    assert [(type(e).__name__, e.value, e.count) for e in eng.evaluate(fall(20, seq=3))] == [
        ("Updated", 3.0, 2)
    ]
    assert eng.tick(at(3609.999)) == []  # the falls at 10 and 20 remain
    assert eng.tick(at(3610)) == [Cleared("r", "band-1", Grade.ORANGE, 1.0, at(20), at(3610), 2, "u1")]


def test_count_window_per_place_counts_devices_together():
    eng = engine(kind="count_window", metric="fall", count=2, window_s=3600, per="place")
    assert eng.evaluate(fall(0, device="cam-1", seq=1)) == []
    assert [(type(e).__name__, e.subject) for e in eng.evaluate(fall(5, device="cam-2", seq=1))] == [
        ("Raised", "u1")
    ]
    per_device = engine(kind="count_window", metric="fall", count=2, window_s=3600)
    per_device.evaluate(fall(0, device="cam-1", seq=1))
    assert per_device.evaluate(fall(5, device="cam-2", seq=1)) == []


# --- composite ------------------------------------------------------------------------------------------

FIRE = [{"metric": "smoke", "op": ">=", "value": 1}, {"metric": "temperature_c", "op": ">=", "value": 57}]


def smoke(value, seconds, place="u1", device="sm-1", seq=None):
    return reading(value, seconds, device=device, kind="smoke", metric="smoke", place=place, seq=seq)


def temperature(value, seconds, place="u1", device="tp-1", seq=None):
    return reading(
        value, seconds, device=device, kind="temperature", metric="temperature_c", place=place, seq=seq
    )


def test_composite_all_in_the_same_place_within_the_window():
    eng = engine(kind="composite", mode="all", conditions=FIRE, within_s=300, grade="red")
    assert eng.evaluate(smoke(1, 0)) == []
    assert eng.evaluate(temperature(60, 100, place="u2")) == []  # another unit
    assert eng.evaluate(temperature(50, 110)) == []  # too cool
    assert eng.evaluate(temperature(60, 120)) == [
        Raised("r", "u1", Grade.RED, 60.0, at(120), at(120), 1, "u1")
    ]
    assert kinds(eng.evaluate(temperature(65, 130))) == ["Updated"]
    # the smoke at 0 counts for (0, 300): at 300 it no longer holds
    assert eng.tick(at(299.999)) == []
    assert eng.tick(at(300)) == [Cleared("r", "u1", Grade.RED, None, None, at(300), 2, "u1")]


def test_composite_all_needs_the_conditions_within_the_coincidence_window():
    eng = engine(kind="composite", mode="all", conditions=FIRE, within_s=300)
    eng.evaluate(smoke(1, 0))
    assert eng.evaluate(temperature(60, 300)) == []


def test_composite_all_is_cleared_by_a_contradicting_reading_of_the_same_device():
    eng = engine(kind="composite", mode="all", conditions=FIRE, within_s=300)
    eng.evaluate(smoke(1, 0))
    eng.evaluate(smoke(1, 1, device="sm-2"))
    assert kinds(eng.evaluate(temperature(60, 2))) == ["Raised"]
    assert eng.evaluate(smoke(0, 3)) == []  # sm-2 still sees smoke
    assert kinds(eng.evaluate(smoke(0, 4, device="sm-2"))) == ["Cleared"]


def test_composite_any():
    eng = engine(kind="composite", mode="any", conditions=FIRE, within_s=60)
    assert eng.evaluate(temperature(20, 0)) == []
    assert kinds(eng.evaluate(smoke(1, 1))) == ["Raised"]
    assert kinds(eng.evaluate(temperature(60, 2))) == ["Updated"]
    assert eng.evaluate(smoke(0, 3)) == []  # the temperature still holds
    assert kinds(eng.evaluate(temperature(20, 4))) == ["Cleared"]


# --- crowd density --------------------------------------------------------------------------------------


def count(persons, seconds, device="cc-1", place="plaza", seq=None):
    return reading(
        persons, seconds, device=device, kind="crowd_counter", metric="person_count", place=place, seq=seq
    )


def test_crowd_density_grades_go_up_and_down_with_hysteresis_in_one_alert():
    eng = engine(kind="crowd_density", areas_m2={"plaza": 100})
    steps = [
        (199, None),
        (200, ("Raised", Grade.YELLOW)),
        (400, ("Updated", Grade.ORANGE)),
        (500, ("Updated", Grade.RED)),
        (480, ("Updated", Grade.RED)),  # 4.8 ≥ 5 − 0.25
        (474, ("Updated", Grade.ORANGE)),
        (380, ("Updated", Grade.ORANGE)),  # 3.8 ≥ 4 − 0.25
        (374, ("Updated", Grade.YELLOW)),
        (450, ("Updated", Grade.ORANGE)),
        (176, ("Updated", Grade.YELLOW)),
        (174, ("Cleared", Grade.YELLOW)),
        (600, ("Raised", Grade.RED)),
    ]
    for index, (persons, expected) in enumerate(steps):
        events = eng.evaluate(count(persons, index, seq=index))
        got = [(type(e).__name__, e.grade) for e in events]
        assert got == ([expected] if expected else []), persons
        if events:
            assert events[0].value == pytest.approx(persons / 100) and events[0].subject == "plaza"


def test_crowd_density_sums_the_counters_of_a_zone_and_ignores_zones_without_an_area():
    eng = engine(kind="crowd_density", areas_m2={"plaza": 100}, levels={"blue": 1, "red": 3})
    assert eng.evaluate(count(150, 0, device="cc-1")) == [
        Raised("r", "plaza", Grade.BLUE, 1.5, at(0), at(0), 1, "plaza")
    ]
    assert [(e.grade, e.value) for e in eng.evaluate(count(150, 1, device="cc-2"))] == [(Grade.RED, 3.0)]
    assert eng.evaluate(count(10_000, 2, place="field")) == []


def test_the_benchmark_runs_and_reports_throughput():
    from banyan.bench.rules import bench_engine

    result = bench_engine(n=3000, devices=100)
    assert result["readings"] == 3000 and result["devices"] == 100
    assert result["readings_per_s"] > 0 and result["events"] > 0 and result["rules"] == 17


def test_tick_refuses_a_naive_time():
    eng = engine(kind="offline", interval_s=10)
    with pytest.raises(ValueError, match="aware"):
        eng.tick(dt.datetime(2026, 11, 29, 8, 0))  # noqa: DTZ001
