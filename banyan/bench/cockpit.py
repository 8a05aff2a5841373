"""``banyan bench cockpit``: how fast the cockpit shows a red alert, loads, and stays responsive.

Everything runs on this machine, on loopback, in processes of its own: a Mosquitto (Banyan's
config) on a free port, a fresh SQLite database seeded with ``--residents`` people (and the devices
the seed gives them), ``banyan serve`` and ``banyan ingest`` on one bus over that broker
(``BANYAN_BUS=mqtt``), ``banyan simulate`` publishing the fleet's readings (the demo load), and
Debian's Chromium driven by Playwright, signed in as the community director on ``/cockpit/``.

- ``first_load_ms``: from navigation to the first live state drawn on the map and the lists
  (``window.banyanCockpit.readyAt``, the page's own clock).
- ``alert_visible_*_ms``: each trial publishes one reading that breaks a red rule (a combustible gas
  detector at 40 %LEL; each trial another detector) and times from just before publishing to the
  moment the page drew the alert (``seenSubject``; browser and bench share the machine's clock).
  The path: MQTT → ingest (stored, rules, alert written) → alert event on MQTT → the server's bus
  bridge → the live stream → the page.
- ``longest_task_ms_under_load``: the longest main-thread task the page ran (PerformanceObserver
  ``longtask``) while ``--events-per-second`` events (alerts updated, responders moved, as ingest and
  the worker publish them) arrived for ``--load-seconds``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from banyan.core.clock import SystemClock
from banyan.core.events import EventName, topic_for
from banyan.processes.broker import free_port, start_mosquitto, stop

WALL = SystemClock()
PASSWORD = "bench-pass-2026"
CHROMIUM = "/usr/bin/chromium"


def _ms() -> float:
    return WALL.now().timestamp() * 1000


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


class Publisher:
    """An MQTT client on an event loop of its own thread (Playwright's sync API holds this one's)."""

    def __init__(self, port: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client = self._call(self._connect(port))

    def _call(self, coroutine, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _connect(self, port: int):
        from mqttium.api import AsyncClient

        from banyan.core.mqtt import service_login

        # Banyan's bus account: the load stands in for other processes' events (signed below).
        client = AsyncClient("banyan-bench-cockpit", clean_start=True, **service_login("bus"))
        await client.connect("127.0.0.1", port)
        return client

    def publish(self, topic: str, body: dict) -> None:
        async def send() -> None:
            from banyan.core.mqtt import signed_event

            receipt = await self.client.publish(topic, signed_event(topic, body), qos=1)
            await receipt.wait()

        self._call(send())

    def close(self) -> None:
        self._call(self.client.disconnect())
        self.loop.call_soon_threadsafe(self.loop.stop)


def _spawn(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=out, start_new_session=True)


def _wait_for(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not happen within {seconds:.0f} s")


def _ask(env: dict, script: str):
    """Run ``script`` (which prints one line of JSON) in a Django process on the bench's database:
    this process keeps no database connection beside the browser's event loop."""
    out = subprocess.run(
        [sys.executable, "-c", "import json, django; django.setup()\n" + script],
        env={**env, "DJANGO_SETTINGS_MODULE": "banyan.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


INVENTORY = """
from banyan.places.models import Region
from banyan.people.models import Resident
from banyan.sensing.models import Device
from banyan.response.models import Responder
c = Region.objects.filter(kind="community").order_by("code").first()
gas = Device.objects.filter(community=c, kind="combustible_gas", unit__isnull=False).order_by("code")
print(json.dumps({
    "community": c.code,
    "residents": Resident.objects.count(),
    "devices": Device.objects.filter(community=c).count(),
    "gas": list(gas.values_list("code", flat=True)),
    "responders": list(Responder.objects.order_by("pk").values_list("pk", flat=True)),
}))
"""


def run(
    *,
    trials: int = 20,
    residents: int = 10_000,
    load_seconds: float = 20.0,
    events_per_second: float = 50.0,
    machine: str = "",
    progress=print,
) -> dict:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="banyan-bench-cockpit-") as tmp:
        folder = Path(tmp)
        from banyan.core.mqtt import key_file

        broker, broker_port = start_mosquitto(folder / "mosquitto")
        web_port = free_port()
        url = f"mqtt://127.0.0.1:{broker_port}"
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3",
            "BANYAN_VAR_DIR": str(folder),
            "BANYAN_AUDIT_ANCHOR": str(folder / "audit.anchor"),
            "BANYAN_MQTT_URL": url,
            "BANYAN_MQTT_KEY_FILE": str(key_file()),  # the broker's accounts, whatever BANYAN_VAR_DIR
            "BANYAN_BUS": "mqtt",
            "BANYAN_LOG_LEVEL": "WARNING",
            "BANYAN_DEMO": "1",  # a synthetic community: development keys allowed (banyan/core/deploy.py)
        }
        banyan = [sys.executable, "-m", "banyan"]
        children: list[subprocess.Popen] = []
        publisher = None
        try:
            progress(f"seeding {residents:,} residents …")
            subprocess.run([*banyan, "migrate", "-v0"], env=env, check=True)
            subprocess.run(
                [*banyan, "seed", "--residents", str(residents), "--seed", "5", "--demo-password", PASSWORD],
                env=env,
                check=True,
                capture_output=True,
            )
            inventory = _ask(env, INVENTORY)
            if len(inventory["gas"]) < trials:
                raise RuntimeError(f"only {len(inventory['gas'])} gas detectors for {trials} trials")
            ingest_env = {**env, "BANYAN_LOG_LEVEL": "INFO"}  # it says when it is connected
            children.append(_spawn([*banyan, "ingest", "--url", url], ingest_env, folder / "ingest.log"))
            children.append(_spawn([*banyan, "serve", "--port", str(web_port)], env, folder / "serve.log"))
            children.append(
                _spawn(
                    [*banyan, "simulate", "--url", url, "--seed", "5", "--speed", "10"],
                    env,
                    folder / "simulate.log",
                )
            )
            _wait_for(
                lambda: "ingest connected" in (folder / "ingest.log").read_text(errors="replace"),
                60,
                "ingest",
            )
            base = f"http://127.0.0.1:{web_port}"

            def serving() -> bool:
                import urllib.request

                try:
                    with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                        return answer.status == 200
                except OSError:
                    return False

            _wait_for(serving, 60, "banyan serve")
            publisher = Publisher(broker_port)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--headless", "--no-sandbox"]
                )
                context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="en-GB")
                page = context.new_page()
                page.goto(f"{base}/login/")
                page.fill("#id_username", "director")
                page.fill("#id_password", PASSWORD)
                page.click("main button[type=submit]")
                _enrol_second_factor(page, base)
                page.wait_for_url(f"{base}/")
                # The first load: a fresh page, timed by the page itself.
                loads = []
                for _ in range(3):
                    page.goto(f"{base}/cockpit/")
                    page.wait_for_selector(
                        "#cockpit[data-ready='1'][data-live-state='live']", state="attached", timeout=60000
                    )
                    loads.append(page.evaluate("() => window.banyanCockpit.readyAt"))
                progress(f"first load: {', '.join(f'{v:.0f}' for v in loads)} ms")
                community = inventory["community"]
                latencies = []
                for trial in range(trials):
                    code = inventory["gas"][trial]
                    topic = f"banyan/{community}/devices/{code}/readings"
                    started = _ms()
                    body = {
                        "metric": "gas_lel",
                        "value": 40.0,
                        "ts": WALL.now().isoformat(),
                        "seq": 10_000 + trial,
                    }
                    publisher.publish(topic, body)
                    page.wait_for_function(
                        f"() => window.banyanCockpit.seenSubject[{json.dumps(code)}] !== undefined",
                        timeout=30000,
                    )
                    seen = page.evaluate(f"() => window.banyanCockpit.seenSubject[{json.dumps(code)}]")
                    latencies.append(seen - started)
                    progress(f"trial {trial + 1}: {seen - started:.0f} ms")
                    page.wait_for_timeout(500)
                # Under load: events as ingest and the worker send them, at the given rate.
                alert_ids = _ask(
                    env,
                    "from banyan.warning.models import Alert\n"
                    f"codes = {inventory['gas'][:trials]!r}\n"
                    "alerts = Alert.objects.filter(subject__in=codes)\n"
                    "print(json.dumps(list(alerts.values_list('pk', flat=True))))",
                )
                page.evaluate(
                    """() => { window.__longTasks = [];
                       new PerformanceObserver(list => { for (const e of list.getEntries())
                         window.__longTasks.push(e.duration); }).observe({type: 'longtask'}); }"""
                )
                received_before = page.evaluate("() => window.banyanCockpit.events")
                sent = 0
                interval = 1.0 / events_per_second
                start = time.monotonic()
                while time.monotonic() - start < load_seconds:
                    if sent % 3 == 2 and inventory["responders"]:
                        responder = inventory["responders"][sent % len(inventory["responders"])]
                        event, payload = EventName.RESPONDER_MOVED, {"id": responder, "community": community}
                    else:
                        event, payload = (
                            EventName.ALERT_UPDATED,
                            {"id": alert_ids[sent % len(alert_ids)], "community": community},
                        )
                    publisher.publish(topic_for(event, community), {"event": event.value, **payload})
                    sent += 1
                    delay = start + sent * interval - time.monotonic()
                    if delay > 0:
                        page.wait_for_timeout(delay * 1000)
                achieved = sent / (time.monotonic() - start)
                page.wait_for_timeout(2000)
                long_tasks = page.evaluate("() => window.__longTasks")
                inside = page.evaluate(
                    "() => [window.banyanCockpit.longestRedrawMs || 0,"
                    " window.banyanCockpit.longestFigureStepMs || 0]"
                )
                received = page.evaluate("() => window.banyanCockpit.events") - received_before
                browser.close()
        finally:
            if publisher is not None:
                publisher.close()
            for child in reversed(children):
                stop(child)
            stop(broker)
    result = {
        "trials": trials,
        "alert_visible_p50_ms": round(percentile(latencies, 0.5)),
        "alert_visible_p99_ms": round(percentile(latencies, 0.99)),
        "alert_visible_max_ms": round(max(latencies)),
        "first_load_ms": round(min(loads)),
        "first_load_runs_ms": [round(v) for v in loads],
        "longest_task_ms_under_load": round(max(long_tasks), 1) if long_tasks else 0.0,
        "long_tasks_over_200ms": sum(1 for d in long_tasks if d > 200),
        "longest_redraw_ms": round(inside[0], 1),
        "longest_chart_step_ms": round(inside[1], 1),
        "events_sent_under_load": sent,
        "events_per_second_achieved": round(achieved, 1),
        "events_received_under_load": received,
        "residents": inventory["residents"],
        "devices": inventory["devices"],
        "machine": machine,
        "measured_at": dt.datetime.now(tz=dt.UTC).isoformat(timespec="seconds"),
    }
    return result


def _enrol_second_factor(page, base: str) -> None:
    """A director needs a second factor: set it up on the enrolment page as a person would, typing
    the key shown there into an authenticator (here django-otp's TOTP), then go on."""
    import base64

    from django_otp.oath import TOTP

    page.wait_for_url(f"{base}/otp/setup/**")
    key = page.text_content(".otp-key code").replace(" ", "")
    secret = base64.b32decode(key + "=" * (-len(key) % 8))
    page.fill("#id_code", f"{TOTP(secret).token():06d}")
    page.press("#id_code", "Enter")
    page.wait_for_selector(".recovery-codes")
    page.goto(f"{base}/")
