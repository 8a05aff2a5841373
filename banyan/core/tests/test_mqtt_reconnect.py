"""The one reconnect loop of Banyan's MQTT clients (``banyan.core.mqtt.connect_forever``), with fake
clients: a failed connection is retried after the backoff, which grows and is reset by a connection
that works; a session that ends is followed by a new connection; a finished session or ``stopping``
ends the loop; every client is disconnected; the logs name the client, not a message."""

from __future__ import annotations

import asyncio
import logging

import pytest

from banyan.core.mqtt import Backoff, BrokerAddress, connect_forever

ADDRESS = BrokerAddress(host="127.0.0.1", port=1883, tls=False, username=None, password=None)


class Stats:
    def __init__(self, error: str | None) -> None:
        self.last_disconnect_error = error  # as mqttium reports it


class FakeClient:
    def __init__(self, number: int, refuse: bool) -> None:
        self.number, self.refuse = number, refuse
        self.subscribed: list[str] = []
        self.disconnected = False

    async def connect(self, host: str, port: int, *, ssl=None) -> None:
        if self.refuse:
            raise ConnectionRefusedError(111, "Connect call failed")

    async def subscribe(self, topics: list[str], *, qos: int) -> None:
        assert qos == 1
        self.subscribed = topics

    async def disconnect(self) -> None:
        self.disconnected = True

    def stats(self) -> Stats:
        return Stats("BrokenPipeError: [Errno 32] Broken pipe")


class RecordingBackoff(Backoff):
    def __init__(self) -> None:
        super().__init__(maximum=0.004, first=0.001)
        self.waits: list[float] = []

    def next(self) -> float:
        delay = super().next()
        self.waits.append(delay)
        return delay


def run(plan: list[str], *, stop_after: int | None = None, topics=("banyan/+/devices/+/readings",)):
    """Connections in the order of ``plan``: "refuse" (cannot connect), "end" (the session ends),
    "done" (the session is finished). Returns the clients, the backoff, and the session's calls."""
    clients: list[FakeClient] = []
    sessions: list[int] = []
    backoff = RecordingBackoff()
    events = {"connected": 0, "disconnected": 0}

    async def main() -> None:
        stopping = asyncio.Event()

        def make_client() -> FakeClient:
            client = FakeClient(len(clients), refuse=plan[len(clients)] == "refuse")
            clients.append(client)
            return client

        async def session(client: FakeClient) -> bool:
            sessions.append(client.number)
            if stop_after is not None and len(sessions) >= stop_after:
                stopping.set()
            return plan[client.number] == "done"

        await asyncio.wait_for(
            connect_forever(
                make_client,
                session,
                address=ADDRESS,
                stopping=stopping,
                backoff=backoff,
                log=logging.getLogger("banyan.test.reconnect"),
                name="tester",
                topics=topics,
                detail=", as a test",
                on_connected=lambda: events.__setitem__("connected", events["connected"] + 1),
                on_disconnected=lambda: events.__setitem__("disconnected", events["disconnected"] + 1),
            ),
            timeout=10,
        )

    asyncio.run(main())
    return clients, backoff, sessions, events


def test_a_refused_connection_is_retried_with_growing_backoff_reset_by_a_good_one(caplog):
    with caplog.at_level("INFO", logger="banyan.test.reconnect"):
        clients, backoff, sessions, events = run(["refuse", "refuse", "refuse", "end", "refuse", "done"])
    assert sessions == [3, 5]
    # 3 refusals (0.001, 0.002, 0.004), the ended session after a reset (0.001), one refusal (0.002).
    assert backoff.waits == [0.001, 0.002, 0.004, 0.001, 0.002]
    assert all(client.disconnected for client in clients)
    assert [c.subscribed for c in clients if not c.refuse] == [["banyan/+/devices/+/readings"]] * 2
    assert events == {"connected": 2, "disconnected": 2}
    text = caplog.text
    assert text.count("tester cannot reach the MQTT broker (ConnectionRefusedError: ") == 4
    assert "tester connected to 127.0.0.1:1883, as a test" in text
    ended = "tester: MQTT connection ended (BrokenPipeError: [Errno 32] Broken pipe); reconnecting in 0.0 s"
    assert ended in text


def test_a_finished_session_ends_the_loop_at_once():
    clients, backoff, sessions, _events = run(["done"], topics=())
    assert (sessions, backoff.waits) == ([0], [])
    assert clients[0].subscribed == [] and clients[0].disconnected


def test_stopping_ends_the_loop_after_the_session_without_reconnecting(caplog):
    with caplog.at_level("WARNING", logger="banyan.test.reconnect"):
        clients, backoff, sessions, _events = run(["end", "end"], stop_after=1)
    assert (len(clients), sessions, backoff.waits) == (1, [0], [])
    assert "reconnecting" not in caplog.text


@pytest.mark.parametrize("maximum", [0.5, 30.0])
def test_the_backoff_doubles_up_to_its_maximum(maximum):
    backoff = Backoff(maximum)
    waits = [backoff.next() for _ in range(8)]
    assert waits[:2] == [0.5, min(1.0, maximum)] and max(waits) == maximum
    backoff.reset()
    assert backoff.next() == 0.5
