"""Parsing and kind checks: pure functions on JSON payloads, one test per class of bad input."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from banyan.sensing.kinds import HEALTH_METRICS, KINDS
from banyan.sensing.parsing import (
    ProblemCode,
    ReadingIn,
    check_against_kind,
    parse_item,
    parse_payload,
    parse_timestamp,
)

NOW = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)


def parse(payload, **kwargs):
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return parse_payload(raw, now=NOW, **kwargs)


def one_problem(payload, **kwargs):
    readings, problems = parse(payload, **kwargs)
    assert readings == []
    assert len(problems) == 1, problems
    return problems[0]


def test_one_reading_with_iso_time():
    readings, problems = parse({"metric": "water_level_cm", "value": 42.1, "ts": "2026-11-29T15:59:00+08:00"})
    assert problems == []
    assert readings == [ReadingIn("water_level_cm", 42.1, dt.datetime(2026, 11, 29, 7, 59, tzinfo=dt.UTC))]


def test_an_array_with_epoch_seconds_milliseconds_and_seq():
    epoch = NOW.timestamp() - 60
    readings, problems = parse(
        [
            {"metric": "heart_rate", "value": 72, "ts": epoch, "seq": 5},
            {"metric": "spo2", "value": 97, "ts": int(epoch * 1000), "seq": 5},
            {"metric": "fall", "value": 0, "ts": str(int(epoch)), "seq": 6, "unit": ""},
        ]
    )
    assert problems == []
    assert [r.seq for r in readings] == [5, 5, 6]
    assert {r.ts for r in readings} == {NOW - dt.timedelta(seconds=60)}
    assert all(isinstance(r.value, float) for r in readings)


def test_good_items_pass_beside_bad_ones():
    readings, problems = parse(
        [
            {"metric": "co2", "value": 600, "ts": "2026-11-29T07:00:00Z"},
            {"metric": "co2", "value": "600", "ts": "2026-11-29T07:00:00Z"},
            {"metric": "co2", "value": 610, "ts": "2026-11-29T07:01:00Z"},
        ]
    )
    assert [r.value for r in readings] == [600.0, 610.0]
    assert [(p.index, p.field, p.code) for p in problems] == [(1, "value", ProblemCode.BAD_VALUE)]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", ProblemCode.BAD_JSON),
        (b"\xff\xfe", ProblemCode.BAD_JSON),
        (b"", ProblemCode.BAD_JSON),
        (b"[]", ProblemCode.EMPTY),
    ],
)
def test_whole_payload_problems(raw, code):
    problem = one_problem(raw)
    assert (problem.index, problem.code) == (None, code)


def test_too_many_items():
    item = {"metric": "co2", "value": 1, "ts": "2026-11-29T07:00:00Z"}
    problem = one_problem([item] * 11, max_items=10)
    assert problem.code == ProblemCode.TOO_MANY


GOOD = {"metric": "water_level_cm", "value": 10, "ts": "2026-11-29T07:00:00Z", "seq": 1}


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"metric": None}, "metric", ProblemCode.MISSING_FIELD),
        ({"value": None}, "value", ProblemCode.MISSING_FIELD),
        ({"ts": None}, "ts", ProblemCode.MISSING_FIELD),
        ({"metric": "Water Level"}, "metric", ProblemCode.BAD_METRIC),
        ({"metric": 3}, "metric", ProblemCode.BAD_METRIC),
        ({"value": "10"}, "value", ProblemCode.BAD_VALUE),
        ({"value": True}, "value", ProblemCode.BAD_VALUE),
        ({"value": [1]}, "value", ProblemCode.BAD_VALUE),
        ({"value": 10**400}, "value", ProblemCode.BAD_VALUE),
        ({"ts": "yesterday"}, "ts", ProblemCode.BAD_TIMESTAMP),
        ({"ts": "2026-11-29T07:00:00"}, "ts", ProblemCode.BAD_TIMESTAMP),  # no offset
        ({"ts": 0}, "ts", ProblemCode.BAD_TIMESTAMP),  # a clock never set
        ({"ts": 1e300}, "ts", ProblemCode.BAD_TIMESTAMP),
        ({"ts": True}, "ts", ProblemCode.BAD_TIMESTAMP),
        ({"ts": "2026-11-29T08:05:01Z"}, "ts", ProblemCode.FUTURE_TIMESTAMP),
        ({"seq": -1}, "seq", ProblemCode.BAD_SEQ),
        ({"seq": 1.5}, "seq", ProblemCode.BAD_SEQ),
        ({"seq": 2**63}, "seq", ProblemCode.BAD_SEQ),
        ({"unit": 5}, "unit", ProblemCode.BAD_UNIT),
    ],
)
def test_each_bad_field_gives_its_problem(change, field, code):
    item = {**GOOD, **change}
    item = {k: v for k, v in item.items() if v is not None}
    problem = one_problem([item])
    assert (problem.index, problem.field, problem.code) == (0, field, code)
    assert problem.message


def test_not_an_object():
    problem = one_problem([42])
    assert (problem.index, problem.code) == (0, ProblemCode.NOT_A_READING)


def test_nan_and_infinity_are_refused():
    problem = one_problem(b'{"metric": "co2", "value": NaN, "ts": "2026-11-29T07:00:00Z"}')
    assert problem.code == ProblemCode.BAD_VALUE
    problem = one_problem(b'{"metric": "co2", "value": Infinity, "ts": "2026-11-29T07:00:00Z"}')
    assert problem.code == ProblemCode.BAD_VALUE


def test_future_allowance_is_a_parameter():
    item = {**GOOD, "ts": "2026-11-29T08:05:01Z"}
    readings, problems = parse(item, max_future_s=600)
    assert problems == [] and len(readings) == 1


def test_parse_timestamp_forms():
    expected = dt.datetime(2026, 11, 29, 7, 0, tzinfo=dt.UTC)
    assert parse_timestamp("2026-11-29T15:00:00+08:00") == expected
    assert parse_timestamp(expected.timestamp()) == expected
    assert parse_timestamp(int(expected.timestamp() * 1000)) == expected
    assert parse_timestamp("1999-12-31T23:59:59Z") is None
    assert parse_timestamp(None) is None


# --- kinds ---------------------------------------------------------------------------------


def reading(metric, value, unit=None):
    return ReadingIn(metric, value, NOW, None, unit)


def test_every_kind_declares_sane_metrics():
    assert set(KINDS) >= {
        "smoke", "combustible_gas", "water_level", "water_meter", "door_contact", "pir_motion",
        "wearable_band", "sos_button", "camera", "crowd_counter", "air_quality", "temperature",
    }  # fmt: skip
    for kind in KINDS.values():
        assert kind.metrics and kind.expected_interval_s > 0
        assert len(set(kind.metric_names)) == len(kind.metric_names)
        assert set(kind.event_metrics) <= set(kind.metric_names)
        for metric in kind.metrics:
            assert metric.minimum < metric.maximum, metric
    assert KINDS["wearable_band"].health_data and not KINDS["water_meter"].health_data
    assert {"heart_rate", "spo2", "fall"} <= HEALTH_METRICS


def test_a_fitting_reading_passes():
    assert check_against_kind(reading("water_level_cm", 35), KINDS["water_level"]) is None
    assert check_against_kind(reading("water_m3", 12.5, "m3"), KINDS["water_meter"]) is None
    assert check_against_kind(reading("pm25", 35, "ug/m3"), KINDS["air_quality"]) is None


def test_unknown_metric_for_the_kind():
    problem = check_against_kind(reading("heart_rate", 70), KINDS["water_meter"], index=3)
    assert (problem.index, problem.field, problem.code) == (3, "metric", ProblemCode.UNKNOWN_METRIC)
    assert "water_m3" in problem.message


def test_out_of_physical_range():
    problem = check_against_kind(reading("water_level_cm", 5000), KINDS["water_level"])
    assert (problem.field, problem.code) == ("value", ProblemCode.OUT_OF_RANGE)
    assert "5000" in problem.message
    problem = check_against_kind(reading("door_open", 2), KINDS["door_contact"])
    assert problem.code == ProblemCode.OUT_OF_RANGE


def test_health_values_stay_out_of_messages():
    problem = check_against_kind(reading("heart_rate", 312), KINDS["wearable_band"])
    assert problem.code == ProblemCode.OUT_OF_RANGE
    assert "312" not in problem.message


def test_wrong_unit():
    problem = check_against_kind(reading("temperature_c", 21, "°F"), KINDS["temperature"])
    assert (problem.field, problem.code) == ("unit", ProblemCode.WRONG_UNIT)


def test_parse_item_is_the_same_check_for_http_items():
    result = parse_item({"device": "X", **GOOD}, index=7, now=NOW)
    assert isinstance(result, ReadingIn) and result.seq == 1


def test_parse_topic():
    from banyan.sensing.parsing import parse_topic

    assert parse_topic("banyan/330102001001/devices/WM-000123/readings") == ("330102001001", "WM-000123")
    for bad in (
        "banyan/c/devices/d/status",
        "banyan//devices/d/readings",
        "banyan/c/devices/a/b/readings",
        "banyan/+/devices/d/readings",
        "other/c/devices/d/readings",
    ):
        assert parse_topic(bad) is None, bad
