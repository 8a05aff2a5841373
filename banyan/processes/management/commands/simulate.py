"""``banyan simulate``: publish the scenario simulator's readings to the MQTT broker (QoS 1).

The readings come from :class:`banyan.sim.scenario.Scenario` over the devices in the database;
their times are ``banyan.core.clock`` times. Every message is kept until the broker acknowledges
it: when the broker goes away the simulator reconnects with bounded backoff and publishes again
what was not acknowledged (storage is idempotent, so a repeat is stored once); the connection is
:func:`banyan.core.mqtt.connect_forever`'s, like every Banyan MQTT client's. One failure (a
step, a publish) is logged and the run goes on. See docs/demo.md.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from banyan.core import clock
from banyan.core.mqtt import Backoff, connect_forever, credentials, parse_broker_url, pause
from banyan.sim.scenario import EVENT_KINDS, Message, Scenario
from banyan.sim.services import load_fleet

log = logging.getLogger("banyan.simulate")

STEP_S = 0.2  # how often the scenario is asked for what became due
WINDOW = 200  # messages published before waiting for their acknowledgements
MAX_OUTBOX = 200_000  # messages kept while the broker is away; the oldest go first beyond this


class Command(BaseCommand):
    help = "Publish simulated readings of the seeded devices, with occasional real events, to MQTT."

    def add_arguments(self, parser):
        parser.add_argument("--url", default=settings.BANYAN_MQTT_URL, help="broker, default BANYAN_MQTT_URL")
        parser.add_argument("--community", default=None, help="only this community's devices")
        parser.add_argument("--seed", type=int, default=1, help="the random seed (default 1)")
        parser.add_argument("--speed", type=float, default=1.0, help="report this many times more often")
        parser.add_argument("--rate", type=float, default=500.0, help="readings per second at most")
        parser.add_argument("--events-per-hour", type=float, default=4.0, help="mean random events an hour")
        parser.add_argument(
            "--event",
            action="append",
            default=[],
            choices=sorted(EVENT_KINDS),
            help="start an event of this kind at once (repeatable)",
        )
        parser.add_argument(
            "--opening-scene",
            action="store_true",
            help="begin with the demo's scripted scene: an SOS, a gas leak, falls, a flood",
        )
        parser.add_argument("--duration", type=float, default=0.0, help="seconds to run (0: until stopped)")
        parser.add_argument("--once", action="store_true", help="one report of every device, then exit")

    def handle(self, *args, **options):
        try:
            parse_broker_url(options["url"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if options["speed"] <= 0 or options["rate"] <= 0:
            raise CommandError("--speed and --rate must be greater than 0")
        fleet = load_fleet(options["community"])
        if not fleet:
            raise CommandError("no devices to simulate: run `banyan seed` first")
        now = clock.now()
        scenario = Scenario(
            fleet,
            seed=options["seed"],
            start=now,
            speed=options["speed"],
            events_per_hour=0.0 if options["once"] else options["events_per_hour"],
        )
        outbox: collections.deque[Message] = collections.deque()
        if options["opening_scene"] and not options["once"]:
            for event in scenario.opening_scene(at=now):
                self.stdout.write(f"opening scene: {event.describe()}")
        for code in options["event"]:
            try:
                event = scenario.force(code, at=now)
            except ValueError as exc:
                self.stderr.write(f"no {code} event: {exc}")
                continue
            self.stdout.write(event.describe())
        self.stdout.write(
            f"simulating {len(fleet)} devices at speed {options['speed']:g}: about "
            f"{scenario.readings_per_second():.0f} readings/s (cap {options['rate']:g}/s), "
            f"{scenario.events_per_hour:g} events an hour, seed {options['seed']}"
        )
        if not options["once"] and scenario.readings_per_second() > options["rate"]:
            self.stderr.write("warning: the fleet reports faster than --rate; readings will fall behind")
        if options["once"]:
            outbox.extend(scenario.round(now))
        publisher = Publisher(self, options["url"], scenario, outbox, rate=options["rate"])
        asyncio.run(publisher.run(once=options["once"], duration=options["duration"]))
        self.stdout.write(f"published {publisher.sent_messages} messages, {publisher.sent_readings} readings")


class Publisher:
    """The asynchronous shell: asks the scenario for due readings and publishes them at a capped rate."""

    def __init__(self, command: BaseCommand, url: str, scenario: Scenario, outbox, *, rate: float) -> None:
        self.command = command
        self.url = url
        self.address = parse_broker_url(url)
        self.scenario = scenario
        self.outbox: collections.deque[Message] = outbox
        self.rate = rate
        self.stopping = asyncio.Event()
        self.sent_messages = 0
        self.sent_readings = 0
        self._tokens = 0.0
        self._refilled = time.monotonic()

    def stop(self) -> None:
        self.stopping.set()

    def say(self, line: str) -> None:
        self.command.stdout.write(line)
        self.command.stdout.flush()

    def _client(self) -> Any:
        from mqttium import MQTTProtocolVersion
        from mqttium.api import AsyncClient

        # The URL's user, else the simulator's account (banyan-sim: it may write readings only).
        username, password = credentials(self.address, "simulator")
        return AsyncClient(
            f"banyan-simulate-{os.getpid()}",
            protocol=MQTTProtocolVersion.MQTTv311,
            username=username,
            password=password,
            connect_timeout=10.0,
            max_write_queue_bytes=4 * 1024 * 1024,
        )

    async def run(self, *, once: bool, duration: float) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stop)
        deadline = time.monotonic() + duration if duration > 0 else None
        producer = None if once else asyncio.create_task(self._produce(deadline))
        try:
            await connect_forever(
                self._client,
                lambda client: self._publish(client, once=once, producer=producer),
                address=self.address,
                stopping=self.stopping,
                backoff=Backoff(30.0),
                log=log,
                name="simulator",
            )
        finally:
            if producer is not None:
                producer.cancel()
                try:
                    await producer
                except asyncio.CancelledError:
                    pass

    async def _produce(self, deadline: float | None) -> None:
        """Every STEP_S: what became due goes to the outbox; a started event is announced."""
        while not self.stopping.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            try:
                step = self.scenario.step(clock.now())
            except Exception:  # noqa: BLE001 -- a bad step must not end the simulation
                log.exception("a simulation step failed; going on")
            else:
                for event in step.started:
                    self.say(event.describe())
                self.outbox.extend(step.messages)
                while len(self.outbox) > MAX_OUTBOX:
                    self.outbox.popleft()
            await self._sleep(STEP_S)

    async def _publish(self, client, *, once: bool, producer: asyncio.Task | None) -> bool:
        """Publish the outbox in windows, each acknowledged before it leaves the outbox. True when done
        (``--once`` or the duration is over and all is acknowledged, or stopping); False if the
        connection failed (the window is published again after reconnecting)."""
        while True:
            if not self.outbox:
                if once or (producer is not None and producer.done()) or self.stopping.is_set():
                    return True
                await self._sleep(STEP_S / 2)
                continue
            window = [self.outbox[i] for i in range(min(WINDOW, len(self.outbox)))]
            try:
                receipts = []
                for message in window:
                    await self._wait_for_tokens(len(message.values))
                    receipts.append(await client.publish(message.topic, message.payload(), qos=1))
                for receipt in receipts:
                    await receipt.wait()
            except Exception as exc:  # noqa: BLE001 -- the connection is over; publish again later
                log.warning("publishing failed (%s)", type(exc).__name__)
                return False
            for message in window:
                if self.outbox and self.outbox[0] is message:
                    self.outbox.popleft()
                self.sent_messages += 1
                self.sent_readings += len(message.values)
            if self.stopping.is_set():
                return True

    async def _wait_for_tokens(self, readings: int) -> None:
        """A token bucket holding one second of ``rate``."""
        while True:
            now = time.monotonic()
            self._tokens = min(self.rate, self._tokens + (now - self._refilled) * self.rate)
            self._refilled = now
            if self._tokens >= readings or self._tokens >= self.rate:
                self._tokens -= readings
                return
            await asyncio.sleep((readings - self._tokens) / self.rate)

    async def _sleep(self, seconds: float) -> None:
        await pause(self.stopping, seconds)
