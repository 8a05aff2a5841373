"""``banyan bench ingest``: the broker baseline and Banyan's ingest path, measured in one run.

The outer step (:func:`prepare`) starts a Mosquitto of its own (``deploy/mosquitto/banyan.conf``:
persistence on, queues raised) on a free loopback port and a fresh SQLite database (or the one
given), migrated and seeded. The inner step (:func:`measure`, in a ``banyan`` process pointed at
that database) runs the ingest worker in-process and a publisher as a separate process
(``benchpub``), and measures:

(a) the raw broker: publisher → a plain subscriber, no processing;
(b) Banyan: publisher → ``banyan ingest`` → readings stored and run through the seeded rules →
    alerts persisted (one transaction per batch, PUBACK after commit) → alert events published to
    MQTT. The stream is the seeded fleet reporting values no rule minds, with every 50th reading
    sent to a water-level sensor alternately above its rule's raise level and below its clear level,
    so 2 % of readings raise or clear an alert. Readings/s at saturation with single-reading
    messages and with messages of 100 readings; and at paced 1,000/s and 5,000/s the latency from
    a reading's ``ts`` (set when it was sent) to its alert event arriving at a subscriber in the
    publisher process (``p50_ms_at_1000`` …), besides reading → stored (``stored_p50_ms_at_1000`` …).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from banyan.core.clock import SystemClock
from banyan.processes.broker import start_mosquitto, stop

WALL = SystemClock()  # latency is measured against the wall clock, the publisher's too


BENCH_ACCOUNT = "banyan-bench"  # the raw baseline's topic bench/raw, on the bench's own broker only


def start_broker(folder: Path) -> tuple[subprocess.Popen, int]:
    """Banyan's Mosquitto settings on a free loopback port, data in ``folder``: its service accounts,
    the simulator's (the publisher sends the fleet's readings as it), and one for the raw baseline."""
    from banyan.core.mqtt import service_password
    from banyan.sensing.mqtt_accounts import BrokerAccount, mosquitto_hash, service_accounts

    bench = BrokerAccount(
        BENCH_ACCOUNT, mosquitto_hash(service_password("simulator")), (("readwrite", "bench/#"),)
    )
    return start_mosquitto(folder, accounts=[*service_accounts(simulator=True), bench])


def bench_login() -> dict[str, str]:
    from banyan.core.mqtt import service_password

    return {"username": BENCH_ACCOUNT, "password": service_password("simulator")}


def prepare_and_run(*, readings: int, json_file: str | None, database_url: str | None) -> dict:
    """Broker + database, then the measuring process; returns its result."""
    from banyan.core.mqtt import key_file

    with tempfile.TemporaryDirectory(prefix="banyan-bench-ingest-") as tmp:
        folder = Path(tmp)
        broker, port = start_broker(folder)
        try:
            env = {
                **os.environ,
                "BANYAN_MQTT_KEY_FILE": str(key_file()),  # the broker's accounts, whatever BANYAN_VAR_DIR
                "DATABASE_URL": database_url or f"sqlite:///{folder}/bench.sqlite3",
                "BANYAN_VAR_DIR": str(folder),
                "BANYAN_AUDIT_ANCHOR": str(folder / "audit.anchor"),
                "BANYAN_LOG_LEVEL": "WARNING",
            }
            banyan = [sys.executable, "-m", "banyan"]
            subprocess.run([*banyan, "migrate", "-v0"], env=env, check=True)
            subprocess.run(
                [*banyan, "seed", "--residents", "3000", "--seed", "3", "--demo-password", "bench-pass-2026"],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            out = folder / "result.json"
            subprocess.run(
                [
                    *banyan,
                    "bench",
                    "ingest",
                    "--inner-port",
                    str(port),
                    "--readings",
                    str(readings),
                    "--json",
                    str(out),
                ],
                env=env,
                check=True,
            )
            result = json.loads(out.read_text())
        finally:
            stop(broker)
    if json_file:
        Path(json_file).write_text(json.dumps(result, indent=2) + "\n")
    return result


# Values no default rule minds, per metric (the bench's "normal" stream).
NORMAL = {
    "smoke_obscuration": 0.5,
    "gas_lel": 1.0,
    "water_m3": 3.2,
    "door_open": 0.0,
    "motion": 0.0,
    "heart_rate": 72.0,
    "sos": 0.0,
    "person_count": 12.0,
    "pm25": 35.0,
    "temperature_c": 22.0,
}
CROSSING_EVERY = 50


def _stream(folder: Path) -> tuple[Path, int]:
    """The devices and values of the bench stream (see the module's docstring)."""
    from banyan.sensing.models import Device
    from banyan.warning.models import Rule

    normal, crossing = [], []
    threshold = (
        Rule.objects.filter(kind="threshold", is_active=True, auto_clear=True)
        .filter(params__metric="water_level_cm")
        .first()
    )
    for code, kind, community in Device.objects.values_list("code", "kind", "community__code").order_by(
        "code"
    ):
        if kind == "water_level" and threshold is not None:
            raise_at, clear_below = threshold.params["raise_at"], threshold.params["clear_below"]
            crossing.append([community, code, "water_level_cm", raise_at + 10, clear_below - 10])
            continue
        from banyan.sensing.kinds import KINDS

        metric = next((m.name for m in KINDS[kind].metrics if m.name in NORMAL), None)
        if metric is not None:
            normal.append([community, code, metric, NORMAL[metric]])
    path = folder / "stream.json"
    path.write_text(json.dumps({"normal": normal, "crossing": crossing, "every": CROSSING_EVERY}))
    return path, len(normal) + len(crossing)


def _publisher(port: int, stream: Path, mode: str, count: int, rate: float = 0, first: int = 0):
    return subprocess.Popen(
        [sys.executable, "-m", "banyan.bench.publisher", str(port), str(stream), mode, str(count)]
        + [str(rate), str(first)],
        stdout=subprocess.PIPE,
        text=True,
    )


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _raw(port: int, stream: Path, count: int) -> float:
    from mqttium import MQTTProtocolVersion
    from mqttium.api import AsyncClient

    client = AsyncClient(
        "banyan-bench-raw", protocol=MQTTProtocolVersion.MQTTv311, clean_start=True, **bench_login()
    )
    await client.connect("127.0.0.1", port)
    await client.subscribe("bench/raw", qos=1)
    publisher = _publisher(port, stream, "raw", count)
    received = 0
    first = last = 0.0
    async for _message in client.messages():
        received += 1
        last = time.perf_counter()
        if received == 1:
            first = last
        if received >= count:
            break
    await client.disconnect()
    publisher.communicate()
    return count / (last - first) if last > first else float("nan")


async def _banyan(port: int, stream: Path, readings: int) -> dict:
    from banyan.processes.wiring import rule_pipeline
    from banyan.sensing.ingest.worker import IngestConfig, IngestWorker
    from banyan.sensing.ingest.writer import BatchWriter

    phase: dict = {"stored": 0, "latencies": [], "first": 0.0, "last": 0.0}

    def on_new_readings(new) -> None:
        at = WALL.now().timestamp()
        now = time.perf_counter()
        if not phase["stored"]:
            phase["first"] = now
        phase["stored"] += len(new)
        phase["last"] = now
        if phase.get("latency"):
            phase["latencies"] += [(at - reading.ts.timestamp()) * 1000 for _device, reading in new]

    config = IngestConfig(
        url=f"mqtt://127.0.0.1:{port}", client_id="banyan-bench-ingest", frigate=False, batch_wait_s=0.01
    )
    worker = IngestWorker(config, BatchWriter(on_new_readings=on_new_readings, rules_factory=rule_pipeline))
    running = asyncio.create_task(worker.run())
    await asyncio.sleep(1.0)
    loop = asyncio.get_running_loop()

    async def run(mode: str, count: int, rate: float = 0, first: int = 0, latency: bool = False) -> dict:
        print(f"bench: {mode} {count}" + (f" at {rate:g}/s" if rate else ""), file=sys.stderr, flush=True)
        phase.update(stored=0, latencies=[], first=0.0, last=0.0, latency=latency)
        events_before = worker.counters.events
        started = time.perf_counter()
        publisher = _publisher(port, stream, mode, count, rate, first)
        out, _err = await loop.run_in_executor(None, publisher.communicate)
        sent = json.loads(out.strip().splitlines()[-1])
        deadline = time.perf_counter() + 120
        while phase["stored"] < count and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        # Sustained rate: first commit to last, without the publisher's start-up.
        elapsed = (
            max(1e-9, phase["last"] - phase["first"]) if phase["stored"] else time.perf_counter() - started
        )
        return {
            "stored": phase["stored"],
            "per_s": phase["stored"] / elapsed,
            "stored_latencies": phase["latencies"],
            "event_latencies": sent.get("latencies", []),
            "crossings": sent["crossings"],
            "rate": sent.get("rate"),
            "events": worker.counters.events - events_before,
        }

    offset = 10_000_000
    single = await run("single", readings, first=0)
    batched = await run("batched", readings * 2, first=offset)
    at_1000 = await run("paced", 10_000, rate=1000, first=2 * offset, latency=True)
    at_5000 = await run("paced", 50_000, rate=5000, first=3 * offset, latency=True)
    worker.stop()
    await running
    phases = (single, batched, at_1000, at_5000)
    published = readings + readings * 2 + 10_000 + 50_000

    def ms(values: list[float], q: float) -> float:
        return round(_percentile(values, q), 2)

    return {
        "readings_per_s": round(single["per_s"]),
        "batched_readings_per_s": round(batched["per_s"]),
        "p50_ms_at_1000": ms(at_1000["event_latencies"], 0.5),
        "p99_ms_at_1000": ms(at_1000["event_latencies"], 0.99),
        "p50_ms_at_5000": ms(at_5000["event_latencies"], 0.5),
        "p99_ms_at_5000": ms(at_5000["event_latencies"], 0.99),
        "paced_rate_achieved_at_1000": round(at_1000["rate"]),
        "paced_rate_achieved_at_5000": round(at_5000["rate"]),
        "stored_p50_ms_at_1000": ms(at_1000["stored_latencies"], 0.5),
        "stored_p99_ms_at_1000": ms(at_1000["stored_latencies"], 0.99),
        "stored_p50_ms_at_5000": ms(at_5000["stored_latencies"], 0.5),
        "stored_p99_ms_at_5000": ms(at_5000["stored_latencies"], 0.99),
        "published": published,
        "stored_new": sum(p["stored"] for p in phases),
        "alert_crossings_sent": sum(p["crossings"] for p in phases),
        "alert_events_published": sum(p["events"] for p in phases),
        "alert_events_timed": len(at_1000["event_latencies"]) + len(at_5000["event_latencies"]),
        "alert_events_expected_timed": at_1000["crossings"] + at_5000["crossings"],
        "redelivered_duplicates": worker.counters.duplicates,
        "refused_acks": worker.counters.refused_acks,
        "batches": worker.counters.batches,
        "mean_batch_messages": round(worker.counters.messages / max(1, worker.counters.batches), 1),
    }


def measure(*, port: int, readings: int, json_file: str, machine: str) -> dict:
    from django.db import connection
    from django.db.models import Count

    from banyan.sensing.models import Reading
    from banyan.warning.models import Alert

    folder = Path(json_file).parent
    stream, device_count = _stream(folder)
    before = Reading.objects.count()
    alerts_before = Alert.objects.count()
    print("bench: raw", file=sys.stderr, flush=True)
    raw = asyncio.run(_raw(port, stream, readings))
    result = asyncio.run(_banyan(port, stream, readings))
    connection.close()
    rows = Reading.objects.count() - before
    duplicates = (
        Reading.objects.values("device_id", "metric", "ts")
        .order_by()
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    out = {
        "backend": connection.vendor,
        "path": "MQTT -> ingest -> readings stored -> rules -> alerts stored -> alert event on MQTT",
        "raw_readings_per_s": round(raw),
        **result,
        "lost": result["published"] - rows,
        "duplicates": duplicates,
        "alerts_created": Alert.objects.count() - alerts_before,
        "devices": device_count,
        "batch_size": 1000,
        "batch_wait_ms": 10,
        "machine": machine,
    }
    Path(json_file).write_text(json.dumps(out))
    return out
