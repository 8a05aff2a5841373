"""``banyan ingest`` against a real Mosquitto: stored once, persistent session, dead letters, Frigate.

Each test module starts its own Mosquitto (``deploy/mosquitto/banyan.conf`` with a free loopback
port and persistence in a temporary folder) and stops it by pid. The worker runs as a separate
``python -m banyan ingest`` process on a temporary SQLite file, migrated and seeded here, which
the tests read with ``sqlite3`` directly. That holds on PostgreSQL runs too: the worker's database
is always this SQLite file, so what these tests prove is the MQTT path, not the backend.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from banyan.processes.broker import start_mosquitto, stop

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]

# CI installs Mosquitto (.ci/run); without it these tests fail rather than skip.


@pytest.fixture(scope="module")
def broker(mosquitto):
    """The module's Mosquitto (Banyan's config, persistence on; ``banyan/conftest.py``): its port."""
    _process, port = mosquitto
    return port


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A migrated, minimally seeded SQLite file for the worker; yields (env, db path, devices)."""
    folder = tmp_path_factory.mktemp("ingest-site")
    database = folder / "banyan.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "BANYAN_VAR_DIR": str(folder),
        "BANYAN_AUDIT_ANCHOR": str(folder / "audit.anchor"),
        "BANYAN_LOG_LEVEL": "INFO",
    }
    for name in ("BANYAN_DATA_KEY", "BANYAN_INDEX_KEY", "BANYAN_KEY_FILE"):
        env.pop(name, None)
    banyan = [sys.executable, "-m", "banyan"]
    subprocess.run([*banyan, "migrate", "-v0"], env=env, check=True, cwd=REPO)
    subprocess.run(
        [*banyan, "seed", "--residents", "60", "--seed", "2", "--demo-password", "test-pass-2026"],
        env=env,
        check=True,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT d.code, d.kind, r.code, d.metadata FROM sensing_device d "
            "JOIN places_region r ON r.id = d.community_id WHERE d.kind IN ('water_level', 'camera') "
            "ORDER BY d.code"
        ).fetchall()
    db.close()
    devices = {
        "levels": [(code, community) for code, kind, community, _m in rows if kind == "water_level"],
        "cameras": [
            (code, community, json.loads(meta)["frigate_camera"])
            for code, kind, community, meta in rows
            if kind == "camera"
        ],
    }
    return env, database, devices


class Worker:
    def __init__(self, env: dict, port: int, client_id: str, log: Path) -> None:
        self.command = [
            sys.executable,
            "-m",
            "banyan",
            "ingest",
            "--url",
            f"mqtt://127.0.0.1:{port}",
            "--client-id",
            client_id,
            "--batch-wait-ms",
            "10",
        ]
        self.env, self.log = env, log
        self.process: subprocess.Popen | None = None

    def start(self) -> Worker:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(self.command, env=self.env, cwd=REPO, stdout=log, stderr=log)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if "ingest connected" in self.log.read_text()[offset:]:
                return self
            assert self.process.poll() is None, self.log.read_text()
            time.sleep(0.05)
        raise AssertionError(f"the worker did not connect:\n{self.log.read_text()}")

    def stop(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=15)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


async def _publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    from mqttium.api import AsyncClient

    from banyan.core.mqtt import service_login

    # Readings as the simulator's account, Frigate's events as Frigate's.
    frigate = all(topic.startswith("frigate/") for topic, _payload in messages)
    client = AsyncClient("banyan-test-publisher", **service_login("frigate" if frigate else "simulator"))
    await client.connect("127.0.0.1", port)
    try:
        for topic, payload in messages:
            receipt = await client.publish(topic, payload, qos=1)
            await receipt.wait()
    finally:
        await client.disconnect()


def publish(port: int, messages: list[tuple[str, bytes | str]]) -> None:
    asyncio.run(
        _publish(port, [(t, p.encode() if isinstance(p, str) else p) for t, p in messages]),
    )


def query(database: Path, sql: str, *params) -> list[tuple]:
    db = sqlite3.connect(database, timeout=5)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def wait_until(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def topic(community: str, code: str) -> str:
    return f"banyan/{community}/devices/{code}/readings"


def reading(value: float, ts: dt.datetime, seq: int | None = None, metric: str = "water_level_cm") -> str:
    body = {"metric": metric, "value": value, "ts": ts.isoformat()}
    if seq is not None:
        body["seq"] = seq
    return json.dumps(body)


def readings_of(database: Path, code: str, metric: str = "water_level_cm") -> list[tuple[float, str]]:
    return query(
        database,
        "SELECT r.value, r.ts FROM sensing_reading r JOIN sensing_device d ON d.id = r.device_id "
        "WHERE d.code = ? AND r.metric = ? ORDER BY r.ts",
        code,
        metric,
    )


@pytest.fixture(scope="module")
def worker(broker, site, tmp_path_factory):
    env, _database, _devices = site
    running = Worker(env, broker, "banyan-test-main", tmp_path_factory.mktemp("logs") / "ingest.log").start()
    yield running
    if running.running:
        running.stop()


def now() -> dt.datetime:
    return dt.datetime.now(tz=dt.UTC).replace(microsecond=0)


def test_readings_are_stored_once_even_when_published_twice(broker, site, worker):
    _env, database, devices = site
    code, community = devices["levels"][0]
    start = now() - dt.timedelta(minutes=5)
    single = reading(41.5, start, seq=1)
    batch = json.dumps(
        [json.loads(reading(42.0, start + dt.timedelta(seconds=s), seq=1 + s)) for s in (1, 2)]
    )
    publish(broker, [(topic(community, code), single), (topic(community, code), batch)])
    publish(broker, [(topic(community, code), single), (topic(community, code), batch)])  # duplicates

    assert wait_until(lambda: len(readings_of(database, code)) >= 3)
    time.sleep(0.3)  # the duplicates were delivered too; nothing more may appear
    assert [value for value, _ts in readings_of(database, code)] == [41.5, 42.0, 42.0]
    assert query(database, "SELECT last_seq, status FROM sensing_device WHERE code = ?", code) == [
        (3, "online")
    ]
    assert worker.running


def test_bad_messages_are_dead_lettered_and_the_worker_goes_on(broker, site, worker):
    _env, database, devices = site
    code, community = devices["levels"][1]
    ts = now() - dt.timedelta(minutes=4)
    before = query(database, "SELECT count(*) FROM sensing_deadletter")[0][0]
    publish(
        broker,
        [
            (topic(community, code), "{not json"),
            (topic(community, "NO-SUCH-DEVICE"), reading(1.0, ts)),
            (topic(community, code), reading(1e9, ts)),  # a water level of 10,000 km
            (topic(community, code), reading(55.0, ts, seq=7)),
        ],
    )

    assert wait_until(lambda: readings_of(database, code)) == [(55.0, ts.strftime("%Y-%m-%d %H:%M:%S"))]
    letters = query(
        database,
        "SELECT source, reason, device_code FROM sensing_deadletter ORDER BY id LIMIT -1 OFFSET ?",
        before,
    )
    assert sorted(letters) == sorted(
        [
            ("mqtt", "bad_json", code),
            ("mqtt", "unknown_device", "NO-SUCH-DEVICE"),
            ("mqtt", "out_of_range", code),
        ]
    )
    assert worker.running


def test_frigate_events_become_camera_readings(broker, site, worker):
    _env, database, devices = site
    code, _community, camera = devices["cameras"][0]
    start = now() - dt.timedelta(minutes=3)
    person = {
        "id": f"{start.timestamp()}-abcdef",
        "camera": camera,
        "label": "person",
        "false_positive": False,
        "start_time": start.timestamp(),
        "frame_time": start.timestamp() + 1,
        "current_zones": ["gate"],
    }
    fall = {
        **person,
        "id": f"{start.timestamp()}-fallen",
        "label": "fall",
        "frame_time": start.timestamp() + 2,
    }
    stranger = {**person, "id": "1-unknwn", "camera": "cam_nowhere"}
    events = [
        {"type": "new", "before": {}, "after": person},
        {"type": "new", "before": {}, "after": fall},
        {"type": "update", "before": fall, "after": {**fall, "frame_time": start.timestamp() + 3}},
        {"type": "end", "before": person, "after": {**person, "end_time": start.timestamp() + 4}},
        {"type": "new", "before": {}, "after": stranger},
    ]
    publish(broker, [("frigate/events", json.dumps(event)) for event in events])

    assert wait_until(lambda: len(readings_of(database, code, "person_count")) >= 2)
    assert wait_until(lambda: readings_of(database, code, "fall"))
    time.sleep(0.2)
    assert [value for value, _ts in readings_of(database, code, "person_count")] == [1.0, 0.0]
    assert [value for value, _ts in readings_of(database, code, "fall")] == [1.0]  # one fall, not two
    assert query(database, "SELECT reason, device_code FROM sensing_deadletter WHERE source = 'frigate'") == [
        ("unknown_device", "cam_nowhere")
    ]


def test_readings_published_while_the_worker_is_down_arrive_when_it_returns(broker, site, worker, tmp_path):
    env, database, devices = site
    code, community = devices["levels"][0]  # at other times than the first test's
    # The module's worker would store what this test publishes while "its" worker is down.
    worker.stop()
    try:
        _restart_delivers_the_queue(env, database, broker, code, community, tmp_path)
    finally:
        worker.start()


def _restart_delivers_the_queue(env, database, broker, code, community, tmp_path) -> None:
    worker = Worker(env, broker, "banyan-test-restart", tmp_path / "ingest.log").start()
    worker.stop()  # the broker keeps its session and queues for it from now on

    start = now() - dt.timedelta(minutes=30)
    publish(
        broker,
        [
            (topic(community, code), reading(float(i), start + dt.timedelta(seconds=i), seq=i))
            for i in range(50)
        ],
    )

    def queued():
        return [
            value for value, ts in readings_of(database, code) if ts < str(start + dt.timedelta(minutes=1))
        ]

    assert queued() == []
    worker.start()
    try:
        assert wait_until(lambda: len(queued()) >= 50)
        time.sleep(0.2)
        assert queued() == [float(i) for i in range(50)]
    finally:
        worker.stop()


def test_a_high_water_level_raises_an_alert_and_a_low_one_clears_it(broker, site, worker):
    """The worker puts new readings through the seeded rules (water level ≥ 50 cm → orange)."""
    _env, database, devices = site
    code, community = devices["levels"][0]  # never above 50 cm in the other tests (levels[1] is)
    start = now() + dt.timedelta(seconds=120)  # newer than any reading the other tests sent

    def alerts():
        return query(
            database,
            "SELECT grade, status, last_value FROM warning_alert WHERE subject = ? ORDER BY id",
            code,
        )

    with EventListener(broker, f"banyan/{community}/events/#") as events:
        publish(broker, [(topic(community, code), reading(62.0, start, seq=1000))])
        assert wait_until(lambda: ("orange", "open", 62.0) in alerts())
        publish(broker, [(topic(community, code), reading(30.0, start + dt.timedelta(seconds=30), seq=1001))])
        assert wait_until(lambda: alerts() and alerts()[-1][1] == "cleared")
        assert [a for a in alerts() if a[1] in ("open", "acknowledged")] == []
        assert query(database, "SELECT COUNT(*) FROM warning_enginecheckpoint")[0][0] >= 1
        # The cockpit's feed: both transitions on MQTT, with codes and times but no personal data.
        assert wait_until(lambda: len([e for e in events.received if e[1]["subject"] == code]) >= 2)
        # Publishing the raise is its first push: recorded at the worker's next tick.
        times = "SELECT reading_at, raised_at, pushed_at FROM warning_alert WHERE subject = ? ORDER BY id"
        assert wait_until(lambda: query(database, times, code)[-1][2] is not None)
        reading_at, raised_at, pushed_at = query(database, times, code)[-1]
        # (This test's readings are 2 minutes ahead of the clock, so raised_at is too.)
        assert reading_at == raised_at == str(start).replace("+00:00", "")
        assert (
            str(now() - dt.timedelta(minutes=1))
            < pushed_at + "+00:00"
            <= str(now() + dt.timedelta(seconds=1))
        )
    mine = [(t, e["event"], e["grade"], e["status"]) for t, e in events.received if e["subject"] == code]
    assert mine == [
        (f"banyan/{community}/events/alert.raised", "alert.raised", "orange", "open"),
        (f"banyan/{community}/events/alert.cleared", "alert.cleared", "orange", "cleared"),
    ]
    # Sent by the bus bridge on ingest's own connection (one publisher for every process): signed,
    # with the bridge's origin, and exactly the registered alert payload besides.
    from banyan.core.events import REGISTRY, EventName

    keys = set(REGISTRY[EventName.ALERT_RAISED].fields) | {"event", "origin", "sig", "nonce", "sent"}
    for _topic, event in events.received:
        if event["subject"] == code:
            assert set(event) == keys and event["origin"] and event["sig"]


class EventListener:
    """Subscribes in a thread of its own and keeps ``(topic, decoded payload)`` of what arrives."""

    def __init__(self, port: int, pattern: str) -> None:
        self.port, self.pattern = port, pattern
        self.received: list[tuple[str, dict]] = []
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._listen()), daemon=True)

    async def _listen(self) -> None:
        from mqttium.api import AsyncClient

        from banyan.core.mqtt import service_login

        client = AsyncClient("banyan-test-events", clean_start=True, **service_login("bus"))
        await client.connect("127.0.0.1", self.port)
        await client.subscribe(self.pattern, qos=1)
        self._ready.set()

        async def consume() -> None:
            async for message in client.messages():
                self.received.append((message.topic, json.loads(message.payload)))

        consumer = asyncio.create_task(consume())
        while not self._stop.is_set():
            await asyncio.sleep(0.05)
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
        await client.disconnect()

    def __enter__(self) -> EventListener:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)


def test_the_worker_outlives_a_broker_restart(site, tmp_path):
    """The broker goes away and comes back (its data kept): the worker reconnects and goes on."""
    env, database, devices = site
    code, community = devices["levels"][1]
    folder = Path(tempfile.mkdtemp(prefix="banyan-test-mqtt-restart-"))
    process, port = start_mosquitto(folder)
    try:
        worker = Worker(env, port, "banyan-test-broker-restart", tmp_path / "ingest.log").start()
        try:
            start = now() - dt.timedelta(minutes=20)
            publish(port, [(topic(community, code), reading(21.0, start))])
            assert wait_until(lambda: (21.0, str(start).replace("+00:00", "")) in readings_of(database, code))
            stop(process)
            time.sleep(1.0)
            process, _same = start_mosquitto(folder, port=port)
            later = start + dt.timedelta(seconds=1)
            publish(port, [(topic(community, code), reading(22.0, later))])
            assert wait_until(
                lambda: (22.0, str(later).replace("+00:00", "")) in readings_of(database, code), timeout=30
            ), (tmp_path / "ingest.log").read_text()
            assert worker.running
            assert "reconnecting" in (tmp_path / "ingest.log").read_text()
        finally:
            worker.stop()
    finally:
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)
