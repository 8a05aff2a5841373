"""The bus between processes, on a real Mosquitto: what this process publishes goes out with its
origin, signed; what others publish (ingest's alert events included) comes in, once; our own echo,
events that stay local, messages that are not events and events that are unsigned or badly signed
(whatever ``origin`` they claim) are not delivered; the bridge survives a broker restart.

The broker is Banyan's (anonymous clients refused): the test connects as the bus's service account."""

from __future__ import annotations

import asyncio
import json
import queue
import time

import pytest

from banyan.core import bus
from banyan.core.bus_mqtt import MqttBridge, decode
from banyan.core.mqtt import service_login, signed_event, verified_event


def publish_raw(port: int, topic: str, body: bytes) -> None:
    """Publish ``body`` as it is, as Banyan's bus account (the broker lets it write events)."""
    from mqttium.api import AsyncClient

    async def send() -> None:
        client = AsyncClient("banyan-test-raw", clean_start=True, **service_login("bus"))
        await client.connect("127.0.0.1", port)
        receipt = await client.publish(topic, body, qos=1)
        await receipt.wait()
        await client.disconnect()

    asyncio.run(send())


def publish_signed(port: int, topic: str, event: dict) -> None:
    """Publish ``event`` the way Banyan's processes do: signed with the bus key for ``topic``."""
    publish_raw(port, topic, signed_event(topic, event))


def collect_raw(port: int, subscribed: queue.Queue, received: queue.Queue, count: int) -> None:
    from mqttium.api import AsyncClient

    async def listen() -> None:
        client = AsyncClient("banyan-test-listener", clean_start=True, **service_login("bus"))
        await client.connect("127.0.0.1", port)
        await client.subscribe("banyan/+/events/+", qos=1)
        subscribed.put(True)
        async for message in client.messages():
            received.put((message.topic, bytes(message.payload)))
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
    assert "sig" in json.loads(body), "signed"
    assert without_freshness(verified_event(topic, body)) == {
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
    publish_signed(port, "banyan/C1/events/alert.raised", {"event": "alert.raised", "id": 3, "grade": "red"})
    publish_signed(
        port, "banyan/C1/events/incident.changed", {"event": "incident.changed", "origin": "web-2", "id": 4}
    )
    publish_signed(
        port,
        "banyan/C1/events/incident.changed",
        {"event": "incident.changed", "origin": "test-process", "id": 5},
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
    publish_signed(port, "banyan/C1/events/alert.raised", {"event": "incident.changed", "id": 1})
    publish_signed(port, "banyan/C1/events/alert.cleared", {"id": 9})
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

    from banyan.processes.broker import start_mosquitto, stop

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
        publish_signed(port, "banyan/C1/events/alert.raised", {"id": 11})
        assert heard.get(timeout=10) == ("alert.raised", {"id": 11, "origin": "ingest"})
    finally:
        running.stop()
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def without_freshness(event: dict) -> dict:
    """A verified event without the nonce and the time it was sent (which every signed event carries)."""
    assert isinstance(event.pop("nonce"), str) and isinstance(event.pop("sent"), int)
    return event


def forged_with(key: bytes, topic: str, event: dict) -> bytes:
    """``event`` signed like Banyan's, but with another key."""
    import hashlib
    import hmac

    import orjson

    canonical = orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
    mac = hmac.new(key, topic.encode() + b"\n" + canonical, hashlib.sha256).hexdigest()
    return orjson.dumps({"sig": mac, **event})


def test_forged_events_through_a_service_account_are_dropped_whatever_their_origin(mosquitto, bridge, heard):
    """Finding 3: the bridge believed any message on an events topic and took its ``origin`` on
    trust. Only events signed with Banyan's bus key for their own topic come in now."""
    _process, port = mosquitto
    topic = "banyan/C1/events/alert.raised"
    raised = {"event": "alert.raised", "id": 66, "grade": "red", "community": "C1"}
    publish_raw(port, topic, json.dumps({**raised, "origin": "ingest"}).encode())  # unsigned
    publish_raw(port, topic, json.dumps({**raised, "origin": "web-2", "sig": "0" * 64}).encode())
    publish_raw(port, topic, forged_with(b"k" * 32, topic, {**raised, "origin": "web-2"}))  # another key
    # Signed for another community's topic, replayed here.
    publish_raw(port, topic, signed_event("banyan/C2/events/alert.raised", {**raised, "community": "C2"}))
    # A good event changed after signing.
    tampered = json.loads(signed_event(topic, raised))
    tampered["grade"] = "blue"
    publish_raw(port, topic, json.dumps(tampered).encode())
    publish_signed(port, topic, {**raised, "id": 67})  # and one good one, after them all
    assert heard.get(timeout=10) == (
        "alert.raised",
        {"id": 67, "grade": "red", "community": "C1", "origin": "ingest"},
    ), "the forged events, sent first on one connection, were not delivered"
    assert heard.empty()
    assert (bridge.dropped, bridge.forged, bridge.received) == (5, 5, 1)


def test_a_forged_event_is_logged_by_topic_without_its_content(mosquitto, bridge, heard, caplog):
    _process, port = mosquitto
    topic = "banyan/C1/events/incident.changed"
    with caplog.at_level("WARNING", logger="banyan.core.bus_mqtt"):
        publish_raw(port, topic, b'{"event":"incident.changed","id":5,"address":"3-1-502 Zhang San"}')
        publish_signed(port, topic, {"event": "incident.changed", "id": 6})
        assert heard.get(timeout=10)[1]["id"] == 6
    text = caplog.text
    assert topic in text and "signature" in text
    assert "Zhang" not in text and "502" not in text


def test_signatures_cover_the_topic_and_every_field():
    topic = "banyan/C1/events/alert.raised"
    body = signed_event(topic, {"event": "alert.raised", "id": 1, "nested": {"b": 2, "a": [1.5, "x"]}})
    assert without_freshness(verified_event(topic, body)) == {
        "event": "alert.raised",
        "id": 1,
        "nested": {"b": 2, "a": [1.5, "x"]},
    }
    assert verified_event("banyan/C2/events/alert.raised", body) is None
    assert verified_event(topic, body.replace(b"1.5", b"2.5")) is None
    assert verified_event(topic, b'{"event":"alert.raised","id":1}') is None
    assert verified_event(topic, b"[]") is None


def test_an_event_played_again_or_stale_is_dropped(mosquitto, bridge, heard):
    """A service account (or anyone who recorded the broker's traffic) could publish a genuine signed
    event again — a red alert raised twice, an incident reopened. Each signed event carries a nonce and
    the second it was sent: the bridge takes it once, and never when it is older than the window."""
    from banyan.core.mqtt import REPLAY_WINDOW_S, _wall_seconds, bus_key

    _process, port = mosquitto
    topic = "banyan/C1/events/alert.raised"
    body = signed_event(topic, {"event": "alert.raised", "id": 70, "origin": "ingest"})
    publish_raw(port, topic, body)
    assert heard.get(timeout=10)[1]["id"] == 70
    publish_raw(port, topic, body)  # the same message again
    stale = {"event": "alert.raised", "id": 71, "origin": "ingest", "nonce": "a" * 24}
    stale["sent"] = _wall_seconds() - REPLAY_WINDOW_S - 3600
    publish_raw(port, topic, forged_with(bus_key(), topic, stale))  # genuinely signed, an hour late
    undated = {"event": "alert.raised", "id": 72, "origin": "ingest"}
    publish_raw(port, topic, forged_with(bus_key(), topic, undated))  # signed before nonces existed
    publish_signed(port, topic, {"event": "alert.raised", "id": 73})
    assert heard.get(timeout=10)[1]["id"] == 73, "the replayed, stale and undated events were dropped"
    assert heard.empty()
    assert (bridge.received, bridge.dropped, bridge.forged) == (2, 3, 0)


def test_the_replay_guard_is_bounded_by_its_window():
    from banyan.core.mqtt import ReplayGuard, _wall_seconds

    guard = ReplayGuard(window_s=60)
    now = _wall_seconds()
    assert guard.fresh({"nonce": "n1", "sent": now}) and not guard.fresh({"nonce": "n1", "sent": now})
    assert not guard.fresh({"nonce": "n2", "sent": now - 61}) and not guard.fresh({"nonce": "n3"})
    assert not guard.fresh({"nonce": "n4", "sent": True}) and not guard.fresh({"nonce": "", "sent": now})
    guard._seen["old"] = now - 120  # remembered from two windows ago: forgotten at the next event
    guard._seen.move_to_end("old", last=False)
    assert guard.fresh({"nonce": "n5", "sent": now}) and "old" not in guard._seen


# --- one publisher: the bridge's queue, sent on a connection of its own or of ingest's ----------------


class FakeClient:
    """Takes publications like mqttium's ``publish_nowait``, or refuses them with ``refuse``."""

    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, int]] = []
        self.refuse: Exception | None = None

    def publish_nowait(self, topic: str, body: bytes, *, qos: int) -> None:
        if self.refuse is not None:
            raise self.refuse
        self.published.append((topic, body, qos))


def incident(pk: int) -> dict:
    from banyan.core.tests.test_events import an_incident

    return an_incident(id=pk, community="C1")


def test_an_attached_bridge_sends_this_process_events_on_the_callers_connection():
    """``banyan ingest`` has no bridge thread: its loop sends the queue on its own connection."""
    from banyan.core import events
    from banyan.core.events import EventName
    from banyan.core.tests.test_events import an_alert

    bridge = MqttBridge("mqtt://127.0.0.1:1", origin="ingest-test").attach()
    client = FakeClient()
    try:
        events.publish(EventName.ALERT_RAISED, an_alert(id=5))
        events.publish(EventName.RULE_CHANGED, {"rule": 1, "community": "C1"})  # stays in this process
        bus.publish("incident.changed", {**incident(6), "origin": "web-2"})  # came from elsewhere
        sent = bridge.send(client)
    finally:
        bridge.stop()
    assert sent == [(EventName.ALERT_RAISED, an_alert(id=5))]
    [(topic, body, qos)] = client.published
    assert (topic, qos) == ("banyan/330102001001/events/alert.raised", 1)
    assert without_freshness(verified_event(topic, body)) == {
        "event": "alert.raised",
        "origin": "ingest-test",
        **an_alert(id=5),
    }
    events.publish(EventName.ALERT_RAISED, an_alert(id=6))
    assert not bridge.outgoing, "a stopped bridge queues nothing"


def test_an_event_the_client_cannot_take_now_waits_and_one_it_never_can_is_dropped(caplog):
    from mqttium.errors import FlowControlError, NotConnectedError, PacketTooLargeError

    from banyan.core import events
    from banyan.core.events import EventName

    bridge = MqttBridge("mqtt://127.0.0.1:1", origin="test").attach()
    client = FakeClient()
    try:
        events.publish(EventName.INCIDENT_OPENED, incident(1))
        events.publish(EventName.RESPONDER_MOVED, {"id": 2, "user": 9, "community": None})
        for later in (NotConnectedError("gone"), FlowControlError("full")):
            client.refuse = later
            assert bridge.send(client) == [] and len(bridge.outgoing) == 2, "kept, in order"
        client.refuse = PacketTooLargeError("too large")
        with caplog.at_level("WARNING", logger="banyan.core.bus_mqtt"):
            assert bridge.send(client) == []
        assert (bridge.refused, len(bridge.outgoing)) == (2, 0)
        assert "could not publish incident.opened (PacketTooLargeError); dropped" in caplog.text
        events.publish(EventName.RESPONDER_MOVED, {"id": 3, "user": 9, "community": None})
        client.refuse = None
        assert [payload["id"] for _name, payload in bridge.send(client)] == [3]
    finally:
        bridge.stop()
    assert [topic for topic, _body, _qos in client.published] == ["banyan/_/events/responder.moved"]
    assert bridge.sent == 1


def test_an_event_from_the_broker_with_a_name_not_registered_is_dropped(heard, caplog):
    bridge = MqttBridge("mqtt://127.0.0.1:1", origin="test")
    topic = "banyan/C1/events/alert.exploded"
    with caplog.at_level("WARNING", logger="banyan.core.bus_mqtt"):
        bridge.deliver(topic, signed_event(topic, {"event": "alert.exploded", "id": 1}))
        bridge.deliver(
            "banyan/C1/events/alert.raised", signed_event("banyan/C1/events/alert.raised", {"id": 2})
        )
    assert heard.get(timeout=1) == ("alert.raised", {"id": 2, "origin": "ingest"})
    assert heard.empty()
    assert (bridge.dropped, bridge.forged, bridge.received) == (1, 0, 1)
    assert f"the event on {topic} is not a registered event; dropped" in caplog.text
