"""``banyan worker`` on the bus between processes, with real processes and a Mosquitto of its own:
an alert that ``banyan ingest`` raises opens its incident at once, not at the worker's next round.

Reuses the broker fixture, the seeded SQLite site and the ingest helper of the ingest tests."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

import pytest

from banyan.sensing.tests.test_ingest_mqtt import (
    REPO,
    Worker,
    broker,
    publish,
    query,
    reading,
    site,
    topic,
    wait_until,
)

pytestmark = pytest.mark.slow

__all__ = ["broker", "site"]  # the module-scoped fixtures


def test_an_alert_raised_by_ingest_wakes_the_worker_which_opens_its_incident(broker, site, tmp_path):
    env, database, devices = site
    env = {**env, "BANYAN_BUS": "mqtt", "BANYAN_MQTT_URL": f"mqtt://127.0.0.1:{broker}"}
    ingest = Worker(env, broker, "banyan-test-worker-bus", tmp_path / "ingest.log").start()
    log = tmp_path / "worker.log"
    with open(log, "ab") as out:
        # A round a minute: only the bus can make it act sooner.
        worker = subprocess.Popen(
            [sys.executable, "-m", "banyan", "worker", "--interval", "60"],
            env=env,
            cwd=REPO,
            stdout=out,
            stderr=out,
        )
    try:
        assert wait_until(lambda: "bus bridge connected" in log.read_text(), timeout=20), log.read_text()
        time.sleep(1.5)  # the worker's first round is over; the next is a minute away
        code, community = devices["levels"][1]
        ts = dt.datetime.now(tz=dt.UTC).replace(microsecond=0)
        started = time.monotonic()
        publish(broker, [(topic(community, code), reading(64.0, ts, seq=5000))])

        def incident():
            return query(
                database,
                "SELECT i.id, i.status FROM response_incident i JOIN warning_alert a ON a.id = i.alert_id "
                "WHERE a.subject = ?",
                code,
            )

        assert wait_until(incident, timeout=20), log.read_text()
        assert time.monotonic() - started < 20, "well before the worker's next round"
        assert incident()[0][1] in ("new", "assigned")
    finally:
        worker.terminate()
        worker.wait(10)
        ingest.stop()
