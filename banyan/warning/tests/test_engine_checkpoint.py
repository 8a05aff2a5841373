"""Checkpoints: a restart from a checkpoint taken anywhere in a stream gives the same events as no restart.

Random streams from a fixed seed stand in for a property-based test: every rule kind, duplicates,
late readings and clock ticks interleaved.
"""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest

from banyan.warning.engine import CHECKPOINT_VERSION, Engine, Reading, parse_rule

T0 = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)

RULES = [
    {"id": "water", "kind": "threshold", "metric": "water_level_cm", "device_kinds": ["water_level"],
     "raise_at": 50, "clear_below": 40, "grade": "orange"},
    {"id": "battery", "kind": "threshold", "metric": "battery_pct", "direction": "below", "raise_at": 20,
     "clear_above": 30, "grade": "blue", "auto_clear": False},
    {"id": "heat", "kind": "sustained", "metric": "temperature_c", "op": ">=", "value": 50, "duration_s": 20,
     "grade": "yellow"},
    {"id": "rising", "kind": "rate_of_change", "metric": "water_level_cm", "limit": 30, "window_s": 30,
     "direction": "either", "grade": "yellow"},
    {"id": "water-use", "kind": "no_data", "metric": "water_m3", "measure": "sum", "below": 0.01,
     "window_s": 60, "grade": "orange"},
    {"id": "meter", "kind": "no_data", "metric": "meter_m3", "measure": "delta", "below": 0.5,
     "window_s": 60, "grade": "yellow"},
    {"id": "door", "kind": "no_data", "metric": "door_open", "op": ">=", "value": 1, "window_s": 40,
     "device_codes": ["dr-1", "dr-9"], "grade": "yellow"},
    {"id": "offline", "kind": "offline", "interval_s": 10, "missed": 3, "grade": "blue"},
    {"id": "ghost", "kind": "offline", "interval_s": 5, "device_codes": ["ghost-1"], "grade": "blue"},
    {"id": "falls", "kind": "count_window", "metric": "fall", "op": ">=", "value": 1, "count": 2,
     "window_s": 30, "grade": "red"},
    {"id": "falls-zone", "kind": "count_window", "metric": "fall", "count": 3, "window_s": 30,
     "per": "place", "grade": "red", "auto_clear": False},
    {"id": "fire", "kind": "composite", "mode": "all", "within_s": 15, "grade": "red",
     "conditions": [{"metric": "smoke", "op": ">=", "value": 1},
                    {"metric": "temperature_c", "op": ">=", "value": 45}]},
    {"id": "smoke-or-heat", "kind": "composite", "mode": "any", "within_s": 5, "grade": "orange",
     "conditions": [{"metric": "smoke", "op": ">=", "value": 1},
                    {"metric": "temperature_c", "op": ">=", "value": 70}]},
    {"id": "crowd", "kind": "crowd_density", "areas_m2": {"plaza": 100}},
]  # fmt: skip

# device, kind, place, metric, value generator
FLEET = [
    ("wl-1", "water_level", "u1", "water_level_cm", lambda r: r.uniform(0, 70)),
    ("wl-2", "water_level", "u2", "water_level_cm", lambda r: r.uniform(30, 60)),
    ("wl-2", "water_level", "u2", "battery_pct", lambda r: r.uniform(10, 40)),
    ("sm-1", "smoke", "u1", "smoke", lambda r: float(r.random() < 0.3)),
    ("tp-1", "temperature", "u1", "temperature_c", lambda r: r.uniform(20, 80)),
    ("wm-1", "water_meter", "u2", "water_m3", lambda r: r.choice([0.0, 0.0, 0.002, 0.02])),
    ("mt-1", "water_meter", "u2", "meter_m3", None),  # cumulative
    ("dr-1", "door", "u2", "door_open", lambda r: float(r.random() < 0.5)),
    ("wb-1", "wearable", "u1", "fall", lambda r: float(r.random() < 0.4)),
    ("wb-2", "wearable", "u1", "fall", lambda r: float(r.random() < 0.4)),
    ("cc-1", "crowd_counter", "plaza", "person_count", lambda r: r.uniform(0, 350)),
    ("cc-2", "crowd_counter", "plaza", "person_count", lambda r: r.uniform(0, 300)),
]


def rules():
    return [parse_rule(data) for data in RULES]


def stream(seed: int, steps: int = 700) -> list[tuple[str, object]]:
    """A reproducible mix of readings (some duplicated, some late) and ticks."""
    rng = random.Random(seed)
    clock = 0.0
    meter = 100.0
    sent: list[Reading] = []
    seqs: dict[tuple[str, str], int] = {}
    items: list[tuple[str, object]] = []
    for _ in range(steps):
        clock += rng.choice([0.0, 0.25, 0.5, 1.0, 2.0, 3.5])
        roll = rng.random()
        if roll < 0.15:
            items.append(("tick", T0 + dt.timedelta(seconds=clock)))
            continue
        if roll < 0.22 and sent:
            items.append(("reading", rng.choice(sent[-20:])))  # redelivered
            continue
        device, kind, place, metric, value_of = rng.choice(FLEET)
        if value_of is None:
            meter += rng.choice([0.0, 0.0, 0.1, 0.3])
            value = meter
        else:
            value = value_of(rng)
        late = rng.choice([0.0] * 9 + [rng.uniform(0, 20)])
        ts = T0 + dt.timedelta(seconds=max(clock - late, 0), microseconds=rng.randrange(1000))
        seq = seqs[(device, metric)] = seqs.get((device, metric), 0) + 1
        reading = Reading(device, kind, place, metric, value, ts, seq)
        sent.append(reading)
        items.append(("reading", reading))
    return items


def run(engine: Engine, items) -> list:
    events = []
    for what, item in items:
        events.extend(engine.evaluate(item) if what == "reading" else engine.tick(item))
    return events


SEEDS = range(12)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_restart_from_a_checkpoint_gives_the_same_events(seed):
    items = stream(seed)
    expected = run(Engine(rules()), items)
    cut = random.Random(1000 + seed).randrange(50, len(items) - 50)

    first = Engine(rules())
    before = run(first, items[:cut])
    saved = json.loads(json.dumps(first.checkpoint(), allow_nan=False))
    second = Engine.restore(rules(), saved)
    assert second.fresh_rule_ids == []
    after = run(second, items[cut:])

    assert before + after == expected
    assert after, "the stream after the cut should produce events"


@pytest.mark.parametrize("seed", SEEDS)
def test_restarting_again_and_again_gives_the_same_events(seed):
    items = stream(seed)
    expected = run(Engine(rules()), items)
    rng = random.Random(2000 + seed)
    engine = Engine(rules())
    events = []
    start = 0
    while start < len(items):
        stop = start + rng.randrange(1, 30)
        events.extend(run(engine, items[start:stop]))
        engine = Engine.restore(rules(), json.loads(json.dumps(engine.checkpoint(), allow_nan=False)))
        start = stop
    assert events == expected


def test_the_streams_exercise_every_rule_and_a_fresh_engine_would_differ():
    """Keeps the test above honest: every rule raises somewhere in the streams, and restarting without
    the checkpoint changes the events for most seeds."""
    raised_rules = set()
    kinds = set()
    differs = 0
    for seed in SEEDS:
        items = stream(seed)
        expected = run(Engine(rules()), items)
        raised_rules |= {event.rule_id for event in expected}
        kinds |= {type(event).__name__ for event in expected}
        cut = random.Random(1000 + seed).randrange(50, len(items) - 50)
        first = Engine(rules())
        before = run(first, items[:cut])
        forgetful = before + run(Engine(rules()), items[cut:])
        differs += forgetful != expected
    assert raised_rules == {data["id"] for data in RULES}
    assert kinds == {"Raised", "Updated", "Cleared"}
    assert differs >= len(SEEDS) // 2


def test_checkpoint_format():
    engine = Engine(rules())
    engine.evaluate(Reading("wl-1", "water_level", "u1", "water_level_cm", 55.0, T0, 1))
    engine.tick(T0 + dt.timedelta(seconds=1))
    saved = engine.checkpoint()
    assert saved["version"] == CHECKPOINT_VERSION
    assert saved["clock"] == (T0 + dt.timedelta(seconds=1)).timestamp()
    assert saved["rules"]["water"]["rule"]["raise_at"] == 50.0
    assert saved["rules"]["water"]["states"] == {"wl-1": ["u1", True, 1, T0.timestamp(), 1]}
    assert set(saved["rules"]["door"]["states"]) == {"dr-9", "dr-1"}  # listed: watched from the first tick
    json.dumps(saved, allow_nan=False)


def test_a_restored_engine_remembers_the_clock_of_the_last_tick():
    engine = Engine(rules())
    engine.evaluate(Reading("wl-1", "water_level", "u1", "battery_pct", 90.0, T0, 1))
    engine.tick(T0 + dt.timedelta(seconds=300))
    assert engine.open_subjects("offline") == ["wl-1"]
    restored = Engine.restore(rules(), json.loads(json.dumps(engine.checkpoint())))
    # a reading from long before the last tick does not bring the device back
    late = Reading("wl-1", "water_level", "u1", "battery_pct", 90.0, T0 + dt.timedelta(seconds=100), 2)
    assert [e.rule_id for e in restored.evaluate(late)] == []
    assert restored.open_subjects("offline") == ["wl-1"]


def test_a_restored_window_remembers_how_far_time_has_moved():
    def fall(seconds, seq):
        return Reading("wb-1", "wearable", "u1", "fall", 1.0, T0 + dt.timedelta(seconds=seconds), seq)

    engine = Engine(rules())
    engine.tick(T0 + dt.timedelta(seconds=200))
    restored = Engine.restore(rules(), json.loads(json.dumps(engine.checkpoint())))
    # "falls" counts 2 in 30 s: both of these are older than (170, 200]
    assert restored.evaluate(fall(150, 1)) == []
    assert restored.evaluate(fall(155, 2)) == []
    assert restored.open_subjects("falls") == []


def test_a_checkpoint_is_a_copy_of_the_state():
    engine = Engine(rules())
    engine.evaluate(Reading("cc-1", "crowd_counter", "plaza", "person_count", 10.0, T0, 1))
    saved = engine.checkpoint()
    engine.evaluate(Reading("cc-1", "crowd_counter", "plaza", "person_count", 500.0, T0, 2))
    assert saved["rules"]["crowd"]["states"]["plaza"][3] == {"cc-1": [T0.timestamp(), 1, 10.0]}


def test_a_changed_rule_starts_afresh_and_the_others_resume():
    engine = Engine(rules())
    engine.evaluate(Reading("wl-1", "water_level", "u1", "water_level_cm", 55.0, T0, 1))
    engine.evaluate(Reading("wm-1", "water_meter", "u2", "battery_pct", 15.0, T0, 1))
    changed = [dict(data, raise_at=10) if data["id"] == "battery" else data for data in RULES]
    restored = Engine.restore([parse_rule(data) for data in changed], engine.checkpoint())
    assert restored.fresh_rule_ids == ["battery"]
    assert restored.open_subjects("water") == ["wl-1"]
    assert restored.open_subjects("battery") == []


def test_reset_forgets_a_subject_so_the_next_reading_raises_again():
    engine = Engine(rules())
    engine.evaluate(Reading("wl-1", "water_level", "u1", "water_level_cm", 55.0, T0, 1))
    assert engine.reset("water", "wl-1") is True
    assert engine.reset("water", "wl-1") is False
    events = engine.evaluate(Reading("wl-1", "water_level", "u1", "water_level_cm", 56.0, T0, 2))
    assert [(type(e).__name__, e.rule_id) for e in events] == [("Raised", "water")]


def test_an_unknown_checkpoint_version_is_refused():
    with pytest.raises(ValueError, match="version"):
        Engine.restore(rules(), {"version": 99, "rules": {}})
