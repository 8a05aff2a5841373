"""A pure benchmark of rule evaluation alone (no broker, no database): ``bench_engine()``.

The mix is threshold-heavy, like a community's default rule set: a water-level and a smoke threshold per
device kind, a threshold per listed device, a sustained temperature rule, a count window of falls, an
offline rule over every device and a crowd density rule on two zones. Readings are built before timing
starts; the loop times ``Engine.evaluate`` only, plus one ``tick`` per simulated second.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

from banyan.warning.engine.engine import Engine, Reading
from banyan.warning.engine.rules import Rule, parse_rule

_START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
# (device kind, metric, low, high, share of devices)
_FLEET = (
    ("water_level", "water_level_cm", 0.0, 60.0, 0.3),
    ("smoke", "smoke", 0.0, 1.02, 0.3),
    ("temperature", "temperature_c", 15.0, 70.0, 0.2),
    ("wearable", "fall", 0.0, 1.01, 0.1),
    ("crowd_counter", "person_count", 0.0, 6000.0, 0.1),
)


def bench_rules(devices: int = 1000) -> list[Rule]:
    listed = [f"wl-{index:04d}" for index in range(0, devices, 10)]
    data: list[dict[str, Any]] = [
        {
            "id": "water-level",
            "kind": "threshold",
            "metric": "water_level_cm",
            "device_kinds": ["water_level"],
            "raise_at": 50,
            "clear_below": 40,
            "grade": "orange",
        },
        {
            "id": "smoke",
            "kind": "threshold",
            "metric": "smoke",
            "device_kinds": ["smoke"],
            "raise_at": 1,
            "grade": "red",
        },
        {
            "id": "heat",
            "kind": "threshold",
            "metric": "temperature_c",
            "device_kinds": ["temperature"],
            "raise_at": 60,
            "clear_below": 55,
            "grade": "yellow",
        },
        {
            "id": "heat-sustained",
            "kind": "sustained",
            "metric": "temperature_c",
            "device_kinds": ["temperature"],
            "op": ">=",
            "value": 45,
            "duration_s": 60,
            "grade": "orange",
        },
        {
            "id": "falls",
            "kind": "count_window",
            "metric": "fall",
            "device_kinds": ["wearable"],
            "op": ">=",
            "value": 1,
            "count": 2,
            "window_s": 3600,
            "grade": "red",
            "auto_clear": False,
        },
        {"id": "offline", "kind": "offline", "interval_s": 60, "missed": 3, "grade": "blue"},
        {
            "id": "crowd",
            "kind": "crowd_density",
            "metric": "person_count",
            "areas_m2": {"plaza": 2500, "field": 7000},
        },
    ]
    data += [
        {
            "id": f"basement-{code}",
            "kind": "threshold",
            "metric": "water_level_cm",
            "device_codes": [code],
            "raise_at": 30,
            "clear_below": 25,
            "grade": "yellow",
        }
        for code in listed
    ]
    return [parse_rule(item) for item in data]


def bench_readings(n: int, devices: int = 1000, rate_per_s: int = 1000, seed: int = 1) -> list[Reading]:
    rng = random.Random(seed)
    fleet: list[tuple[str, str, str, str, float, float]] = []
    for index in range(devices):
        share = index / devices
        entry = _FLEET[-1]
        for entry in _FLEET:
            if share < entry[4]:
                break
            share -= entry[4]
        kind, metric, low, high, _ = entry
        prefix = {"water_level": "wl", "crowd_counter": "cc"}.get(kind, kind[:2])
        place = ("plaza", "field")[index % 2] if kind == "crowd_counter" else f"unit-{index % 200}"
        fleet.append((f"{prefix}-{index:04d}", kind, place, metric, low, high))
    step = 1.0 / rate_per_s
    readings = []
    for seq in range(n):
        code, kind, place, metric, low, high = fleet[rng.randrange(devices)]
        value = rng.uniform(low, high)
        if metric in ("smoke", "fall"):
            value = float(value >= 1.0)
        ts = _START + dt.timedelta(seconds=seq * step)
        readings.append(Reading(code, kind, place, metric, value, ts, seq))
    return readings


def bench_engine(n: int = 200_000, devices: int = 1000) -> dict[str, Any]:
    """Evaluate ``n`` readings from ``devices`` devices (1,000 readings per simulated second) and return
    the throughput: ``{"readings", "seconds", "readings_per_s", "events", "rules", "devices"}``."""
    rules = bench_rules(devices)
    readings = bench_readings(n, devices)
    engine = Engine(rules)
    evaluate = engine.evaluate
    events = 0
    next_tick = _START
    second = dt.timedelta(seconds=1)
    started = time.perf_counter()
    for reading in readings:
        if reading.ts >= next_tick:
            events += len(engine.tick(reading.ts))
            next_tick = reading.ts + second
        events += len(evaluate(reading))
    seconds = time.perf_counter() - started
    return {
        "readings": n,
        "seconds": round(seconds, 3),
        "readings_per_s": round(n / seconds),
        "events": events,
        "rules": len(rules),
        "devices": devices,
    }


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(bench_engine()))
