"""``banyan ingest`` under failure, on a real Mosquitto and the suite's real database backend.

The issue's acceptance tests:

- 100,000 readings, the worker killed with SIGKILL at 10 random moments while it consumes and
  restarted each time (same client id, so the broker's session resumes): every reading is stored
  exactly once, and the alerts are exactly those an uninterrupted evaluation gives;
- the database unavailable for 30 s while readings keep coming: the worker stays up, acknowledges
  nothing it could not store (the broker keeps it), catches up, and loses and duplicates nothing.

Each test starts its own Mosquitto (``deploy/mosquitto/banyan.conf``, persistence on, free loopback
port) and a database the worker process shares with the test: on SQLite a file; on PostgreSQL a
database created on the suite's server for the SIGKILL test, and a cluster of the test's own (initdb,
pg_ctl on a free port) for the outage, which is stopped for real. On SQLite the outage is an exclusive
lock held on the file. The stream is seeded: ``BANYAN_RELIABILITY_SEED=<n>`` replays the seed a failed
run printed (the kill moments depend on timing as well, so a replay is close, not identical).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import glob
import json
import os
import pwd
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from banyan.processes.broker import free_port, start_mosquitto
from banyan.sensing.mqtt_accounts import BrokerAccount, mosquitto_hash, service_accounts
from banyan.sensing.tests import reliability
from banyan.sensing.tests.test_ingest_mqtt import REPO, Worker

pytestmark = pytest.mark.slow

KILLS = 10
TOTAL = 100_000
OUTAGE_S = 30.0


# --- fixtures: seed, broker, databases, workers -------------------------------------------------


@pytest.fixture
def seed():
    """The stream's and the kill moments' seed: random, printed (shown when the test fails)."""
    value = int(os.environ.get("BANYAN_RELIABILITY_SEED") or random.SystemRandom().randrange(2**31))
    print(f"BANYAN_RELIABILITY_SEED={value}")
    return value


MONITOR_PASSWORD = "reliability-monitor"


def _monitor() -> BrokerAccount:
    """An account that may only read the broker's ``$SYS`` figures."""
    return BrokerAccount("banyan-test-monitor", mosquitto_hash(MONITOR_PASSWORD), (("read", "$SYS/#"),))


def _folder_for(user: str, prefix: str) -> Path:
    """A temporary folder ``user`` owns when the tests run as root (servers started as root drop to
    their own user, who cannot enter pytest's folders)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        owner = pwd.getpwnam(user)
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    return folder


@pytest.fixture
def broker():
    """Mosquitto with Banyan's config (persistence on, in a folder it can write) on a free port."""
    folder = _folder_for("mosquitto", "banyan-reliability-mqtt-")
    try:
        process, port = start_mosquitto(folder, accounts=[*service_accounts(simulator=True), _monitor()])
        yield port
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _vendor() -> str:
    from django.db import connection

    return connection.vendor


class Site:
    """A database the worker and the test share: seeded with the site, queried directly."""

    def __init__(self, url: str, folder: Path, port: int, *, sqlite: Path | None = None) -> None:
        self.url = url
        self.sqlite = sqlite
        self.cycles = 0  # high stretches per device in the stream
        self.env = {
            **os.environ,
            "DATABASE_URL": url,
            "BANYAN_VAR_DIR": str(folder),
            "BANYAN_AUDIT_ANCHOR": str(folder / "audit.anchor"),
            "BANYAN_MQTT_URL": f"mqtt://127.0.0.1:{port}",
            "BANYAN_LOG_LEVEL": "INFO",
        }
        for name in ("BANYAN_DATA_KEY", "BANYAN_INDEX_KEY", "BANYAN_KEY_FILE"):
            self.env.pop(name, None)
        self.specs: list[dict] = []

    def seed(self, folder: Path, devices: int) -> Site:
        out = folder / "rules.json"
        subprocess.run(
            [sys.executable, "-m", "banyan.sensing.tests.reliability", "seed", str(out), str(devices)],
            env=self.env,
            cwd=REPO,
            check=True,
        )
        self.specs = json.loads(out.read_text())
        return self

    def rows(self, sql: str) -> list[tuple]:
        if self.sqlite is not None:
            db = sqlite3.connect(self.sqlite, timeout=30)
            try:
                return db.execute(sql).fetchall()
            finally:
                db.close()
        import psycopg

        with psycopg.connect(self.url.replace("postgres://", "postgresql://", 1), autocommit=True) as db:
            return db.execute(sql).fetchall()

    def count(self) -> int:
        return self.rows("SELECT COUNT(*) FROM sensing_reading")[0][0]


def _sqlite_site(folder: Path, port: int) -> Site:
    path = folder / "worker.sqlite3"
    return Site(f"sqlite:///{path}", folder, port, sqlite=path)


def _server_url(name: str) -> str:
    """The suite's PostgreSQL server, database ``name``."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(("postgresql", parts.netloc, f"/{name}", "", ""))


@pytest.fixture
def shared_site(tmp_path, broker):
    """On SQLite a file; on PostgreSQL a database of its own on the suite's server, dropped after."""
    if _vendor() != "postgresql":
        yield _sqlite_site(tmp_path, broker)
        return
    import psycopg

    name = f"banyan_reliability_{os.getpid()}"
    with psycopg.connect(_server_url("postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield Site(_server_url(name), tmp_path, broker)
    finally:
        with psycopg.connect(_server_url("postgres"), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Cluster:
    """A PostgreSQL cluster of the test's own: initdb in a temporary folder, trust auth, a free port."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
        assert found, "PostgreSQL's server programs (/usr/lib/postgresql/*/bin) are missing"
        self.bin = Path(found[-1])
        self.folder = _folder_for("postgres", "banyan-reliability-pg-")
        self.port = free_port()
        # The server refuses to run as root: then it runs as postgres.
        self.owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/banyan"
        self.running = False

    def _pg(self, program: str, *args: str) -> None:
        with open(self.folder / "commands.log", "ab") as log:
            subprocess.run(
                [*self.owner, str(self.bin / program), *args], check=True, stdout=log, stderr=log, cwd="/"
            )

    def create(self) -> None:
        self._pg("initdb", "-D", str(self.folder / "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        self.start()
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as db:
            db.execute("CREATE DATABASE banyan")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        data, log = str(self.folder / "data"), str(self.folder / "server.log")
        self._pg("pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        self._pg("pg_ctl", "-D", str(self.folder / "data"), "-m", mode, "-w", "stop")
        self.running = False

    def remove(self) -> None:
        if self.running:
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def workers():
    """Starts workers; any still running at the end is killed by its pid."""
    started: list[Worker] = []

    def start(site: Site, port: int, log: Path) -> Worker:
        worker = Worker(site.env, port, "banyan-reliability-worker", log)
        worker.command += ["--no-frigate"]
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        if worker.running:
            assert worker.process is not None
            os.kill(worker.process.pid, signal.SIGKILL)
            worker.process.wait(timeout=10)


@pytest.fixture
def publisher(broker, tmp_path):
    """Starts publishers (processes of their own); any still running at the end is killed by its pid."""
    started: list[subprocess.Popen] = []

    def start(messages: list[tuple[str, str]], rate: float = 0) -> subprocess.Popen:
        path = tmp_path / f"messages-{len(started)}.json"
        path.write_text(json.dumps(messages))
        command = [
            sys.executable,
            "-m",
            "banyan.sensing.tests.reliability",
            "publish",
            str(broker),
            str(path),
        ]
        started.append(subprocess.Popen([*command, str(rate)], cwd=REPO))
        return started[-1]

    yield start
    for process in started:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _wait(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def _kill(worker: Worker) -> None:
    assert worker.process is not None
    os.kill(worker.process.pid, signal.SIGKILL)
    worker.process.wait(timeout=10)
    worker.process = None


# --- checks -------------------------------------------------------------------------------------


def _moment(value) -> dt.datetime | None:
    """A timestamp as the database gives it (SQLite: naive UTC text) as an aware datetime."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)


def assert_stored_exactly_once(site: Site, readings: list[reliability.Reading]) -> None:
    rows = site.rows(
        "SELECT d.code, r.metric, r.ts, r.value, r.seq FROM sensing_reading r "
        "JOIN sensing_device d ON d.id = r.device_id"
    )
    stored = Counter((code, metric, _moment(ts), value, seq) for code, metric, ts, value, seq in rows)
    expected = Counter((r.device, reliability.METRIC, r.ts, r.value, r.index) for r in readings)
    twice = [key for key, times in stored.items() if times > 1]
    missing, extra = expected - stored, stored - expected
    if twice or missing or extra or len(rows) != len(readings):
        pytest.fail(
            f"{len(rows)} readings stored for {len(readings)} sent: {len(missing)} missing "
            f"(e.g. {sorted(missing)[:3]}), {len(extra)} unexpected (e.g. {sorted(extra)[:3]}), "
            f"{len(twice)} stored more than once (e.g. {twice[:3]})"
        )
    assert site.rows("SELECT COUNT(*) FROM sensing_deadletter") == [(0,)]


def assert_alerts_as_uninterrupted(site: Site, readings: list[reliability.Reading]) -> None:
    expected = reliability.expected_alerts(site.specs, readings)
    rows = site.rows(
        "SELECT rule_id, subject, grade, status, count, last_value, reading_at, raised_at, cleared_at "
        "FROM warning_alert"
    )
    stored = sorted((*row[:6], *(_moment(value) for value in row[6:])) for row in rows)
    if stored != expected:
        missing = [alert for alert in expected if alert not in stored]
        extra = [alert for alert in stored if alert not in expected]
        pytest.fail(
            f"{len(stored)} alerts stored, {len(expected)} expected; missing {missing[:5]}; "
            f"unexpected {extra[:5]}"
        )
    assert (
        site.rows(
            "SELECT rule_id, subject FROM warning_alert WHERE status IN ('open', 'acknowledged') "
            "GROUP BY rule_id, subject HAVING COUNT(*) > 1"
        )
        == []
    )
    # The stream crosses the thresholds a known number of times (by construction, not by the engine).
    orange, red, flood = (int(spec["id"]) for spec in site.specs)
    by_device: dict[str, list[float]] = {}
    for reading in readings:
        by_device.setdefault(reading.device, []).append(reading.value)
    for code, values in by_device.items():
        raised = [row for row in stored if row[0] == orange and row[1] == code]
        assert len(raised) == site.cycles, (code, len(raised))
        assert [row[3] for row in raised[:-1]] == ["cleared"] * (site.cycles - 1)
        reds = [v for v in values if v >= 80]
        if code in site.specs[1]["device_codes"] and reds:
            assert [row[3:6] for row in stored if row[0] == red and row[1] == code] == [
                ("open", len(reds), reds[-1])
            ]
        floods = [v for v in values if v >= 90]
        if len(floods) >= 5:
            assert [row[3:6] for row in stored if row[0] == flood and row[1] == code] == [
                ("open", len(floods) - 4, float(len(floods)))
            ]


# --- the tests ----------------------------------------------------------------------------------


def test_sigkill_ten_times_during_100k_readings_stores_each_once_and_alerts_as_uninterrupted(
    seed, broker, shared_site, workers, publisher, tmp_path
):
    devices, cycles = 8, 20
    site = shared_site.seed(tmp_path, devices)
    site.cycles = cycles
    start = dt.datetime.now(tz=dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)
    readings = reliability.make_stream(
        seed, devices=devices, per_device=TOTAL // devices, cycles=cycles, start=start
    )
    messages = reliability.make_messages(seed, readings)
    assert len(readings) == reliability.readings_in(messages) == TOTAL

    rng = random.Random(seed)
    # Readings stored before each kill. The last one leaves at least 20,000 to store, so that the kill
    # falls while readings still come even when the publisher has long finished and the worker drains
    # its backlog at full speed (5,000 was once stored within the up to 0.3 s wait below).
    kill_at = sorted(rng.sample(range(2_000, TOTAL - 20_000), KILLS))
    log = tmp_path / "ingest.log"
    worker = workers(site, broker, log)
    publishing = publisher(messages)
    killed_at = []
    for target in kill_at:
        _wait(lambda target=target: site.count() >= target, 120, f"{target} readings stored (seed {seed})")
        time.sleep(rng.uniform(0, 0.3))
        _kill(worker)
        killed_at.append(site.count())
        worker.start()
    print("killed after", killed_at, "readings stored")
    _wait(lambda: site.count() >= TOTAL, 180, f"all readings stored (seed {seed})")
    assert publishing.wait(timeout=60) == 0
    time.sleep(0.5)  # anything redelivered meanwhile would show now
    assert worker.running
    worker.stop()

    assert killed_at[-1] < TOTAL, killed_at  # every kill fell while readings were still coming
    assert_stored_exactly_once(site, readings)
    assert_alerts_as_uninterrupted(site, readings)


class SqliteLock:
    """The worker's SQLite file held under an exclusive lock by another connection."""

    def __init__(self, site: Site) -> None:
        assert site.sqlite is not None
        self.path = site.sqlite
        self.db: sqlite3.Connection | None = None

    def begin(self) -> None:
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.db.execute("BEGIN EXCLUSIVE")

    def end(self) -> None:
        assert self.db is not None
        self.db.execute("ROLLBACK")
        self.db.close()
        self.db = None


class ClusterStop:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def begin(self) -> None:
        self.cluster.stop("fast")

    def end(self) -> None:
        self.cluster.start()


@pytest.fixture
def outage_site(tmp_path, broker):
    """(site, outage): on PostgreSQL a cluster of the test's own, stopped for the outage; on SQLite a
    file, locked for the outage."""
    if _vendor() != "postgresql":
        site = _sqlite_site(tmp_path, broker)
        lock = SqliteLock(site)
        yield site, lock
        if lock.db is not None:
            lock.db.close()
        return
    cluster = Cluster()
    try:
        cluster.create()
        yield Site(cluster.url, tmp_path, broker), ClusterStop(cluster)
    finally:
        cluster.remove()


SYS_INTERVAL_S = 10  # Mosquitto's default sys_interval


async def _stored_messages(port: int) -> int:
    """The broker's count of the messages it holds (queued or in flight, unacknowledged), from its
    ``$SYS`` tree. Mosquitto republishes it (retained) every ``sys_interval`` when it changed, so the
    retained value read a full interval after a change reflects it."""
    from mqttium.api import AsyncClient

    client = AsyncClient(
        f"banyan-reliability-sys-{os.getpid()}", username="banyan-test-monitor", password=MONITOR_PASSWORD
    )
    await client.connect("127.0.0.1", port)
    try:
        await client.subscribe("$SYS/broker/store/messages/count", qos=0)
        async for message in client.messages():
            return int(message.payload)
    finally:
        await client.disconnect()
    raise AssertionError("no $SYS message")


def test_a_30_s_database_outage_pauses_consumption_then_catches_up_losing_nothing(
    seed, broker, outage_site, workers, publisher, tmp_path
):
    site, outage = outage_site
    devices, cycles = 4, 8
    site.seed(tmp_path, devices)
    site.cycles = cycles
    start = dt.datetime.now(tz=dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)
    readings = reliability.make_stream(seed, devices=devices, per_device=3_500, cycles=cycles, start=start)
    messages = reliability.make_messages(seed, readings)
    first, during = len(messages) * 3 // 10, len(messages) * 45 // 100
    before, meanwhile, after = messages[:first], messages[first : first + during], messages[first + during :]

    worker = workers(site, broker, tmp_path / "ingest.log")
    pid = worker.process.pid
    assert publisher(before).wait(timeout=60) == 0
    stored_before = reliability.readings_in(before)
    _wait(lambda: site.count() == stored_before, 60, "the readings sent before the outage")

    outage.begin()
    began = time.monotonic()
    try:
        assert publisher(meanwhile, rate=len(meanwhile) / 8).wait(timeout=20) == 0
        time.sleep(SYS_INTERVAL_S + 1)
        held = asyncio.run(asyncio.wait_for(_stored_messages(broker), timeout=5))
        # None of what was published during the outage was acknowledged: the broker still holds it.
        assert held >= len(meanwhile), (held, len(meanwhile))
        while time.monotonic() < began + OUTAGE_S:
            assert worker.running, log_tail(worker)
            time.sleep(0.5)
        if site.sqlite is not None:  # readers still read a locked SQLite file (WAL): nothing was written
            assert site.count() == stored_before
    finally:
        outage.end()

    assert publisher(after).wait(timeout=60) == 0
    _wait(lambda: site.count() >= len(readings), 90, f"catching up after the outage (seed {seed})")
    time.sleep(0.5)
    assert worker.running and worker.process.pid == pid, log_tail(worker)
    assert "storing a batch of" in worker.log.read_text()  # it did meet the outage
    worker.stop()

    assert_stored_exactly_once(site, readings)
    assert_alerts_as_uninterrupted(site, readings)


def log_tail(worker: Worker) -> str:
    return "\n".join(worker.log.read_text().splitlines()[-30:])
