"""The bus between processes, on a real Mosquitto: what this process publishes goes out with its
origin; what others publish (ingest's alert events included) comes in, once; our own echo, events
that stay local and messages that are not events are not delivered; the bridge survives a broker
restart."""

from __future__ import annotations

import asyncio
import json
import queue
import time

import pytest

from banyan.core import bus
from banyan.core.bus_mqtt import MqttBridge, decode


def publish_raw(port: int, topic: str, body: bytes) -> None:
    from mqttium.api import AsyncClient

    async def send() -> None:
        client = AsyncClient("banyan-test-raw", clean_start=True)
        await client.connect("127.0.0.1", port)
        receipt = await client.publish(topic, body, qos=1)
        await receipt.wait()
        await client.disconnect()

    asyncio.run(send())


def collect_raw(port: int, subscribed: queue.Queue, received: queue.Queue, count: int) -> None:
    from mqttium.api import AsyncClient

    async def listen() -> None:
        client = AsyncClient("banyan-test-listener", clean_start=True)
        await client.connect("127.0.0.1", port)
        await client.subscribe("banyan/+/events/+", qos=1)
        subscribed.put(True)
        async for message in client.messages():
            received.put((message.topic, json.loads(bytes(message.payload))))
            if received.qsize() >= count:
                break
        await client.disconnect()

    asyncio.run(asyncio.wait_for(listen(), timeout=20))


@pytest.fixture
def bridge(mosquitto):
    _process, port = mosquitto
    running = MqttBridge(f"mqtt://127.0.0.1:{port}", origin="test-process").start()
    assert running.connected.wait(10), "the bridge connected"
    yield running
    running.stop()


@pytest.fixture
def heard():
    """Events that reach this process's subscribers, as (topic, payload)."""
    events: queue.Queue = queue.Queue()
    unsubscribe = bus.subscribe("*", lambda topic, payload: events.put((topic, payload)))
    yield events
    unsubscribe()


def test_a_local_event_goes_out_with_its_origin_and_local_only_events_stay(mosquitto, bridge):
    import threading

    _process, port = mosquitto
    subscribed, received = queue.Queue(), queue.Queue()
    listener = threading.Thread(target=collect_raw, args=(port, subscribed, received, 1))
    listener.start()
    subscribed.get(timeout=10)
    bus.publish("notify.message", {"id": 1, "recipient": 2})  # stays in this process
    bus.publish("incident.changed", {"id": 7, "community": "330102001001", "grade": "red"})
    topic, body = received.get(timeout=10)
    listener.join(10)
    assert topic == "banyan/330102001001/events/incident.changed"
    assert body == {
        "event": "incident.changed",
        "origin": "test-process",
        "id": 7,
        "community": "330102001001",
        "grade": "red",
    }
    assert bridge.sent == 1


def test_events_of_other_processes_come_in_once_and_our_echo_does_not(mosquitto, bridge, heard):
    _process, port = mosquitto
    # An ingest worker's alert event (it names no origin), another server's, and our own echo.
    publish_raw(port, "banyan/C1/events/alert.raised", b'{"event":"alert.raised","id":3,"grade":"red"}')
    publish_raw(
        port, "banyan/C1/events/incident.changed", b'{"event":"incident.changed","origin":"web-2","id":4}'
    )
    publish_raw(
        port,
        "banyan/C1/events/incident.changed",
        b'{"event":"incident.changed","origin":"test-process","id":5}',
    )
    got = [heard.get(timeout=10), heard.get(timeout=10)]
    assert got == [
        ("alert.raised", {"id": 3, "grade": "red", "origin": "ingest"}),
        ("incident.changed", {"origin": "web-2", "id": 4}),
    ]
    time.sleep(0.3)
    assert heard.empty(), "our own echo is not delivered again"
    assert bridge.sent == 0, "events from elsewhere are not sent out again"


def test_messages_that_are_not_events_are_dropped_and_the_bridge_goes_on(mosquitto, bridge, heard):
    _process, port = mosquitto
    publish_raw(port, "banyan/C1/events/alert.raised", b"not json")
    publish_raw(port, "banyan/C1/events/alert.raised", b"[1, 2]")
    publish_raw(port, "banyan/C1/events/alert.raised", b'{"event":"incident.changed","id":1}')
    publish_raw(port, "banyan/C1/events/alert.cleared", b'{"id":9}')
    assert heard.get(timeout=10) == ("alert.cleared", {"id": 9, "origin": "ingest"})
    assert bridge.dropped == 3


@pytest.mark.parametrize(
    ("topic", "body"),
    [
        ("banyan/C1/devices/D1/readings", b'{"id":1}'),
        ("banyan/C1/events/alert.raised", b"\xff\xfe"),
        ("banyan/C1/events/alert.raised", b'"text"'),
        ("banyan/C1/events/alert.raised", b'{"event":7}'),
    ],
)
def test_decode_refuses(topic, body):
    assert decode(topic, body) is None


def test_the_bridge_reconnects_after_the_broker_restarts(tmp_path_factory, heard):
    import shutil
    import tempfile
    from pathlib import Path

    from banyan.sensing.ingest.broker import start_mosquitto, stop

    folder = Path(tempfile.mkdtemp(prefix="banyan-test-mqtt-"))
    process, port = start_mosquitto(folder)
    running = MqttBridge(f"mqtt://127.0.0.1:{port}", origin="test-restart").start()
    try:
        assert running.connected.wait(10)
        stop(process)
        deadline = time.monotonic() + 10
        while running.connected.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not running.connected.is_set(), "it noticed the broker was gone"
        process, _port = start_mosquitto(folder, port=port)
        assert running.connected.wait(20), "it reconnected"
        publish_raw(port, "banyan/C1/events/alert.raised", b'{"id":11}')
        assert heard.get(timeout=10) == ("alert.raised", {"id": 11, "origin": "ingest"})
    finally:
        running.stop()
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)
