"""GET /notify/stream: Server-Sent Events of the signed-in user's messages, through Django's ASGI
handler (AsyncClient), resuming from Last-Event-ID."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import AsyncClient

from banyan.notify.services import notify
from banyan.people.auth import create_token


def parse(block: str) -> dict:
    fields: dict = {"comments": []}
    for line in block.split("\n"):
        name, _, value = line.partition(":")
        if name == "":
            fields["comments"].append(value.strip())
        else:
            fields[name] = value.strip()
    if "data" in fields:
        fields["data"] = json.loads(fields["data"])
    return fields


class Stream:
    """Reads SSE blocks (separated by a blank line) from a streaming response."""

    def __init__(self, response):
        self.response = response
        self.iterator = aiter(response.streaming_content)
        self.buffer = ""

    async def next_block(self, timeout: float = 5.0) -> dict:
        while "\n\n" not in self.buffer:
            chunk = await asyncio.wait_for(anext(self.iterator), timeout)
            self.buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        block, self.buffer = self.buffer.split("\n\n", 1)
        return parse(block)

    async def next_event(self, timeout: float = 5.0) -> dict:
        while True:
            block = await self.next_block(timeout)
            if "id" in block:
                return block


async def open_stream(token: str, **headers) -> Stream:
    client = AsyncClient()
    response = await client.get("/notify/stream", headers={"Authorization": f"Bearer {token}", **headers})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response["Cache-Control"] == "no-cache"
    return Stream(response)


@pytest.fixture
def token(users):
    return create_token(users["grid01"])


def test_the_stream_yields_my_new_messages_and_not_anothers(users, token, notify_settings):
    async def run():
        stream = await open_stream(token)
        hello = await stream.next_block()
        assert hello["retry"] == "3000" and hello["comments"] == ["connected"]
        await sync_to_async(notify)([users["grid02"]], "incident.assigned", "Not yours", "B")
        [mine] = await sync_to_async(notify)(
            [users["grid01"]], "incident.assigned", "事件已分派", "正文", reference=("incident", 9)
        )
        event = await stream.next_event()
        return mine, event

    mine, event = async_to_sync(run)()

    assert event["id"] == str(mine.pk)
    assert event["event"] == "notification"
    assert event["data"]["subject"] == "事件已分派"
    assert event["data"]["body"] == "正文"
    assert (event["data"]["kind"], event["data"]["subject_type"], event["data"]["subject_id"]) == (
        "incident.assigned",
        "incident",
        "9",
    )


def test_a_reconnecting_client_catches_up_from_last_event_id(users, token, notify_settings):
    first, second, third = (
        notify([users["grid01"]], "incident.assigned", f"Message {n}", "B")[0] for n in range(3)
    )

    async def run(**headers):
        stream = await open_stream(token, **headers)
        return [await stream.next_event(), await stream.next_event()]

    events = async_to_sync(run)(**{"Last-Event-ID": str(first.pk)})

    assert [e["id"] for e in events] == [str(second.pk), str(third.pk)]
    assert [e["data"]["subject"] for e in events] == ["Message 1", "Message 2"]


def test_without_last_event_id_the_stream_starts_after_the_newest(users, token, notify_settings):
    notify([users["grid01"]], "incident.assigned", "Old", "B")

    async def run():
        stream = await open_stream(token)
        await stream.next_block()  # connected
        block = await stream.next_block()  # the heartbeat comes before anything old
        [new] = await sync_to_async(notify)([users["grid01"]], "incident.assigned", "New", "B")
        return block, await stream.next_event(), new

    block, event, new = async_to_sync(run)()

    assert block["comments"] == ["heartbeat"]
    assert event["id"] == str(new.pk)


def test_the_query_parameter_works_like_the_header(users, token, notify_settings):
    first, second = (notify([users["grid01"]], "incident.assigned", f"M{n}", "B")[0] for n in range(2))

    async def run():
        client = AsyncClient()
        response = await client.get(
            f"/notify/stream?last_event_id={first.pk}", headers={"Authorization": f"Bearer {token}"}
        )
        return await Stream(response).next_event()

    assert async_to_sync(run)()["id"] == str(second.pk)


def test_a_bus_event_wakes_the_stream_before_the_next_poll(users, token, notify_settings, on_commit):
    notify_settings(SSE_POLL_S=30.0, SSE_HEARTBEAT_S=60.0)

    def send():
        with on_commit():  # the in-app delivery publishes notify.message on the bus after commit
            return notify([users["grid01"]], "incident.assigned", "Now", "B", channels=["in_app"])[0]

    async def run():
        stream = await open_stream(token)
        await stream.next_block()
        message = await sync_to_async(send)()
        return message, await stream.next_event(timeout=3.0)

    message, event = async_to_sync(run)()
    assert event["id"] == str(message.pk)


def test_the_stream_needs_a_signed_in_user(db):
    async def run(headers):
        return await AsyncClient().get("/notify/stream", headers=headers)

    assert async_to_sync(run)({}).status_code == 401
    assert async_to_sync(run)({"Authorization": "Bearer byn_nope"}).status_code == 401


def test_a_session_signs_in_too(users, notify_settings):
    [message] = notify([users["grid01"]], "incident.assigned", "Hello", "B")
    earlier = message.pk - 1

    async def run():
        client = AsyncClient()
        await client.aforce_login(users["grid01"])
        response = await client.get("/notify/stream", headers={"Last-Event-ID": str(earlier)})
        return await Stream(response).next_event()

    assert async_to_sync(run)()["id"] == str(message.pk)


def test_a_bad_last_event_id_is_400(users, token):
    async def run():
        return await AsyncClient().get(
            "/notify/stream", headers={"Authorization": f"Bearer {token}", "Last-Event-ID": "x1"}
        )

    response = async_to_sync(run)()
    assert response.status_code == 400
    assert json.loads(response.content)["field"] == "Last-Event-ID"
