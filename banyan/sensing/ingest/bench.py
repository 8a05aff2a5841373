"""``banyan bench ingest``: the broker baseline and Banyan's ingest path, measured in one run.

The outer step (:func:`prepare`) starts a Mosquitto of its own (``deploy/mosquitto/banyan.conf``:
persistence on, queues raised) on a free loopback port and a fresh SQLite database (or the one
given), migrated and seeded. The inner step (:func:`measure`, in a ``banyan`` process pointed at
that database) runs the ingest worker in-process and a publisher as a separate process
(``benchpub``), and measures:

(a) the raw broker: publisher → a plain subscriber, no processing;
(b) Banyan: publisher → ``banyan ingest`` → readings stored (one transaction per batch, PUBACK
    after commit). The rule engine is not wired into ingest yet, so this measures storage only
    (``"path"`` in the JSON says so). Readings/s at saturation with single-reading messages and
    with messages of 100 readings, and reading→stored latency (the ``on_new_readings`` hook runs
    after the commit; minus the reading's ``ts``, set when it was sent) at 1,000/s and 5,000/s.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from banyan.core.clock import SystemClock

REPO = Path(__file__).resolve().parents[3]
CONFIG = REPO / "deploy" / "mosquitto" / "banyan.conf"
MOSQUITTO = "/usr/sbin/mosquitto"
WALL = SystemClock()  # latency is measured against the wall clock, the publisher's too


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_broker(folder: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    lines = []
    for line in CONFIG.read_text().splitlines():
        if line.startswith("listener "):
            line = f"listener {port} 127.0.0.1"
        elif line.startswith("persistence_location "):
            line = f"persistence_location {folder}/"
        lines.append(line)
    (folder / "mosquitto.conf").write_text("\n".join(lines) + "\n")
    with open(folder / "mosquitto.log", "wb") as log:
        process = subprocess.Popen([MOSQUITTO, "-c", str(folder / "mosquitto.conf")], stdout=log, stderr=log)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, port
        except OSError:
            time.sleep(0.02)
    os.kill(process.pid, signal.SIGTERM)
    raise RuntimeError("mosquitto did not start")


def prepare_and_run(*, readings: int, json_file: str | None, database_url: str | None) -> dict:
    """Broker + database, then the measuring process; returns its result."""
    with tempfile.TemporaryDirectory(prefix="banyan-bench-ingest-") as tmp:
        folder = Path(tmp)
        broker, port = start_broker(folder)
        try:
            env = {
                **os.environ,
                "DATABASE_URL": database_url or f"sqlite:///{folder}/bench.sqlite3",
                "BANYAN_VAR_DIR": str(folder),
                "BANYAN_AUDIT_ANCHOR": str(folder / "audit.anchor"),
                "BANYAN_LOG_LEVEL": "WARNING",
            }
            banyan = [sys.executable, "-m", "banyan"]
            subprocess.run([*banyan, "migrate", "-v0"], env=env, check=True)
            subprocess.run(
                [*banyan, "seed", "--residents", "300", "--seed", "3", "--demo-password", "bench-pass-2026"],
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
            os.kill(broker.pid, signal.SIGTERM)
            broker.wait(timeout=10)
    if json_file:
        Path(json_file).write_text(json.dumps(result, indent=2) + "\n")
    return result


def _devices(folder: Path) -> tuple[Path, int]:
    from banyan.sensing.kinds import KINDS
    from banyan.sensing.models import Device

    rows = []
    for code, kind, community in Device.objects.values_list("code", "kind", "community__code").order_by(
        "code"
    ):
        spec = KINDS.get(kind)
        metric = next((m for m in spec.metrics if m.maximum - m.minimum > 1), None) if spec else None
        if metric is not None:
            rows.append([community, code, metric.name, round((metric.minimum + metric.maximum) / 2, 1)])
    path = folder / "devices.json"
    path.write_text(json.dumps(rows))
    return path, len(rows)


def _publisher(port: int, devices: Path, mode: str, count: int, rate: float = 0, first: int = 0):
    return subprocess.Popen(
        [sys.executable, "-m", "banyan.sensing.ingest.benchpub", str(port), str(devices), mode, str(count)]
        + [str(rate), str(first)],
        stdout=subprocess.PIPE,
        text=True,
    )


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _raw(port: int, devices: Path, count: int) -> float:
    from mqttium import MQTTProtocolVersion
    from mqttium.api import AsyncClient

    client = AsyncClient("banyan-bench-raw", protocol=MQTTProtocolVersion.MQTTv311, clean_start=True)
    await client.connect("127.0.0.1", port)
    await client.subscribe("bench/raw", qos=1)
    publisher = _publisher(port, devices, "raw", count)
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


async def _banyan(port: int, devices: Path, readings: int) -> dict:
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
    worker = IngestWorker(config, BatchWriter(on_new_readings=on_new_readings))
    running = asyncio.create_task(worker.run())
    await asyncio.sleep(1.0)
    loop = asyncio.get_running_loop()

    async def run(mode: str, count: int, rate: float = 0, first: int = 0, latency: bool = False) -> dict:
        print(f"bench: {mode} {count}", file=sys.stderr, flush=True)
        phase.update(stored=0, latencies=[], first=0.0, last=0.0, latency=latency)
        started = time.perf_counter()
        publisher = _publisher(port, devices, mode, count, rate, first)
        await loop.run_in_executor(None, publisher.communicate)
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
            "latencies": phase["latencies"],
        }

    offset = 10_000_000
    single = await run("single", readings, first=0)
    batched = await run("batched", readings * 2, first=offset)
    at_1000 = await run("paced", 5000, rate=1000, first=2 * offset, latency=True)
    at_5000 = await run("paced", 25000, rate=5000, first=3 * offset, latency=True)
    worker.stop()
    await running
    published = readings + readings * 2 + 5000 + 25000
    stored = sum(r["stored"] for r in (single, batched, at_1000, at_5000))
    return {
        "readings_per_s": round(single["per_s"]),
        "batched_readings_per_s": round(batched["per_s"]),
        "p50_ms_at_1000": round(_percentile(at_1000["latencies"], 0.5), 2),
        "p99_ms_at_1000": round(_percentile(at_1000["latencies"], 0.99), 2),
        "p50_ms_at_5000": round(_percentile(at_5000["latencies"], 0.5), 2),
        "p99_ms_at_5000": round(_percentile(at_5000["latencies"], 0.99), 2),
        "published": published,
        "stored_new": stored,
        "redelivered_duplicates": worker.counters.duplicates,
        "batches": worker.counters.batches,
        "mean_batch_messages": round(worker.counters.messages / max(1, worker.counters.batches), 1),
    }


def measure(*, port: int, readings: int, json_file: str, machine: str) -> dict:
    from django.db import connection
    from django.db.models import Count

    from banyan.sensing.models import Reading

    folder = Path(json_file).parent
    devices, device_count = _devices(folder)
    before = Reading.objects.count()
    print("bench: raw", file=sys.stderr, flush=True)
    raw = asyncio.run(_raw(port, devices, readings))
    result = asyncio.run(_banyan(port, devices, readings))
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
        "path": "ingest -> readings stored (rule engine not yet wired into ingest: storage only)",
        "raw_readings_per_s": round(raw),
        **result,
        "lost": result["published"] - rows,
        "duplicates": duplicates,
        "devices": device_count,
        "batch_size": 1000,
        "batch_wait_ms": 10,
        "machine": machine,
    }
    Path(json_file).write_text(json.dumps(out))
    return out
