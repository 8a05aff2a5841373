"""``banyan simulate`` → a real Mosquitto → ``banyan ingest``: readings stored, a forced event alerted.

Reuses the broker fixture and worker helper of the ingest tests (a Mosquitto of our own on a free
loopback port, the worker as a separate process on a temporary SQLite file).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from banyan.sensing.tests.test_ingest_mqtt import REPO, Worker, broker, query, wait_until

pytestmark = pytest.mark.slow

__all__ = ["broker"]  # the module-scoped Mosquitto fixture


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A migrated SQLite file seeded like the test database (it has SOS buttons); yields (env, path)."""
    folder = tmp_path_factory.mktemp("simulate-site")
    database = folder / "banyan.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "BANYAN_VAR_DIR": str(folder),
        "BANYAN_AUDIT_ANCHOR": str(folder / "audit.anchor"),
        "BANYAN_LOG_LEVEL": "INFO",
    }
    for name in ("BANYAN_DATA_KEY", "BANYAN_INDEX_KEY", "BANYAN_KEY_FILE", "BANYAN_MQTT_URL"):
        env.pop(name, None)
    banyan = [sys.executable, "-m", "banyan"]
    subprocess.run([*banyan, "migrate", "-v0"], env=env, check=True, cwd=REPO)
    subprocess.run(
        [*banyan, "seed", "--residents", "400", "--seed", "7", "--demo-password", "test-pass-2026"],
        env=env,
        check=True,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return env, database


def test_one_round_of_the_fleet_is_stored_and_a_forced_sos_raises_a_red_alert(broker, site, tmp_path):
    env, database = site
    devices = query(database, "SELECT count(*) FROM sensing_device WHERE status != 'maintenance'")[0][0]
    worker = Worker(env, broker, "banyan-test-simulate", tmp_path / "ingest.log").start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "banyan", "simulate", "--url", f"mqtt://127.0.0.1:{broker}"]
            + ["--once", "--event", "sos", "--seed", "3"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        sos = re.search(r"event sos on (SOS-\d+): an SOS button pressed \(expect a red alert\)", done.stdout)
        published = re.search(r"published (\d+) messages, (\d+) readings", done.stdout)
        assert sos and published, done.stdout
        assert int(published.group(1)) == devices  # one message per device
        readings = int(published.group(2))

        assert wait_until(lambda: query(database, "SELECT count(*) FROM sensing_reading")[0][0] == readings)
        alerts = wait_until(
            lambda: query(
                database,
                "SELECT a.subject, a.grade, a.status, r.kind FROM warning_alert a "
                "JOIN warning_rule r ON r.id = a.rule_id",
            )
        )
        assert alerts == [(sos.group(1), "red", "open", "threshold")]
        assert query(database, "SELECT count(*) FROM sensing_deadletter") == [(0,)]
        assert query(database, "SELECT count(*) FROM sensing_device WHERE status = 'offline'") == [(0,)]
    finally:
        worker.stop()
