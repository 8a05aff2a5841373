"""The reading stream and its expected outcome for ``test_ingest_reliability.py``.

Pure functions (no Django) build a seeded stream of water levels that crosses the rules' thresholds a
known number of times, cut it into single and batched MQTT messages, and compute the alerts an
uninterrupted evaluation gives (the engine over the stream in order, then the way ``apply_events``
turns its events into alert rows). Two steps run in processes of their own:

- ``python -m banyan.sensing.tests.reliability seed OUT.json``: migrate the database of
  ``DATABASE_URL`` and store the small site (one community, a few devices, the rules); writes the
  rules' specs with their ids to ``OUT.json``;
- ``python -m banyan.sensing.tests.reliability publish PORT MESSAGES.json [RATE]``: publish the
  messages at QoS 1 (all at once, or RATE messages per second) and exit when every PUBACK is in.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

METRIC = "water_level_cm"
KIND = "water_level"
COMMUNITY = "RL-C1"
GRID = "RL-C1-G1"
LOW, BAND, HIGH, RED = (10.0, 39.9), (40.0, 49.9), (50.0, 79.9), (80.0, 99.9)
STEP = dt.timedelta(milliseconds=250)  # between two readings of one device

# The rules of the site, as the engine's rule dicts without ids (the database gives those).
RULE_SPECS: list[dict[str, Any]] = [
    {  # hysteresis and auto-clear: raised at 50 cm, kept between 40 and 50, cleared below 40
        "name": "Water level high",
        "kind": "threshold",
        "grade": "orange",
        "auto_clear": True,
        "metric": METRIC,
        "raise_at": 50.0,
        "clear_below": 40.0,
        "device_kinds": [KIND],
    },
    {  # no auto-clear: re-armed silently below 70, a new crossing counts on the open alert
        "name": "Water level very high",
        "kind": "threshold",
        "grade": "red",
        "auto_clear": False,
        "metric": METRIC,
        "raise_at": 80.0,
        "clear_below": 70.0,
        "device_codes": ["RL-W01", "RL-W02", "RL-W03", "RL-W05"],
    },
    {  # five readings of 90 cm or more within a day
        "name": "Repeated flooding",
        "kind": "count_window",
        "grade": "yellow",
        "metric": METRIC,
        "count": 5,
        "window_s": 86400.0,
        "op": ">=",
        "value": 90.0,
        "device_kinds": [KIND],
    },
]


@dataclass(frozen=True)
class Reading:
    device: str
    index: int  # its position among the device's readings: the ``seq`` it is sent with
    value: float
    ts: dt.datetime


def device_codes(count: int) -> list[str]:
    return [f"RL-W{number:02d}" for number in range(1, count + 1)]


def topic(device: str) -> str:
    return f"banyan/{COMMUNITY}/devices/{device}/readings"


def _value(rng: random.Random, low_high: tuple[float, float]) -> float:
    return round(rng.uniform(*low_high), 1)


def levels(rng: random.Random, count: int, cycles: int, *, end_high: bool) -> list[float]:
    """``count`` water levels that rise to 50 cm or more exactly ``cycles`` times.

    The levels alternate between low stretches (the first reading below 40 cm, then below 40 or in
    the 40–50 band) and high stretches (the first at 50 cm or more, then 50–100 with dips into the
    band), so the orange rule raises exactly once per high stretch and clears once per low stretch
    that follows one. Red (80 cm and more) and flood (90 cm and more) readings occur in high stretches."""
    stretches = 2 * cycles if end_high else 2 * cycles + 1
    cuts = sorted(rng.sample(range(1, count), stretches - 1))
    lengths = [b - a for a, b in zip([0, *cuts], [*cuts, count], strict=True)]
    values: list[float] = []
    for number, length in enumerate(lengths):
        high = number % 2 == 1
        values.append(_value(rng, HIGH if high else LOW))
        for _ in range(length - 1):
            roll = rng.random()
            if high:
                values.append(_value(rng, BAND if roll < 0.15 else RED if roll < 0.25 else HIGH))
            else:
                values.append(_value(rng, BAND if roll < 0.2 else LOW))
    return values


def make_stream(
    seed: int, *, devices: int, per_device: int, cycles: int, start: dt.datetime
) -> list[Reading]:
    """Every device's readings in its own order (unique, rising ts per device)."""
    rng = random.Random(seed)
    readings = []
    for number, code in enumerate(device_codes(devices)):
        values = levels(rng, per_device, cycles, end_high=number % 2 == 0)
        readings += [Reading(code, i, value, start + i * STEP) for i, value in enumerate(values)]
    return readings


def _item(reading: Reading) -> dict[str, Any]:
    return {"metric": METRIC, "value": reading.value, "ts": reading.ts.isoformat(), "seq": reading.index}


def make_messages(seed: int, readings: list[Reading], *, single_share: float = 0.25) -> list[tuple[str, str]]:
    """Cut each device's readings into single readings and batches of 2–100, then interleave the devices
    at random, each device's messages in order: ``(topic, payload)``."""
    rng = random.Random(seed + 1)
    queues: dict[str, list[tuple[str, str]]] = {}
    by_device: dict[str, list[Reading]] = {}
    for reading in readings:
        by_device.setdefault(reading.device, []).append(reading)
    for code, own in by_device.items():
        messages = queues[code] = []
        i = 0
        while i < len(own):
            if rng.random() < single_share / (single_share + (1 - single_share) / 50):
                messages.append((topic(code), json.dumps(_item(own[i]))))
                i += 1
            else:
                size = rng.randint(2, 100)
                messages.append((topic(code), json.dumps([_item(r) for r in own[i : i + size]])))
                i += size
    interleaved = []
    positions = dict.fromkeys(queues, 0)
    while positions:
        code = rng.choice(list(positions))
        interleaved.append(queues[code][positions[code]])
        positions[code] += 1
        if positions[code] == len(queues[code]):
            del positions[code]
    return interleaved


def readings_in(messages: Iterable[tuple[str, str]]) -> int:
    return sum(len(body) if isinstance(body, list) else 1 for body in (json.loads(p) for _t, p in messages))


# --- the expected alerts ----------------------------------------------------------------------


def engine_rules(specs: list[dict[str, Any]]) -> list:
    from banyan.warning.engine import parse_rule

    return [parse_rule(spec) for spec in specs]


def expected_alerts(specs: list[dict[str, Any]], readings: list[Reading]) -> list[tuple]:
    """The alert rows an uninterrupted worker leaves: the engine over the readings in order, its events
    applied as ``banyan.warning.services.apply_events`` does. Rows are
    ``(rule id, subject, grade, status, count, last value, reading_at, raised_at, cleared_at)``."""
    from banyan.warning.engine import Cleared, Engine, Raised
    from banyan.warning.engine import Reading as EngineReading

    rules = engine_rules(specs)
    auto_clear = {rule.id: rule.auto_clear for rule in rules}
    engine = Engine(rules)
    alerts: list[dict[str, Any]] = []
    active: dict[tuple[str, str], dict[str, Any]] = {}
    for reading in readings:
        # Stored rules carry their community; the worker tags each reading with its device's.
        item = EngineReading(
            reading.device, KIND, GRID, METRIC, reading.value, reading.ts, reading.index, COMMUNITY
        )
        for event in engine.evaluate(item):
            key = (event.rule_id, event.subject)
            alert = active.get(key)
            if isinstance(event, Cleared):
                if alert is not None and auto_clear[event.rule_id]:
                    alert.update(status="cleared", cleared_at=event.at, last_value=event.value)
                    del active[key]
                continue
            if alert is not None:
                alert.update(count=alert["count"] + 1, last_value=event.value, grade=event.grade.code)
                if event.reading_ts is not None:
                    alert["reading_at"] = event.reading_ts
                continue
            if not isinstance(event, Raised):
                continue
            alert = active[key] = {
                "rule": int(event.rule_id),
                "subject": event.subject,
                "grade": event.grade.code,
                "status": "open",
                "count": 1,
                "last_value": event.value,
                "reading_at": event.reading_ts,
                "raised_at": event.at,
                "cleared_at": None,
            }
            alerts.append(alert)
    return sorted(tuple(alert.values()) for alert in alerts)


# --- seeding (in a Django process of its own) --------------------------------------------------


def seed(out: Path, devices: int) -> None:
    """Migrate, then store one community with one grid, ``devices`` water level sensors and the rules."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)

    from banyan.core import clock
    from banyan.places.models import Region
    from banyan.sensing.kinds import KINDS
    from banyan.sensing.models import Device
    from banyan.warning.models import Rule

    now = clock.now()
    parent = None
    for kind, code in (
        ("city", "RL-CITY"),
        ("district", "RL-D1"),
        ("street", "RL-S1"),
        ("community", COMMUNITY),
        ("grid", GRID),
    ):
        region = Region.objects.create(parent=parent, kind=kind, code=code, name_zh=code, name_en=code)
        region.path = Region.path_for(parent, region.pk)
        region.save(update_fields=["path"])
        parent = region
    community = Region.objects.get(code=COMMUNITY)
    for code in device_codes(devices):
        Device.objects.create(
            code=code,
            kind=KIND,
            community=community,
            grid=parent,
            expected_interval_s=KINDS[KIND].expected_interval_s,
            installed_at=now - dt.timedelta(days=30),
        )
    specs = []
    for spec in RULE_SPECS:
        columns = {key: spec[key] for key in ("name", "kind", "grade", "auto_clear") if key in spec}
        params = {key: value for key, value in spec.items() if key not in columns}
        rule = Rule(**columns, params=params, community=community, created_at=now, updated_at=now)
        rule.save()
        specs.append(rule.engine_spec())
    out.write_text(json.dumps(specs))


# --- publishing (in a process of its own) --------------------------------------------------------


async def publish(port: int, messages: list[tuple[str, str]], rate: float) -> None:
    from mqttium.api import AsyncClient, PublishMessage

    from banyan.core.mqtt import service_login

    client = AsyncClient(
        f"banyan-reliability-pub-{os.getpid()}",
        max_write_queue_bytes=16 * 1024 * 1024,
        **service_login("simulator"),
    )
    await client.connect("127.0.0.1", port)
    try:
        if not rate:
            receipt = await client.publish_many(PublishMessage(t, p.encode(), qos=1) for t, p in messages)
            await receipt.wait()
            return
        started = time.monotonic()
        receipts = []
        for sent, (t, p) in enumerate(messages):
            delay = started + sent / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            receipts.append(client.publish_nowait(t, p.encode(), qos=1))
        for receipt in receipts:
            await receipt.wait()
    finally:
        await client.disconnect()


if __name__ == "__main__":
    if sys.argv[1] == "seed":
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "banyan.settings")
        seed(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        port, path = int(sys.argv[2]), Path(sys.argv[3])
        rate = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
        asyncio.run(publish(port, [tuple(m) for m in json.loads(path.read_text())], rate))
