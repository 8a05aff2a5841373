"""``banyan demo``: migrate, seed if empty, and serve, with live readings when a broker can be had.

Live readings: a broker answering at ``BANYAN_MQTT_URL`` is used; otherwise, when Mosquitto is
installed (``/usr/sbin/mosquitto``), the demo starts its own on a free loopback port with
``deploy/mosquitto/banyan.conf`` (persistence in ``var/mosquitto/``): anonymous clients refused, the
password and ACL files written there as ``banyan mqtt sync --simulator`` would (Banyan's service
accounts, the simulator's, and the devices that have a secret). ``banyan ingest`` and
``banyan simulate`` then run as child processes beside the web server; when the demo ends they
(and the demo's own broker) are stopped by their process ids. Without a broker the demo says so
and serves without live readings. See docs/demo.md.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from banyan.care.services import create_missing_plans
from banyan.core.choices import Role
from banyan.core.deploy import DEMO_VARIABLE
from banyan.core.mqtt import parse_broker_url
from banyan.people.models import User
from banyan.processes.broker import MOSQUITTO, start_mosquitto, stop
from banyan.sensing.mqtt_accounts import device_accounts, service_accounts


class Command(BaseCommand):
    help = "Migrate, seed a synthetic community if the database is empty, and serve it with live readings."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--residents", type=int, default=3000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--demo-password", default="banyan-demo-2026")
        parser.add_argument(
            "--communities", type=int, default=1, help="seed a street of 1 to 10 communities (empty database)"
        )
        parser.add_argument("--no-simulator", action="store_true", help="serve without live readings")
        parser.add_argument("--speed", type=float, default=10.0, help="the simulator's --speed")
        parser.add_argument("--events-per-hour", type=float, default=6.0, help="the simulator's events")

    def handle(self, *args, host, port, residents, seed, demo_password, communities, **options):
        # Demo mode (banyan/core/deploy.py): the synthetic community may be served with a development
        # checkout's keys; the worker, ingest and simulator started below inherit it.
        os.environ[DEMO_VARIABLE] = "1"
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("database migrated")
        call_command(
            "seed",
            residents=residents,
            seed=seed,
            demo_password=demo_password,
            communities=communities,
            if_empty=True,
        )
        # Everyone in care has a plan from their care kind's template, as a director makes them in one
        # click at go-live: the daily check-ins and the care board have something to show.
        made = sum(
            create_missing_plans(actor=director)
            for director in User.objects.filter(role=Role.COMMUNITY_DIRECTOR, is_active=True).order_by("pk")
        )
        if made:
            self.stdout.write(f"{made} care plans made from their templates")
        # The emergency register, plans, shelters and supplies of every community (idempotent).
        call_command("emergency", "install", "--community", "all")
        children: list[tuple[str, subprocess.Popen]] = []
        try:
            url = self._broker(children)
            if url is not None:
                # One bus for the web server, the worker and ingest: the cockpit sees their events.
                settings.BANYAN_MQTT_URL, settings.BANYAN_BUS = url, "mqtt"
            children.append(("worker", self._start_worker(url)))
            if url is not None and not options["no_simulator"]:
                children += self._start_live_readings(url, seed, options["speed"], options["events_per_hour"])
            self.stdout.write(
                f"sign in at http://{host}:{port}/ as admin, director, grid01, grid02, auditor or resident01 "
                f"with the password {demo_password!r}"
            )
            # uvicorn re-raises the signal that stopped it; SIGTERM's default would end this process
            # before the children are stopped, so it ends it through SystemExit (and ``finally``).
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
            call_command("serve", host=host, port=port)
        finally:
            for name, process in reversed(
                children
            ):  # the simulator first, then ingest, the worker, the broker
                stop(process)
                self.stdout.write(f"{name} stopped")

    def _broker(self, children: list) -> str | None:
        """The broker at ``BANYAN_MQTT_URL`` if one answers, else a Mosquitto of the demo's own (added to
        ``children``), else None: the demo then serves without live readings."""
        url = settings.BANYAN_MQTT_URL
        address = parse_broker_url(url)
        if _listening(address.host, address.port):
            self.stdout.write(f"live readings through the MQTT broker at {address.host}:{address.port}")
            return url
        if not MOSQUITTO.exists():
            self.stderr.write(
                f"No MQTT broker answers at {address.host}:{address.port} (BANYAN_MQTT_URL) and Mosquitto "
                f"is not installed at {MOSQUITTO} (apt-get install mosquitto): serving without live readings."
            )
            return None
        try:
            accounts = service_accounts(simulator=True) + device_accounts()
            broker, broker_port = start_mosquitto(
                settings.VAR_DIR / "mosquitto", wait_s=10, accounts=accounts
            )
        except RuntimeError:
            self.stderr.write(
                f"Mosquitto did not start (see {settings.VAR_DIR / 'mosquitto' / 'mosquitto.log'}): "
                "serving without live readings"
            )
            return None
        children.append(("mosquitto", broker))
        self.stdout.write(
            f"no MQTT broker at {address.host}:{address.port}: started Mosquitto on port {broker_port}"
        )
        return f"mqtt://127.0.0.1:{broker_port}"

    def _start_worker(self, url: str | None) -> subprocess.Popen:
        """``banyan worker``: alerts open incidents, deadlines escalate, notifications go out."""
        folder = settings.VAR_DIR / "demo"
        folder.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "BANYAN_MQTT_URL": url, "BANYAN_BUS": "mqtt"} if url else None
        with open(folder / "worker.log", "ab") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "banyan", "worker"],
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        self.stdout.write(f"banyan worker running (log: {folder / 'worker.log'})")
        return worker

    def _start_live_readings(self, url: str, seed: int, speed: float, events_per_hour: float):
        folder = settings.VAR_DIR / "demo"
        folder.mkdir(parents=True, exist_ok=True)
        children: list[tuple[str, subprocess.Popen]] = []
        env = {**os.environ, "BANYAN_MQTT_URL": url}
        banyan = [sys.executable, "-m", "banyan"]
        ingest_log = folder / "ingest.log"
        offset = ingest_log.stat().st_size if ingest_log.exists() else 0
        with open(ingest_log, "ab") as log:
            ingest = subprocess.Popen(
                [*banyan, "ingest", "--url", url], env=env, stdout=log, stderr=log, start_new_session=True
            )
        children.append(("ingest", ingest))

        def connected() -> bool:
            return (
                ingest.poll() is not None
                or "ingest connected" in ingest_log.read_text(errors="replace")[offset:]
            )

        if not _wait_until(connected, 20) or ingest.poll() is not None:
            self.stderr.write(
                f"banyan ingest did not connect (see {ingest_log}): serving without live readings"
            )
            return children
        self.stdout.write(f"banyan ingest running (log: {ingest_log})")
        simulate = [
            *banyan,
            "simulate",
            "--url",
            url,
            "--seed",
            str(seed),
            "--speed",
            f"{speed:g}",
            "--events-per-hour",
            f"{events_per_hour:g}",
            "--opening-scene",
        ]
        children.append(("simulator", subprocess.Popen(simulate, env=env, start_new_session=True)))
        return children


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_until(check, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(0)
