"""Issue 14's contract, on a real Mosquitto and a running ingest worker: withdrawing a resident's
care-monitoring consent (``POST /api/v1/residents/{id}/consents/{consent_id}/withdraw``) stops storage
and evaluation of their devices' readings within 5 s of the answer, ``GET /api/v1/devices/{id}/readings``
then lists nothing newer than the withdrawal, no rule fires, and granting consent again resumes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import threading
import time

import pytest

pytestmark = pytest.mark.slow

CONTRACT_S = 5.0


class InProcessIngest:
    """``banyan ingest`` for one community in a thread of the test (its own database connection)."""

    def __init__(self, port: int, community: str) -> None:
        from banyan.processes.wiring import rule_pipeline
        from banyan.sensing.ingest.worker import IngestConfig, IngestWorker
        from banyan.sensing.ingest.writer import BatchWriter

        config = IngestConfig(
            url=f"mqtt://127.0.0.1:{port}",
            client_id="banyan-test-consent-ingest",
            community=community,
            frigate=False,
            batch_wait_s=0.01,
            tick_s=0.2,
            offline_sweep_s=3600.0,
        )
        self.worker = IngestWorker(config, BatchWriter(community=community, rules_factory=rule_pipeline))
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        await self.worker.run()

    def __enter__(self) -> InProcessIngest:
        # Readings published before the worker subscribed would be lost (its session is new): wait
        # for "ingest connected", logged once the subscription stands.
        connected = threading.Event()

        class Seen(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if "connected" in record.getMessage():
                    connected.set()

        log = logging.getLogger("banyan.ingest")
        handler, level = Seen(logging.INFO), log.level
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        try:
            self.thread.start()
            assert connected.wait(15), "the ingest worker did not connect"
        finally:
            log.removeHandler(handler)
            log.setLevel(level)
        return self

    def __exit__(self, *exc) -> None:
        deadline = time.monotonic() + 10
        while self.loop is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self.worker.stop)
        self.thread.join(20)
        assert not self.thread.is_alive()


def publish(port: int, topic: str, items: list[dict]) -> None:
    from mqttium.api import AsyncClient

    from banyan.core.mqtt import service_login

    async def send() -> None:
        client = AsyncClient("banyan-test-consent-meter", clean_start=True, **service_login("simulator"))
        await client.connect("127.0.0.1", port)
        try:
            receipt = await client.publish(topic, json.dumps(items).encode(), qos=1)
            await receipt.wait()
        finally:
            await client.disconnect()

    asyncio.run(send())


def wait_for(check, what: str, ingest: InProcessIngest, timeout: float = 15.0):
    from banyan.sensing.models import DeadLetter

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    letters = list(DeadLetter.objects.values_list("reason", "detail"))
    raise AssertionError(f"timed out waiting for {what}: {ingest.worker.counters}, dead letters {letters}")


@pytest.mark.django_db(transaction=True)
def test_withdrawal_stops_storage_and_rules_within_5_s_and_granting_again_resumes(mosquitto):
    from banyan.conftest import ApiClient
    from banyan.core import clock
    from banyan.people.choices import ConsentScope
    from banyan.people.models import User
    from banyan.sensing.consent import readings_dropped
    from banyan.sensing.models import Device
    from banyan.tests_browser.support import ensure_seeded
    from banyan.warning.models import Alert, Rule
    from banyan.warning.tests.conftest import make_rule

    ensure_seeded()
    _process, port = mosquitto
    meter = (
        Device.objects.filter(
            kind="water_meter",
            resident__consents__scope=ConsentScope.CARE_MONITORING,
            resident__consents__withdrawn_at__isnull=True,
        )
        .select_related("community", "resident")
        .order_by("code")
        .first()
    )
    resident = meter.resident
    Rule.objects.update(is_active=False)  # only this test's rule
    rule = make_rule(
        meter.community,
        metric="flow_m3h",
        raise_at=5,
        clear_below=1,
        device_codes=[meter.code],
        auto_clear=True,
    )
    director = ApiClient(User.objects.get(username="director"))
    topic = f"banyan/{meter.community.code}/devices/{meter.code}/readings"
    readings_url = f"/api/v1/devices/{meter.pk}/readings"

    def send(flow: float) -> dt.datetime:
        ts = clock.now().replace(microsecond=0) + dt.timedelta(seconds=send.count)
        send.count += 1
        publish(port, topic, [{"metric": "flow_m3h", "value": flow, "ts": ts.isoformat()}])
        return ts

    send.count = 0

    def stored_at(ts: dt.datetime) -> bool:
        items = director.get(readings_url).json()["items"]
        return any(dt.datetime.fromisoformat(item["ts"]) == ts for item in items)

    with InProcessIngest(port, meter.community.code) as ingest:
        before = send(0.5)
        wait_for(lambda: stored_at(before), "a reading while consent is in force", ingest)

        consent = resident.consents.get(scope=ConsentScope.CARE_MONITORING, withdrawn_at__isnull=True)
        answer = director.post(f"/api/v1/residents/{resident.pk}/consents/{consent.pk}/withdraw")
        assert answer.status_code == 200, answer.content
        withdrawn_at = dt.datetime.fromisoformat(answer.json()["withdrawn_at"])
        answered = time.monotonic()

        # Right after the answer: dropped, or stored in the gate's moment of not knowing and then
        # deleted (and counted) as newer than the withdrawal.
        sent_after = [send(0.7)]
        time.sleep(max(0.0, CONTRACT_S - (time.monotonic() - answered)))
        sent_after += [send(9.5), send(8.0)]  # 5 s after the answer, they would raise the rule's alert
        wait_for(
            lambda: readings_dropped(devices=[meter]) >= len(sent_after),
            "the readings counted as dropped",
            ingest,
        )

        items = director.get(readings_url).json()["items"]
        assert items, "the reading from before the withdrawal is still listed"
        assert all(dt.datetime.fromisoformat(item["ts"]) <= withdrawn_at for item in items)
        assert not Alert.objects.filter(rule=rule).exists()
        assert director.get(f"/api/v1/devices/{meter.pk}").json()["status"] == "no_consent"

        again = director.post(
            f"/api/v1/residents/{resident.pk}/consents",
            {"scope": ConsentScope.CARE_MONITORING, "given_by": "self"},
        )
        assert again.status_code == 201, again.content
        time.sleep(1.0)  # the worker's consent map is refreshed every 0.25 s
        resumed = send(9.0)
        wait_for(lambda: stored_at(resumed), "a reading after consent was granted again", ingest)
        wait_for(lambda: Alert.objects.filter(rule=rule).exists(), "the rule firing again", ingest)
        assert director.get(f"/api/v1/devices/{meter.pk}").json()["status"] == "online"
