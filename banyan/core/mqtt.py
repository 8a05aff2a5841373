"""The MQTT broker's address (``BANYAN_MQTT_URL``) and the reconnect backoff that every Banyan MQTT
client (ingest, the simulator, the bus bridge) shares."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None


def parse_broker_url(url: str) -> BrokerAddress:
    """``mqtt://[user[:password]@]host[:port]`` or ``mqtts://…`` (TLS, default port 8883)."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(
            f"BANYAN_MQTT_URL must start with mqtt:// or mqtts://, not {parts.scheme or '(none)'}://"
        )
    tls = parts.scheme in ("mqtts", "ssl")
    return BrokerAddress(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (8883 if tls else 1883),
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class Backoff:
    """Bounded exponential backoff: 0.5 s, 1 s, 2 s … up to ``maximum``."""

    def __init__(self, maximum: float, first: float = 0.5) -> None:
        self.first, self.maximum, self.delay = first, maximum, first

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.maximum, self.delay * 2)
        return delay

    def reset(self) -> None:
        self.delay = self.first
