"""The MQTT broker's address (``BANYAN_MQTT_URL``), Banyan's own broker accounts, the signature of
bus events, and the one reconnect loop (:func:`connect_forever`, with its bounded :class:`Backoff`)
that every Banyan MQTT client (ingest, the simulator, the bus bridge) runs in.

**Service accounts.** Banyan's processes connect as one of its service accounts unless
``BANYAN_MQTT_URL`` names a user (``mqtt://user:password@host``, which always wins):

==============  ==================  =================================  ===============================
role            username            password from                      may
==============  ==================  =================================  ===============================
``ingest``      ``banyan-ingest``   ``BANYAN_MQTT_INGEST_PASSWORD``    read readings and Frigate
                                                                       events; write events
``bus``         ``banyan-bus``      ``BANYAN_MQTT_BUS_PASSWORD``       read and write events
``simulator``   ``banyan-sim``      ``BANYAN_MQTT_SIMULATOR_PASSWORD`` write readings (demo/tests)
``frigate``     ``banyan-frigate``  ``BANYAN_MQTT_FRIGATE_PASSWORD``   write ``frigate/events`` (a single
                                                                       community's Frigate; each
                                                                       community's own Frigate has an
                                                                       account derived from this
                                                                       password, see mqtt_accounts)
==============  ==================  =================================  ===============================

Device usernames always hold a ``/`` (``<community>/<device>``) and these never do, so no device
can be named like a service account. The passwords and the bus key come from the environment, else
from the key file ``BANYAN_MQTT_KEY_FILE`` (default ``var/mqtt.keys``; lines ``bus_key=…``,
``ingest=…``, ``bus=…``, ``simulator=…``, ``frigate=…``), which is created with fresh random values
(mode 0600) the first time it is needed, like the vault's key file; a line missing from an older file
is added with a fresh value.

**Signed events.** Every event that Banyan publishes on ``banyan/<community>/events/<event>``
carries ``"sig"``: HMAC-SHA256, with the bus key (``BANYAN_BUS_KEY``, 32 bytes or more, url-safe
base64, kept outside the database), over the topic, a newline and the event's JSON with sorted keys
and without ``sig``. A receiver verifies it before reading anything else from the message, so an
event is believed only if one of Banyan's processes wrote it for that topic; its ``origin`` then
only tells a process its own events apart.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import datetime as dt
import hashlib
import hmac
import logging
import os
import secrets
import ssl
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

log = logging.getLogger(__name__)


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


# --- the one reconnect loop ----------------------------------------------------------------------


async def pause(stopping: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stopping`` is set meanwhile."""
    try:
        await asyncio.wait_for(stopping.wait(), timeout=seconds)
    except TimeoutError:
        pass


async def disconnect(client: Any) -> None:
    """Disconnect ``client``, giving up after 5 s; a connection already gone is no error."""
    try:
        await asyncio.wait_for(client.disconnect(), timeout=5)
    except Exception:  # noqa: BLE001 -- already gone
        pass


async def connect_forever(
    make_client: Callable[[], Any],
    session: Callable[[Any], Awaitable[bool]],
    *,
    address: BrokerAddress,
    stopping: asyncio.Event,
    backoff: Backoff,
    log: logging.Logger,
    name: str,
    topics: Sequence[str] = (),
    detail: str = "",
    on_connected: Callable[[], None] | None = None,
    on_disconnected: Callable[[], None] | None = None,
) -> None:
    """Connect a fresh client from ``make_client()`` to ``address``, subscribe it to ``topics`` (QoS 1)
    and run ``session(client)``; when the session returns False (the connection ended) disconnect,
    wait ``backoff`` and start again, until ``stopping`` is set or the session returns True (done).

    Every Banyan MQTT client runs in this loop (``banyan ingest``, the bus bridge, ``banyan simulate``).
    The logs name the client (``name``), the broker's address and the failure's type and message
    (about the connection, never a message's content): "<name> connected to <host>:<port><detail>",
    "<name> cannot reach the MQTT broker (…); retrying in N s", "<name>: MQTT connection ended (…);
    reconnecting in N s"."""
    while not stopping.is_set():
        client = make_client()
        try:
            await client.connect(address.host, address.port, ssl=tls_context(address))
            if topics:
                await client.subscribe(list(topics), qos=1)
        except Exception as exc:  # noqa: BLE001 -- any failure to connect is retried
            delay = backoff.next()
            log.warning(
                "%s cannot reach the MQTT broker (%s: %s); retrying in %.1f s",
                name,
                type(exc).__name__,
                exc,
                delay,
            )
            await disconnect(client)
            await pause(stopping, delay)
            continue
        backoff.reset()
        log.info("%s connected to %s:%s%s", name, address.host, address.port, detail)
        if on_connected is not None:
            on_connected()
        try:
            finished = await session(client)
        finally:
            if on_disconnected is not None:
                on_disconnected()
            await disconnect(client)
        if finished:
            return
        if not stopping.is_set():
            delay = backoff.next()
            error = _last_error(client)
            log.warning("%s: MQTT connection ended (%s); reconnecting in %.1f s", name, error, delay)
            await pause(stopping, delay)


def _last_error(client: Any) -> str:
    """Why the client's last connection ended: mqttium's ``"ExceptionType: message"`` (about the
    connection, never a message's content), or "closed"."""
    try:
        error = client.stats().last_disconnect_error
    except Exception:  # noqa: BLE001 -- a client without statistics
        error = None
    if error is None:
        return "closed"
    return str(error)[:200] if isinstance(error, str) else type(error).__name__


# --- service accounts and the bus key ------------------------------------------------------


@dataclass(frozen=True)
class ServiceAccount:
    role: str  # its line in the key file
    username: str
    variable: str  # the environment variable that overrides the key file


SERVICE_ACCOUNTS = {
    account.role: account
    for account in (
        ServiceAccount("ingest", "banyan-ingest", "BANYAN_MQTT_INGEST_PASSWORD"),
        ServiceAccount("bus", "banyan-bus", "BANYAN_MQTT_BUS_PASSWORD"),
        ServiceAccount("simulator", "banyan-sim", "BANYAN_MQTT_SIMULATOR_PASSWORD"),
        ServiceAccount("frigate", "banyan-frigate", "BANYAN_MQTT_FRIGATE_PASSWORD"),
    )
}
BUS_KEY_VARIABLE = "BANYAN_BUS_KEY"
KEY_FILE_NAMES = ("bus_key", *SERVICE_ACCOUNTS)


class MqttKeyError(Exception):
    """The MQTT key file or variables are unusable; the message says which line or variable."""


def key_file() -> Path:
    """``BANYAN_MQTT_KEY_FILE``, read when asked (like the vault's), else ``var/mqtt.keys``."""
    named = os.environ.get("BANYAN_MQTT_KEY_FILE")
    if named:
        return Path(named)
    from django.conf import settings

    return Path(settings.VAR_DIR) / "mqtt.keys"


def new_secret() -> str:
    """A fresh random secret: 32 bytes, url-safe base64 (no ``:``, ``@`` or ``/``, so it fits a URL)."""
    return secrets.token_urlsafe(32)


def create_key_file(path: Path) -> None:
    """A new key file with fresh values, mode 0600; refuses to overwrite one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(
            "# Banyan's MQTT service-account passwords and bus signing key. Keep outside the database.\n"
        )
        for name in KEY_FILE_NAMES:
            handle.write(f"{name}={new_secret()}\n")
    log.warning("created a new MQTT key file at %s", path)


def _read_key_file(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        name = name.strip()
        if name not in KEY_FILE_NAMES or not value.strip():
            raise MqttKeyError(
                f"{path}: line {number}: expected one of {', '.join(KEY_FILE_NAMES)} as name=value"
            )
        values[name] = value.strip()
    return values


def _add_to_key_file(path: Path, names: list[str]) -> dict[str, str]:
    """Fresh values for ``names`` appended to an older key file (an account added since it was made)."""
    added = {name: new_secret() for name in names}
    with open(path, "a") as handle:
        handle.writelines(f"{name}={value}\n" for name, value in added.items())
    log.warning("added %s to the MQTT key file %s", ", ".join(names), path)
    return added


_loaded: dict[str, str] | None = None
_lock = threading.Lock()


def _material() -> dict[str, str]:
    """The bus key and service passwords: the environment first, then the key file."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                values = {
                    role: os.environ.get(a.variable, "").strip() for role, a in SERVICE_ACCOUNTS.items()
                }
                values["bus_key"] = os.environ.get(BUS_KEY_VARIABLE, "").strip()
                if not all(values.values()):
                    path = key_file()
                    if not path.exists():
                        create_key_file(path)
                    from_file = _read_key_file(path)
                    missing = [name for name in KEY_FILE_NAMES if not values[name] and name not in from_file]
                    if missing:
                        from_file |= _add_to_key_file(path, missing)
                    values = {name: value or from_file.get(name, "") for name, value in values.items()}
                _loaded = values
    return _loaded


def reset_keys() -> None:
    """Forget the loaded passwords and key (after a change of the file or variables, or in tests)."""
    global _loaded, _bus_key
    _loaded = None
    _bus_key = None


def service_password(role: str) -> str:
    account = SERVICE_ACCOUNTS[role]
    value = _material().get(role, "")
    if not value:
        raise MqttKeyError(
            f"no password for the MQTT account {account.username}: set {account.variable} "
            f"or a {role}= line in {key_file()}"
        )
    return value


_bus_key: bytes | None = None


def bus_key() -> bytes:
    global _bus_key
    if _bus_key is None:
        value = _material().get("bus_key", "")
        if not value:
            raise MqttKeyError(f"no bus key: set {BUS_KEY_VARIABLE} or a bus_key= line in {key_file()}")
        try:
            key = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except ValueError:
            raise MqttKeyError(f"{BUS_KEY_VARIABLE} is not url-safe base64") from None
        if len(key) < 32:
            raise MqttKeyError(f"{BUS_KEY_VARIABLE} must hold at least 32 bytes")
        _bus_key = key
    return _bus_key


def credentials(address: BrokerAddress, role: str) -> tuple[str, str]:
    """Who a Banyan process connects as: the URL's user if it names one, else its service account."""
    if address.username:
        return address.username, address.password or ""
    return SERVICE_ACCOUNTS[role].username, service_password(role)


def service_login(role: str) -> dict[str, str]:
    """``username`` and ``password`` of a service account, as keyword arguments for an MQTT client."""
    return {"username": SERVICE_ACCOUNTS[role].username, "password": service_password(role)}


def tls_context(address: BrokerAddress) -> ssl.SSLContext | None:
    """For ``mqtts://``: a context that verifies the broker's certificate and name against the
    system's CAs, or only against ``BANYAN_MQTT_CA_FILE`` (a PEM file) when that is set."""
    if not address.tls:
        return None
    cafile = os.environ.get("BANYAN_MQTT_CA_FILE") or None
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


# --- signed events ---------------------------------------------------------------------------

SIGNATURE = "sig"


def _mac(topic: str, canonical: bytes) -> str:
    return hmac.new(bus_key(), topic.encode() + b"\n" + canonical, hashlib.sha256).hexdigest()


# Freshness, so that a recorded event cannot be played again: every signed event carries a random
# ``nonce`` and the wall-clock second it was ``sent`` (both under the signature). A receiver drops an
# event sent more than REPLAY_WINDOW_S away from its own wall clock, and one whose nonce it has seen
# (``ReplayGuard``). Transport time, not domain time: not core.clock, which a drill may simulate.
NONCE, SENT = "nonce", "sent"
REPLAY_WINDOW_S = 300


def _wall_seconds() -> int:
    return int(dt.datetime.now(dt.UTC).timestamp())


def signed_event(topic: str, event: dict[str, Any]) -> bytes:
    """The body to publish on ``topic``: ``event`` as JSON with a fresh nonce, the time it is sent and
    its signature under ``sig``."""
    event = {**event, NONCE: secrets.token_hex(12), SENT: _wall_seconds()}
    canonical = orjson.dumps(
        {k: v for k, v in event.items() if k != SIGNATURE}, option=orjson.OPT_SORT_KEYS, default=str
    )
    head = b'{"sig":"' + _mac(topic, canonical).encode() + b'"'
    return head + (b"," + canonical[1:] if canonical != b"{}" else b"}")


def verified_event(topic: str, body: bytes) -> dict[str, Any] | None:
    """The event in ``body`` if its signature for ``topic`` is good, else None. (Not JSON, not an
    object, no signature, or a signature made with another key or for another topic: None.)"""
    try:
        event = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(event, dict):
        return None
    signature = event.pop(SIGNATURE, None)
    if not isinstance(signature, str):
        return None
    try:
        canonical = orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
    if not hmac.compare_digest(signature.encode(), _mac(topic, canonical).encode()):
        return None
    return event


class ReplayGuard:
    """Which verified events are fresh: sent within ``REPLAY_WINDOW_S`` of now, with a nonce not seen
    before. One per receiver; it remembers nonces only as long as the window, so it stays bounded by
    the event rate times the window."""

    def __init__(self, window_s: int = REPLAY_WINDOW_S) -> None:
        self.window_s = window_s
        self._seen: collections.OrderedDict[str, int] = collections.OrderedDict()
        self._lock = threading.Lock()

    def fresh(self, event: dict[str, Any]) -> bool:
        """True the first time a fresh event is offered; False when stale, undated or replayed. The
        nonce and the time are taken out of ``event``."""
        nonce, sent = event.pop(NONCE, None), event.pop(SENT, None)
        if not isinstance(nonce, str) or not nonce or not isinstance(sent, int) or isinstance(sent, bool):
            return False
        now = _wall_seconds()
        if abs(now - sent) > self.window_s:
            return False
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < now - self.window_s:
                self._seen.popitem(last=False)
            if nonce in self._seen:
                return False
            self._seen[nonce] = max(sent, now)
        return True
