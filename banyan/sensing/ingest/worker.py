"""The asynchronous shell of ``banyan ingest``: MQTT in, batches out to the writer thread, acks.

One asyncio task reads messages (mqttium, MQTT 3.1.1, persistent session, manual acknowledgement)
into a queue. The main loop cuts the queue into batches bounded by size and time, hands each to
the one writer thread (:class:`~banyan.sensing.ingest.writer.BatchWriter`, which owns the
database connection) and, once the batch's transaction has committed, acknowledges its messages
(PUBACK) in arrival order. So:

- a message is acknowledged only after it is stored or dead-lettered; if the process dies before
  that, the broker delivers it again (to this client id's session) and idempotent storage
  (device+metric+ts) stores nothing twice;
- while a batch cannot be written (the database is down), nothing is acknowledged, the broker
  stops sending once its window of unacknowledged messages (``max_inflight_messages``) is full, and the
  rest waits in the broker's queue: consumption pauses and catches up afterwards;
- a failing batch is retried with bounded backoff; a bad message is dead-lettered by the writer
  and never stops the loop.

The loop also marks silent devices offline every ``offline_sweep_s`` and forgets its device
cache as often, so devices registered meanwhile are found.

Events (alerts raised, cleared …) go out through the bus bridge (:class:`~banyan.core.bus_mqtt.MqttBridge`)
on this worker's own connection: the bridge queues what the database thread publishes after each
commit, and the loop sends it right after the batch or tick that made it, before acknowledging the
batch. The connection and its reconnects are :func:`banyan.core.mqtt.connect_forever`'s.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
import socket
import time
from dataclasses import dataclass
from typing import Any

from banyan.core import clock
from banyan.core.bus_mqtt import MqttBridge
from banyan.core.events import EventName
from banyan.core.mqtt import Backoff, connect_forever, credentials, parse_broker_url, pause
from banyan.sensing.choices import DeadLetterSource
from banyan.sensing.ingest.writer import BatchResult, BatchWriter, mark_silent_devices_offline
from banyan.sensing.services import DeadLetterIn, record_dead_letters

log = logging.getLogger("banyan.ingest")

READINGS_TOPIC = "banyan/{community}/devices/+/readings"
FRIGATE_TOPIC = "frigate/events"
FRIGATE_COMMUNITY_TOPIC = "frigate/{community}/events"
_STOP = object()


@dataclass(frozen=True)
class IngestConfig:
    url: str = "mqtt://127.0.0.1:1883"
    client_id: str = ""
    community: str | None = None  # the partition: one community's devices, or all
    frigate: bool = True
    batch_size: int = 1000
    batch_wait_s: float = 0.05
    offline_sweep_s: float = 60.0
    tick_s: float = 1.0  # how often time-driven rules and escalations are evaluated
    backoff_max_s: float = 30.0

    @property
    def topics(self) -> list[str]:
        topics = [READINGS_TOPIC.format(community=self.community or "+")]
        if self.frigate:
            # A partition takes its community's own Frigate (topic prefix frigate/<code>); the
            # unpartitioned worker also takes the shared frigate/events.
            topics += [FRIGATE_COMMUNITY_TOPIC.format(community=self.community or "+")]
            if not self.community:
                topics.append(FRIGATE_TOPIC)
        return topics


def default_client_id(community: str | None) -> str:
    """Stable across restarts of the same worker: the broker keeps its session under this id."""
    host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:40]
    return f"banyan-ingest-{host}-{community or 'all'}"


@dataclass
class Counters:
    messages: int = 0
    accepted: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    dropped: int = 0  # readings of residents who withdrew consent
    batches: int = 0
    failed_batches: int = 0
    refused_acks: int = 0
    events: int = 0
    events_dropped: int = 0


class IngestWorker:
    def __init__(self, config: IngestConfig, writer: BatchWriter) -> None:
        self.config = config
        self.writer = writer
        self.counters = Counters()
        self.stopping = asyncio.Event()
        # One thread for all database work: Django connections belong to the thread that opened them.
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-db")
        self._next_sweep = time.monotonic() + config.offline_sweep_s
        self._next_tick = time.monotonic() + config.tick_s
        # Events from the database thread, queued by the bridge and sent by the asyncio loop.
        self.bridge = MqttBridge(config.url)
        self.pushed: list[tuple[int, Any]] = []  # (alert id, when its raise was published), for pushed_at

    def stop(self) -> None:
        self.stopping.set()

    def _publish_events(self, client) -> None:
        """Send the events queued since the last call to ``banyan/<community>/events/<event>`` (QoS 1)
        through the bridge: the cockpit, the worker and other processes subscribe there. An event the
        client cannot take now waits for the next call (or connection); the alert itself is in the
        database already, and readers catch up from the API."""
        refused = self.bridge.refused
        for name, payload in self.bridge.send(client):
            self.counters.events += 1
            if name == EventName.ALERT_RAISED:
                self.pushed.append((payload["id"], clock.now()))
        self.counters.events_dropped += self.bridge.refused - refused

    async def _in_thread(self, fn, *args) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def run(self) -> None:
        """Consume until :meth:`stop`; reconnects with bounded backoff."""
        client_id = self.config.client_id or default_client_id(self.config.community)
        address = parse_broker_url(self.config.url)
        username, password = credentials(address, "ingest")  # the URL's user, else banyan-ingest

        def make_client() -> Any:
            from mqttium import MQTTProtocolVersion
            from mqttium.api import AsyncClient

            return AsyncClient(
                client_id,
                # MQTT 3.1.1 with clean session off: the broker keeps the session (its expiry is the
                # broker's persistent_client_expiration) and bounds the unacknowledged messages in
                # flight by its max_inflight_messages. Not MQTT 5: Mosquitto 2.0.11 resends more than
                # the client's Receive Maximum when a session resumes, which a strict client must refuse.
                protocol=MQTTProtocolVersion.MQTTv311,
                clean_start=False,
                username=username,
                password=password,
                manual_ack=True,
                max_unacknowledged_messages=None,  # the broker's in-flight window is the bound
                connect_timeout=10.0,
            )

        self.bridge.attach()
        try:
            await connect_forever(
                make_client,
                self._consume,
                address=address,
                stopping=self.stopping,
                backoff=Backoff(self.config.backoff_max_s),
                log=log,
                name="ingest",
                topics=self.config.topics,
                detail=f", topics {self.config.topics}",
            )
        finally:
            self.bridge.stop()
            # The database thread's connection is closed by that thread (Django connections are per
            # thread): a worker run inside another process (tests) leaves none open behind it.
            self.executor.submit(_close_connection).result()
            self.executor.shutdown(wait=True)

    async def _sleep(self, seconds: float) -> None:
        await pause(self.stopping, seconds)

    async def _consume(self, client) -> bool:
        """Batches from this connection until it ends or the worker stops (then: False, the session
        is not done)."""
        queue: asyncio.Queue = asyncio.Queue()

        async def read() -> None:
            try:
                async for message in client.messages():
                    queue.put_nowait(message)
            except Exception as exc:  # noqa: BLE001 -- the connection is over either way
                log.warning("MQTT receive ended: %s", type(exc).__name__)
            finally:
                queue.put_nowait(_STOP)

        reader = asyncio.create_task(read())
        try:
            connected = True
            while connected and not self.stopping.is_set():
                batch, connected = await self._collect(queue)
                if batch:
                    if not await self._store(batch):
                        return False  # stopping: unacknowledged messages come back next time
                    self._publish_events(client)
                    if not await self._ack(client, batch):
                        # Refused acknowledgements leave messages in flight that block the
                        # broker's window: start a new connection, the broker redelivers them.
                        return False
                await self._maybe_sweep()
                await self._maybe_tick()
                self._publish_events(client)
        finally:
            reader.cancel()
            try:
                await reader
            except asyncio.CancelledError:
                pass
        return False

    async def _collect(self, queue: asyncio.Queue) -> tuple[list, bool]:
        """Up to ``batch_size`` messages, waiting at most ``batch_wait_s`` after the first."""
        batch: list = []
        try:
            first = await asyncio.wait_for(queue.get(), timeout=0.5)
        except TimeoutError:
            return batch, True
        if first is _STOP:
            return batch, False
        batch.append(first)
        deadline = time.monotonic() + self.config.batch_wait_s
        while len(batch) < self.config.batch_size:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(queue.get(), timeout=remaining)
                except TimeoutError:
                    break
            if item is _STOP:
                return batch, False
            batch.append(item)
        return batch, True

    async def _store(self, batch: list) -> bool:
        """Write the batch, retrying with backoff until it commits; False if asked to stop first."""
        messages = [(message.topic, message.payload) for message in batch]
        backoff = Backoff(self.config.backoff_max_s)
        while True:
            try:
                result = await self._in_thread(self.writer.write, messages)
            except Exception as exc:  # noqa: BLE001 -- logged without payloads, batch retried
                if not _is_database_error(exc):
                    # Not the database: some message in the batch cannot be processed. Store the
                    # others one by one and dead-letter the poison, rather than retry for ever.
                    try:
                        result = await self._in_thread(write_one_by_one, self.writer, messages)
                    except Exception as again:  # noqa: BLE001 -- the database failed meanwhile
                        exc = again
                    else:
                        self._count(result)
                        return True
                self.counters.failed_batches += 1
                delay = backoff.next()
                log.error(
                    "storing a batch of %d messages failed (%s); retrying in %.1f s",
                    len(messages),
                    type(exc).__name__,
                    delay,
                )
                await self._in_thread(_close_connection)
                await self._sleep(delay)
                if self.stopping.is_set():
                    return False
                continue
            self._count(result)
            return True

    def _count(self, result) -> None:
        counters = self.counters
        counters.batches += 1
        counters.messages += result.messages
        counters.accepted += result.accepted
        counters.duplicates += result.duplicates
        counters.dead_letters += result.dead_letters
        counters.dropped += result.dropped

    async def _ack(self, client, batch: list) -> bool:
        """PUBACK the batch in order; False if the connection should be renewed."""
        from mqttium import NotConnectedError

        refused = 0
        for message in batch:
            try:
                await client.ack(message)
            except NotConnectedError:
                return False  # the broker delivers the rest again on reconnect; storage dedups
            except Exception:  # noqa: BLE001 -- see below
                # mqttium 1.2.1 sometimes refuses a handle under load ("not an active inbound
                # acknowledgement"); that message is redelivered after a reconnect and deduplicated.
                refused += 1
        if refused:
            self.counters.refused_acks += refused
            log.warning("%d acknowledgements refused by the MQTT client; reconnecting", refused)
            return False
        return True

    async def _maybe_tick(self) -> None:
        if time.monotonic() < self._next_tick:
            return
        self._next_tick = time.monotonic() + self.config.tick_s
        pushed, self.pushed = self.pushed, []
        try:
            alerts = await self._in_thread(self.writer.tick, pushed)
        except Exception as exc:  # noqa: BLE001 -- tried again at the next tick
            log.error("evaluating timed rules failed (%s)", type(exc).__name__)
            self.pushed = pushed + self.pushed
            await self._in_thread(_close_connection)
            return
        if alerts:
            log.info("%d alerts raised or changed by timed rules", alerts)

    async def _maybe_sweep(self) -> None:
        if time.monotonic() < self._next_sweep:
            return
        self._next_sweep = time.monotonic() + self.config.offline_sweep_s
        try:
            offline = await self._in_thread(_sweep, self.writer)
        except Exception as exc:  # noqa: BLE001 -- tried again next time
            log.error("marking silent devices offline failed (%s)", type(exc).__name__)
            await self._in_thread(_close_connection)
            return
        if offline:
            log.info("%d silent devices marked offline", offline)


def _sweep(writer: BatchWriter) -> int:
    writer.forget_devices()
    writer.consent.resync()  # "consent withdrawn" is not for a person to change
    return mark_silent_devices_offline()


def _close_connection() -> None:
    from django.db import connection

    try:
        connection.close()
    except Exception:  # noqa: BLE001 -- a broken connection may fail to close; a new one is opened
        pass


def _is_database_error(exc: BaseException) -> bool:
    from django.db import DatabaseError, InterfaceError

    return isinstance(exc, DatabaseError | InterfaceError)


def write_one_by_one(writer: BatchWriter, messages: list[tuple[str, bytes]]):
    """Store each message alone; one that fails for any reason but the database is dead-lettered
    with reason ``processing_error``. A database error is raised (the caller retries the batch)."""

    total = BatchResult(messages=len(messages))
    for topic, payload in messages:
        try:
            result = writer.write([(topic, payload)])
        except Exception as exc:
            if _is_database_error(exc):
                raise
            log.error("a message on %s could not be processed (%s); dead-lettered", topic, type(exc).__name__)
            source = DeadLetterSource.FRIGATE if topic.startswith("frigate/") else DeadLetterSource.MQTT
            total.dead_letters += record_dead_letters(
                [
                    DeadLetterIn(
                        source=source,
                        reason="processing_error",
                        detail=type(exc).__name__,
                        topic=topic,
                        payload=payload,
                    )
                ]
            )
            continue
        total.accepted += result.accepted
        total.duplicates += result.duplicates
        total.dead_letters += result.dead_letters
        total.dropped += result.dropped
        total.alerts += result.alerts
    return total
