"""The bus across processes: what this process publishes goes to the MQTT broker, and what other
processes publish there comes back to this process's subscribers.

``banyan serve`` and ``banyan worker`` start an :class:`MqttBridge` when ``BANYAN_BUS=mqtt``
(``banyan demo`` sets it when it has a broker). ``banyan ingest`` publishes its alert events to the
same topics itself. Every process keeps the in-process bus of :mod:`banyan.core.bus`; the bridge is
one more subscriber to it, and one more publisher into it:

- **out**: an event of a bridged kind (``BRIDGED``) that was published in this process is sent to
  ``banyan/<community>/events/<event>`` as ``{"event": …, "origin": <this process>, …payload}``
  (QoS 1; an event without a community goes under ``_``);
- **in**: the bridge subscribes to ``banyan/+/events/+`` and hands every event whose ``origin`` is not
  this process to the local subscribers, with its ``origin`` (so it is never sent out again).

Events are authenticated twice. The broker lets only Banyan's service accounts write events topics
(``banyan mqtt sync`` writes its ACL), and every event is signed with the bus key that Banyan's
processes share (:func:`banyan.core.mqtt.signed_event`, kept outside the database): the bridge
checks the signature for the message's topic before it reads anything else, and drops an unsigned
or forged event (logging its topic, never its content), and one that is stale or played again (each
signed event carries a nonce and the second it was sent). ``origin`` is never taken as proof of who
sent an event; it only tells this process its own events apart. It connects as ``banyan-bus``
unless ``BANYAN_MQTT_URL`` names a user.

Events carry ids, codes, grades and times, never personal data (STYLE 10). The session is clean: a
process that was away catches up from the database (the cockpit sends a fresh snapshot when a
browser reconnects), not from the broker. A message that is not an event is logged (its topic and
the reason, not its content) and dropped; the bridge reconnects with backoff and never stops the
process it runs in.
"""

from __future__ import annotations

import asyncio
import collections
import fnmatch
import logging
import os
import socket
import threading
import uuid
from typing import Any

import orjson

from banyan.core import bus
from banyan.core.mqtt import (
    Backoff,
    ReplayGuard,
    credentials,
    parse_broker_url,
    signed_event,
    tls_context,
    verified_event,
)

log = logging.getLogger(__name__)

EVENTS_TOPIC = "banyan/{community}/events/{event}"
EVENTS_FILTER = "banyan/+/events/+"
BRIDGED = ("alert.*", "incident.*", "responder.*", "crowd.*")
QUEUE_MAX = 50_000


def bridged(topic: str) -> bool:
    return any(fnmatch.fnmatchcase(topic, pattern) for pattern in BRIDGED)


def decode(topic: str, body: bytes) -> tuple[str, dict[str, Any]] | None:
    """The (event, payload) of a signed message on an events topic, else None (with the reason logged)."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != "banyan" or parts[2] != "events":
        log.warning("bus bridge: %s is not an events topic; dropped", topic)
        return None
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        log.warning("bus bridge: the message on %s is not JSON; dropped", topic)
        return None
    if not isinstance(payload, dict):
        log.warning("bus bridge: the message on %s is not a JSON object; dropped", topic)
        return None
    payload = verified_event(topic, body)
    if payload is None:
        log.warning("bus bridge: the event on %s is unsigned or its signature is wrong; dropped", topic)
        return None
    event = payload.pop("event", None) or parts[3]
    if not isinstance(event, str) or event != parts[3]:
        log.warning("bus bridge: the message on %s names another event; dropped", topic)
        return None
    return event, payload


class MqttBridge:
    """Run with :meth:`start` (a thread of its own, with its own event loop) and :meth:`stop`."""

    def __init__(self, url: str, *, origin: str | None = None) -> None:
        self.address = parse_broker_url(url)
        host = socket.gethostname()[:30]
        self.origin = origin or f"{host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.outgoing: collections.deque[tuple[str, dict[str, Any]]] = collections.deque(maxlen=QUEUE_MAX)
        self.connected = threading.Event()
        self.sent = self.received = self.dropped = 0
        self.forged = 0  # of the dropped: unsigned or badly signed
        self.replays = ReplayGuard()  # a recorded event played again, or a stale one, is dropped
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._unsubscribe = None

    # --- the local side ---------------------------------------------------------------------

    def _on_local(self, topic: str, payload: dict[str, Any]) -> None:
        if "origin" in payload or not bridged(topic):
            return  # it came from another process, or it stays here
        self.outgoing.append((topic, payload))
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            loop.call_soon_threadsafe(wake.set)

    def deliver(self, topic: str, body: bytes) -> None:
        """Hand an event from the broker to this process's subscribers (not our own)."""
        decoded = decode(topic, body)
        if decoded is None:
            self.dropped += 1
            self.forged += verified_event(topic, body) is None
            return
        event, payload = decoded
        if not self.replays.fresh(payload):
            self.dropped += 1
            log.warning("bus bridge: the event on %s is stale or played again; dropped", topic)
            return
        origin = payload.get("origin")
        if origin == self.origin:
            return
        payload["origin"] = origin if isinstance(origin, str) and origin else "ingest"
        self.received += 1
        bus.publish(event, payload)

    # --- the thread ---------------------------------------------------------------------------

    def start(self) -> MqttBridge:
        self._unsubscribe = bus.subscribe("*", self._on_local)
        self._thread = threading.Thread(target=self._run, name="bus-mqtt-bridge", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        finally:
            loop.close()

    async def _main(self) -> None:
        from mqttium import MQTTProtocolVersion
        from mqttium.api import AsyncClient

        self._wake, self._stopping = asyncio.Event(), asyncio.Event()
        backoff = Backoff(30.0)
        username, password = credentials(self.address, "bus")  # the URL's user, else banyan-bus
        while not self._stopping.is_set():
            client = AsyncClient(
                f"banyan-bus-{self.origin}"[:64],
                protocol=MQTTProtocolVersion.MQTTv311,
                clean_start=True,
                username=username,
                password=password,
                connect_timeout=10.0,
            )
            try:
                await client.connect(self.address.host, self.address.port, ssl=tls_context(self.address))
                await client.subscribe(EVENTS_FILTER, qos=1)
            except Exception as exc:  # noqa: BLE001 -- any failure to connect is retried
                delay = backoff.next()
                log.warning(
                    "bus bridge cannot reach the broker (%s); retrying in %.1f s", type(exc).__name__, delay
                )
                await self._close(client)
                await self._pause(delay)
                continue
            backoff.reset()
            self.connected.set()
            log.info("bus bridge connected to %s:%s as %s", self.address.host, self.address.port, self.origin)
            await self._serve(client)
            self.connected.clear()
            await self._close(client)
            if not self._stopping.is_set():
                await self._pause(backoff.next())

    async def _serve(self, client) -> None:
        async def receive() -> None:
            async for message in client.messages():
                try:
                    self.deliver(message.topic, bytes(message.payload))
                except Exception:  # noqa: BLE001 -- one bad event never stops the bridge
                    log.exception("bus bridge: delivering an event from %s failed", message.topic)

        async def send() -> None:
            assert self._wake is not None
            while True:
                while self.outgoing:
                    topic, payload = self.outgoing[0]
                    community = payload.get("community") or "_"
                    target = EVENTS_TOPIC.format(community=community, event=topic)
                    body = signed_event(target, {"event": topic, "origin": self.origin, **payload})
                    client.publish_nowait(target, body, qos=1)
                    self.outgoing.popleft()
                    self.sent += 1
                self._wake.clear()
                if not self.outgoing:
                    await self._wake.wait()

        assert self._stopping is not None
        tasks = [asyncio.ensure_future(receive()), asyncio.ensure_future(send())]
        stopping = asyncio.ensure_future(self._stopping.wait())
        done, _pending = await asyncio.wait([*tasks, stopping], return_when=asyncio.FIRST_COMPLETED)
        for task in [*tasks, stopping]:
            task.cancel()
        for task in done:
            if task is not stopping and not task.cancelled() and task.exception() is not None:
                log.warning("bus bridge connection ended (%s)", type(task.exception()).__name__)

    async def _pause(self, seconds: float) -> None:
        assert self._stopping is not None
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
        except TimeoutError:
            pass

    async def _close(self, client) -> None:
        try:
            await asyncio.wait_for(client.disconnect(), timeout=5)
        except Exception:  # noqa: BLE001 -- already gone
            pass


def start_from_settings() -> MqttBridge | None:
    """Start the bridge when ``BANYAN_BUS`` is ``mqtt`` (on ``BANYAN_MQTT_URL``); else None."""
    from django.conf import settings

    if getattr(settings, "BANYAN_BUS", "local") != "mqtt":
        return None
    return MqttBridge(settings.BANYAN_MQTT_URL).start()
