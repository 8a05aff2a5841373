"""The publisher of ``banyan bench ingest``: a separate process, no Django, QoS 1 readings.

``python -m banyan.bench.publisher PORT STREAM.json MODE COUNT [RATE] [FIRST]``
- MODE ``raw``: COUNT single readings to ``bench/raw`` (the broker baseline);
- ``single``: COUNT single readings spread over the devices;
- ``batched``: COUNT readings in messages of 100;
- ``paced``: COUNT single readings at RATE per second, ``ts`` = the time of sending; listens to
  ``banyan/+/events/#`` meanwhile and measures reading → alert event latency.

``STREAM.json`` holds ``normal`` rows ``[community, code, metric, value]`` (values no rule minds)
and ``crossing`` rows ``[community, code, metric, high, low]`` (devices of a threshold rule with
hysteresis that auto-clears). Every ``every``-th reading goes to the next crossing device, high
and low in turn, so it raises or clears an alert: one alert event each.

Readings' times are unique per device: reading ``FIRST + i`` is at a distinct microsecond.
Prints one JSON line: publishing seconds, and for ``paced`` the event latencies.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import time
from collections import defaultdict

from banyan.core.clock import SystemClock
from banyan.core.events import EVENTS_ACL, EventName

BATCH = 100
WALL = SystemClock()
EVENTS = EVENTS_ACL  # banyan/+/events/#


class Stream:
    def __init__(self, spec: dict) -> None:
        self.normal = spec["normal"]
        self.crossing = spec["crossing"]
        self.every = int(spec["every"])

    def pick(self, i: int) -> tuple[str, str, str, float]:
        """Community, device code, metric and value of reading ``i`` of a run."""
        if self.crossing and i % self.every == self.every - 1:
            k = i // self.every
            community, code, metric, high, low = self.crossing[k % len(self.crossing)]
            rounds = k // len(self.crossing)
            return community, code, metric, high if rounds % 2 == 0 else low
        community, code, metric, value = self.normal[i % len(self.normal)]
        return community, code, metric, value

    def crossings(self, count: int) -> int:
        return count // self.every if self.crossing else 0


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).isoformat()


def _topic(community: str, code: str) -> str:
    return f"banyan/{community}/devices/{code}/readings"


async def _listen(port: int, latencies: list[float], ready: asyncio.Event, done: asyncio.Event) -> None:
    from mqttium.api import AsyncClient

    from banyan.core.mqtt import service_login

    client = AsyncClient("banyan-bench-events", clean_start=True, **service_login("bus"))
    await client.connect("127.0.0.1", port)
    await client.subscribe(EVENTS, qos=1)
    ready.set()

    async def consume() -> None:
        async for message in client.messages():
            arrived = WALL.now().timestamp()
            event = json.loads(message.payload)
            kind = event["event"]
            stamp = event.get("cleared_at") if kind == EventName.ALERT_CLEARED else event.get("reading_at")
            if kind in (EventName.ALERT_RAISED, EventName.ALERT_CLEARED) and stamp:
                latencies.append((arrived - dt.datetime.fromisoformat(stamp).timestamp()) * 1000)

    consumer = asyncio.create_task(consume())
    await done.wait()
    consumer.cancel()
    try:
        await consumer
    except asyncio.CancelledError:
        pass
    await client.disconnect()


async def main(port: int, stream: Stream, mode: str, count: int, rate: float, first: int) -> dict:
    from mqttium import MQTTProtocolVersion
    from mqttium.api import AsyncClient, PublishMessage
    from mqttium.errors import FlowControlError

    from banyan.bench.ingest import bench_login
    from banyan.core.mqtt import service_login

    # The fleet's readings as the simulator's account; the raw baseline as the bench's own.
    client = AsyncClient(
        f"banyan-bench-pub-{mode}-{first}",
        **(bench_login() if mode == "raw" else service_login("simulator")),
        protocol=MQTTProtocolVersion.MQTTv5,
        max_write_queue_bytes=16 * 1024 * 1024,
    )
    await client.connect("127.0.0.1", port)
    # Saturation readings: from an hour ago, one microsecond apart.
    base = dt.datetime.now(tz=dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)

    def at(k: int) -> str:
        return (base + dt.timedelta(microseconds=k)).isoformat()

    seqs: dict[str, int] = defaultdict(int)  # per device, as a device counts its messages

    def seq(code: str) -> int:
        seqs[code] += 1
        return seqs[code]

    def message(i: int) -> PublishMessage:
        community, code, metric, value = stream.pick(i)
        body = {"metric": metric, "value": value, "ts": at(first + i), "seq": seq(code)}
        topic = "bench/raw" if mode == "raw" else _topic(community, code)
        return PublishMessage(topic, json.dumps(body, separators=(",", ":")).encode(), qos=1)

    result: dict = {"crossings": 0}
    started = time.perf_counter()
    if mode in ("raw", "single"):
        receipt = await client.publish_many(message(i) for i in range(count))
        await receipt.wait()
        result["crossings"] = 0 if mode == "raw" else stream.crossings(count)
    elif mode == "batched":
        # One device per message (a gateway's batch): 100 readings of one normal device.
        def batch(b: int) -> PublishMessage:
            community, code, metric, value = stream.normal[b % len(stream.normal)]
            items = [
                {"metric": metric, "value": value, "ts": at(first + b * BATCH + k)} for k in range(BATCH)
            ]
            return PublishMessage(
                _topic(community, code), json.dumps(items, separators=(",", ":")).encode(), qos=1
            )

        receipt = await client.publish_many(batch(b) for b in range(count // BATCH))
        await receipt.wait()
    else:  # paced: ts is the moment of sending; the listener times the alert events
        latencies: list[float] = []
        ready, done = asyncio.Event(), asyncio.Event()
        listener = asyncio.create_task(_listen(port, latencies, ready, done))
        await ready.wait()
        started = time.perf_counter()
        receipts = []
        sent = 0
        last_ts = 0.0
        while sent < count:
            due = min(count, int((time.perf_counter() - started) * rate) + 1)
            while sent < due:
                community, code, metric, value = stream.pick(sent)
                now = max(WALL.now().timestamp(), last_ts + 1e-6)
                last_ts = now
                body = {"metric": metric, "value": value, "ts": _iso(now), "seq": seq(code)}
                payload = json.dumps(body).encode()
                try:
                    receipts.append(client.publish_nowait(_topic(community, code), payload, qos=1))
                except FlowControlError:  # the broker is behind: wait for it (the rate reported drops)
                    await receipts[-1].wait()
                    continue
                sent += 1
            await asyncio.sleep(0.001)
        for receipt in receipts[-1000:]:
            await receipt.wait()
        expected = stream.crossings(count)
        deadline = time.perf_counter() + 30
        while len(latencies) < expected and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        done.set()
        await listener
        result.update(crossings=expected, latencies=latencies, rate=count / (time.perf_counter() - started))
    result["seconds"] = time.perf_counter() - started
    await client.disconnect()
    return result


if __name__ == "__main__":
    port, stream_file, mode, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    rate = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    first = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    with open(stream_file) as f:
        spec = json.load(f)
    print(json.dumps(asyncio.run(main(port, Stream(spec), mode, count, rate, first))))
