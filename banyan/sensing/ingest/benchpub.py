"""The publisher of ``banyan bench ingest``: a separate process, no Django, QoS 1 readings.

``python -m banyan.sensing.ingest.benchpub PORT DEVICES.json MODE COUNT [RATE] [FIRST]``
- MODE ``raw``: COUNT single readings to ``bench/raw`` (the broker baseline);
- ``single``: COUNT single readings spread over the devices;
- ``batched``: COUNT readings in messages of 100;
- ``paced``: COUNT single readings at RATE per second, ``ts`` = the time of sending (for latency).
Readings' times are unique per device: reading ``FIRST + i`` is at a distinct microsecond.
Prints the publishing time in seconds when all PUBACKs are in.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import time

from banyan.core.clock import SystemClock

BATCH = 100
WALL = SystemClock()


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).isoformat()


async def main(port: int, devices: list[list], mode: str, count: int, rate: float, first: int) -> float:
    from mqttium import MQTTProtocolVersion
    from mqttium.api import AsyncClient, PublishMessage

    client = AsyncClient(
        f"banyan-bench-pub-{mode}-{first}",
        protocol=MQTTProtocolVersion.MQTTv5,
        max_write_queue_bytes=16 * 1024 * 1024,
    )
    await client.connect("127.0.0.1", port)
    n = len(devices)
    # Saturation readings: from an hour ago, one microsecond apart.
    base = dt.datetime.now(tz=dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)

    def at(k: int) -> str:
        return (base + dt.timedelta(microseconds=k)).isoformat()

    def message(i: int) -> PublishMessage:
        community, code, metric, value = devices[i % n]
        body = {"metric": metric, "value": value, "ts": at(first + i), "seq": (first + i) // n}
        topic = "bench/raw" if mode == "raw" else f"banyan/{community}/devices/{code}/readings"
        return PublishMessage(topic, json.dumps(body, separators=(",", ":")).encode(), qos=1)

    started = time.perf_counter()
    if mode in ("raw", "single"):
        receipt = await client.publish_many(message(i) for i in range(count))
        await receipt.wait()
    elif mode == "batched":
        # One device per message (an HTTP/MQTT gateway's batch): 100 readings, one apart each.
        def batch(b: int) -> PublishMessage:
            community, code, metric, value = devices[b % n]
            items = [
                {"metric": metric, "value": value, "ts": at(first + b * BATCH + k)} for k in range(BATCH)
            ]
            topic = f"banyan/{community}/devices/{code}/readings"
            return PublishMessage(topic, json.dumps(items, separators=(",", ":")).encode(), qos=1)

        receipt = await client.publish_many(batch(b) for b in range(count // BATCH))
        await receipt.wait()
    else:  # paced: ts is the moment of sending, so stored-time minus ts is the latency
        receipts = []
        sent = 0
        last_ts = 0.0
        while sent < count:
            due = min(count, int((time.perf_counter() - started) * rate) + 1)
            while sent < due:
                community, code, metric, value = devices[sent % n]
                now = max(WALL.now().timestamp(), last_ts + 1e-6)
                last_ts = now
                body = {"metric": metric, "value": value, "ts": _iso(now), "seq": (first + sent) // n}
                topic = f"banyan/{community}/devices/{code}/readings"
                receipts.append(client.publish_nowait(topic, json.dumps(body).encode(), qos=1))
                sent += 1
            await asyncio.sleep(0.001)
        for receipt in receipts[-1000:]:
            await receipt.wait()
    elapsed = time.perf_counter() - started
    await client.disconnect()
    return elapsed


if __name__ == "__main__":
    port, devices_file, mode, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    rate = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
    first = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    with open(devices_file) as f:
        device_list = json.load(f)
    print(f"{asyncio.run(main(port, device_list, mode, count, rate, first)):.6f}")
