"""The bus across processes: what this process publishes goes to the MQTT broker, and what other
processes publish there comes back to this process's subscribers.

``banyan serve`` and ``banyan worker`` start an :class:`MqttBridge` when ``BANYAN_BUS=mqtt``
(``banyan demo`` sets it when it has a broker). ``banyan ingest`` sends its events through a bridge
too, on its own connection (:meth:`MqttBridge.attach` and :meth:`MqttBridge.send`): one publisher of
events for every process. Every process keeps the in-process bus (:mod:`banyan.core.events`); the
bridge is one more subscriber to it, and one more publisher into it:

- **out**: an event that is ``bridged`` in the registry (:mod:`banyan.core.events`: alerts,
  incidents, responders) and was published in this process is sent to
  ``banyan/<community>/events/<event>`` as ``{"event": …, "origin": <this process>, …payload}``
  (QoS 1; an event without a community goes under ``_``);
- **in**: the bridge subscribes to ``banyan/+/events/+`` and hands every event whose ``origin`` is not
  this process to the local subscribers, with its ``origin`` (so it is never sent out again).

Events are authenticated twice. The broker lets only Banyan's service accounts write events topics
(``banyan mqtt sync`` writes its ACL), and every event is signed with the bus key that Banyan's
processes share (:func:`banyan.core.mqtt.signed_event`, kept outside the database): the bridge
checks the signature for the message's topic before it reads anything else, and drops an unsigned
or forged event (logging its topic, never its content), one that is stale or played again (each
signed event carries a nonce and the second it was sent), and one whose name is not registered.
``origin`` is never taken as proof of who sent an event; it only tells this process its own events
apart. It connects as ``banyan-bus`` unless ``BANYAN_MQTT_URL`` names a user.

Events carry ids, codes, grades and times, never personal data (STYLE 10). The session is clean: a
process that was away catches up from the database (the cockpit sends a fresh snapshot when a
browser reconnects), not from the broker. A message that is not an event is logged (its topic and
the reason, not its content) and dropped; the bridge reconnects with backoff
(:func:`banyan.core.mqtt.connect_forever`) and never stops the process it runs in.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from typing import Any

import orjson

from banyan.core import events
from banyan.core.events import EVENTS_FILTER, EventPattern, UnregisteredEvent
from banyan.core.mqtt import (
    Backoff,
    ReplayGuard,
    connect_forever,
    credentials,
    parse_broker_url,
    signed_event,
    verified_event,
)

log = logging.getLogger(__name__)

QUEUE_MAX = 50_000
RETRY_S = 0.1  # how soon to offer again events the client could not take (flow control)


def bridged(name: str) -> bool:
    return events.bridged(name)


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
    """Run with :meth:`start` (a thread of its own, with its own event loop and connection) and
    :meth:`stop`; or, in a process that has a connection already (``banyan ingest``), :meth:`attach`
    and call :meth:`send` on that connection's loop after each commit."""

    def __init__(self, url: str, *, origin: str | None = None) -> None:
        self.address = parse_broker_url(url)
        host = socket.gethostname()[:30]
        self.origin = origin or f"{host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.outgoing: collections.deque[tuple[str, dict[str, Any]]] = collections.deque(maxlen=QUEUE_MAX)
        self.connected = threading.Event()
        self.sent = self.received = self.dropped = 0
        self.forged = 0  # of the dropped: unsigned or badly signed
        self.refused = 0  # events of ours the client refused for good (never sendable), dropped
        self.replays = ReplayGuard()  # a recorded event played again, or a stale one, is dropped
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None

    # --- the local side ---------------------------------------------------------------------

    def _on_local(self, name: str, payload: dict[str, Any]) -> None:
        if "origin" in payload or not events.bridged(name):
            return  # it came from another process, or it stays here
        self.outgoing.append((name, payload))
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
        try:
            events.deliver(event, payload)
        except UnregisteredEvent:
            self.dropped += 1
            log.warning("bus bridge: the event on %s is not a registered event; dropped", topic)
            return
        self.received += 1

    def send(self, client: Any) -> list[tuple[str, dict[str, Any]]]:
        """Publish the queued events on ``client`` (QoS 1, signed with the bus key) and return them.
        An event the client cannot take now (not connected, its window full) stays first in the queue
        for the next call; one it refuses for good (too large, not MQTT) is logged by name and dropped.
        Call it on the client's event loop."""
        from mqttium.errors import MQTTError, ProtocolError

        sent: list[tuple[str, dict[str, Any]]] = []
        while self.outgoing:
            name, payload = self.outgoing[0]
            target = events.topic_for(events.EventName(name), payload.get("community"))
            body = signed_event(target, {"event": name, "origin": self.origin, **payload})
            try:
                client.publish_nowait(target, body, qos=1)
            except ProtocolError as exc:
                self._refuse(name, exc)
                continue
            except MQTTError:
                break  # not connected, or no room now: sent on a later call or the next connection
            except Exception as exc:  # noqa: BLE001 -- never lose the process over an event
                self._refuse(name, exc)
                continue
            self.outgoing.popleft()
            self.sent += 1
            sent.append((name, payload))
        return sent

    def _refuse(self, name: str, exc: BaseException) -> None:
        self.outgoing.popleft()
        self.refused += 1
        log.warning("bus bridge: could not publish %s (%s); dropped", name, type(exc).__name__)

    # --- the thread ---------------------------------------------------------------------------

    def attach(self) -> MqttBridge:
        """Take this process's bridged events into the queue, for :meth:`send` on a connection of the
        caller's own (``banyan ingest``); :meth:`stop` lets them go."""
        if self._unsubscribe is None:
            self._unsubscribe = events.subscribe(EventPattern.ALL, self._on_local)
        return self

    def start(self) -> MqttBridge:
        self.attach()
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
        username, password = credentials(self.address, "bus")  # the URL's user, else banyan-bus

        def make_client() -> AsyncClient:
            return AsyncClient(
                f"banyan-bus-{self.origin}"[:64],
                protocol=MQTTProtocolVersion.MQTTv311,
                clean_start=True,
                username=username,
                password=password,
                connect_timeout=10.0,
            )

        await connect_forever(
            make_client,
            self._serve,
            address=self.address,
            stopping=self._stopping,
            backoff=Backoff(30.0),
            log=log,
            name="bus bridge",
            topics=[EVENTS_FILTER],
            detail=f" as {self.origin}",
            on_connected=self.connected.set,
            on_disconnected=self.connected.clear,
        )

    async def _serve(self, client: Any) -> bool:
        """Receive and send on one connection until it ends or the bridge stops (then: False)."""
        wake, stopping = self._wake, self._stopping
        assert wake is not None and stopping is not None

        async def receive() -> None:
            async for message in client.messages():
                try:
                    self.deliver(message.topic, bytes(message.payload))
                except Exception:  # noqa: BLE001 -- one bad event never stops the bridge
                    log.exception("bus bridge: delivering an event from %s failed", message.topic)

        async def send() -> None:
            while True:
                wake.clear()  # an event queued from now on sets it again
                self.send(client)
                if not self.outgoing:
                    await wake.wait()
                else:  # the client took no more for now
                    try:
                        await asyncio.wait_for(wake.wait(), timeout=RETRY_S)
                    except TimeoutError:
                        pass

        tasks = [asyncio.ensure_future(receive()), asyncio.ensure_future(send())]
        stopped = asyncio.ensure_future(stopping.wait())
        done, _pending = await asyncio.wait([*tasks, stopped], return_when=asyncio.FIRST_COMPLETED)
        for task in [*tasks, stopped]:
            task.cancel()
        for task in done:
            if task is not stopped and not task.cancelled() and task.exception() is not None:
                log.warning("bus bridge connection ended (%s)", type(task.exception()).__name__)
        return False


def start_from_settings() -> MqttBridge | None:
    """Start the bridge when ``BANYAN_BUS`` is ``mqtt`` (on ``BANYAN_MQTT_URL``); else None."""
    from django.conf import settings

    if getattr(settings, "BANYAN_BUS", "local") != "mqtt":
        return None
    return MqttBridge(settings.BANYAN_MQTT_URL).start()
