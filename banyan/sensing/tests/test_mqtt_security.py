"""MQTT secured as shipped (issue 10, finding 3), on a real Mosquitto started from the shipped
``deploy/mosquitto/banyan.conf`` (only its port and file paths changed, by ``start_mosquitto``).

- anonymous clients and wrong passwords are refused at CONNECT;
- ``banyan mqtt secret`` + ``banyan mqtt sync --reload`` let a device in; its own readings reach
  ``banyan ingest`` and are stored; another device's topic, another community's and the events
  topics are refused by the broker (nothing stored, no forged event seen by anyone);
- a device cannot listen: ``#`` and the events topics bring it nothing, while a service account's
  identical subscription receives the same messages (the control);
- ``banyan mqtt revoke`` + sync shuts it out again;
- a TLS listener with a CA made here: Banyan's client connects verifying that CA, and fails without it.

No waiting for something not to happen: what must not arrive is sent first, then something that
must, on the same connection; once the second is seen, the first would have been seen too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from banyan.core.mqtt import service_login, signed_event
from banyan.processes.broker import CONFIG, TlsFiles, free_port, start_mosquitto, stop
from banyan.sensing.tests.test_ingest_mqtt import (
    REPO,
    Worker,
    query,
    reading,
    readings_of,
    site,
    topic,
    wait_until,
)

pytestmark = pytest.mark.slow

__all__ = ["site"]  # the module-scoped seeded SQLite site of the ingest tests


@pytest.fixture(scope="module")
def secured():
    """A Mosquitto from the shipped config on a free port: yields (port, folder)."""
    folder = Path(tempfile.mkdtemp(prefix="banyan-test-mqtt-security-"))
    process, port = start_mosquitto(folder)
    try:
        yield port, folder
    finally:
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def banyan(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "banyan", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def sync(env: dict, folder: Path) -> str:
    return banyan(
        env,
        *("mqtt", "sync", "--password-file", str(folder / "passwd"), "--acl-file", str(folder / "acl")),
        *("--simulator", "--reload", "--pid-file", str(folder / "data" / "mosquitto.pid")),
    )


async def _try_connect(port: int, **login) -> int:
    """0 if the broker accepts, else its CONNACK return code."""
    from mqttium import ConnectRefusedError
    from mqttium.api import AsyncClient

    client = AsyncClient("banyan-test-login", clean_start=True, **login)
    try:
        await client.connect("127.0.0.1", port)
    except ConnectRefusedError as refused:
        return refused.reason_code
    await client.disconnect()
    return 0


def connect_code(port: int, **login) -> int:
    return asyncio.run(_try_connect(port, **login))


class Listener:
    """A client subscribed to ``filters``; :meth:`barrier` returns once every message the broker sent
    it before then has been received (a SUBACK travels behind them on the same connection)."""

    def __init__(self, client) -> None:
        self.client = client
        self.received: list[tuple[str, bytes]] = []
        self._task: asyncio.Task | None = None
        self._barriers = 0

    @classmethod
    async def open(cls, port: int, name: str, filters: list[str], **login) -> Listener:
        from mqttium.api import AsyncClient
        from mqttium.errors import SubscribeError

        listener = cls(AsyncClient(name, clean_start=True, **login))
        await listener.client.connect("127.0.0.1", port)
        for pattern in filters:
            try:
                await listener.client.subscribe(pattern, qos=1)
            except SubscribeError:
                pass  # refused outright is fine too: what matters is what arrives

        async def consume() -> None:
            async for message in listener.client.messages():
                listener.received.append((message.topic, bytes(message.payload)))

        listener._task = asyncio.create_task(consume())
        return listener

    async def barrier(self) -> None:
        from mqttium.errors import SubscribeError

        self._barriers += 1
        try:
            await self.client.subscribe(f"banyan/test-barrier/{self._barriers}", qos=1)
        except SubscribeError:
            pass
        for _ in range(5):
            await asyncio.sleep(0)  # let the consumer take what arrived before the SUBACK

    async def wait(self, timeout: float = 10.0) -> bool:
        """Until something arrived (the loop runs meanwhile), or ``timeout``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.received and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        return bool(self.received)

    async def close(self) -> None:
        assert self._task is not None
        self._task.cancel()
        await self.client.disconnect()


async def _publish(port: int, messages: list[tuple[str, bytes]], *, protocol5: bool = False, **login) -> list:
    """Publish with QoS 1, each acknowledged before the next; returns per message None or the
    broker's refusal (MQTT 5 only: MQTT 3.1.1 has no way to say no, the broker drops it silently)."""
    from mqttium import MQTTProtocolVersion
    from mqttium.api import AsyncClient
    from mqttium.errors import PublishRejectedError

    version = MQTTProtocolVersion.MQTTv5 if protocol5 else MQTTProtocolVersion.MQTTv311
    client = AsyncClient("banyan-test-device", clean_start=True, protocol=version, **login)
    await client.connect("127.0.0.1", port)
    outcomes = []
    try:
        for target, body in messages:
            try:
                receipt = await client.publish(target, body, qos=1)
                await receipt.wait()
            except PublishRejectedError as refused:
                outcomes.append(refused.reason_code)
            else:
                outcomes.append(None)
    finally:
        await client.disconnect()
    return outcomes


def publish(port: int, messages: list[tuple[str, bytes | str]], **kwargs) -> list:
    encoded = [(t, b.encode() if isinstance(b, str) else b) for t, b in messages]
    return asyncio.run(_publish(port, encoded, **kwargs))


# --- the shipped config --------------------------------------------------------------------------


def test_the_shipped_config_refuses_anonymous_clients(secured):
    """Finding 3: ``allow_anonymous true`` let anyone publish an SOS or read every heart rate."""
    port, _folder = secured
    shipped = [line.strip() for line in CONFIG.read_text().splitlines() if not line.startswith("#")]
    assert "allow_anonymous false" in shipped and "allow_anonymous true" not in shipped
    assert any(line.startswith("password_file ") for line in shipped)
    assert any(line.startswith("acl_file ") for line in shipped)
    assert connect_code(port) == 5, "CONNACK 5: not authorised"
    assert connect_code(port, username="banyan-ingest", password="wrong") == 5
    assert connect_code(port, username="nobody", password="x") == 5
    assert connect_code(port, **service_login("ingest")) == 0


# --- devices ------------------------------------------------------------------------------------


def test_a_device_with_its_own_account_may_publish_only_its_own_readings(secured, site, tmp_path):
    port, folder = secured
    env, database, devices = site
    env = {**env, "BANYAN_MQTT_URL": f"mqtt://127.0.0.1:{port}"}
    (code, community), (other, _same) = devices["levels"][0], devices["levels"][1]

    out = banyan(env, "mqtt", "secret", code).strip().splitlines()
    username, secret = out[0].removeprefix("username: "), out[-1]
    assert username == f"{community}/{code}"
    stored = query(database, "SELECT mqtt_password_hash FROM sensing_device WHERE code = ?", code)[0][0]
    assert stored.startswith("$7$") and secret not in stored
    audit = query(database, "SELECT details FROM audit_auditentry WHERE action = 'device.mqtt_secret'")
    assert audit and secret not in audit[0][0]
    assert connect_code(port, username=username, password=secret) == 5, "not before the sync"

    said = sync(env, folder)
    assert "1 devices" in said and "reloaded" in said
    for name in ("passwd", "acl"):
        mode = (folder / name).stat()
        assert stat.S_IMODE(mode.st_mode) in (0o600, 0o640)
    assert (
        f"user {username}\ntopic write banyan/{community}/devices/{code}/readings\n"
        in (folder / "acl").read_text()
    )
    device = {"username": username, "password": secret}
    # The broker reads the files again on SIGHUP, in its own time.
    assert wait_until(lambda: connect_code(port, **device) == 0, timeout=10), "the synced device is let in"
    assert connect_code(port, username=username, password="not-" + secret) == 5

    ingest = Worker(env, port, "banyan-test-security", tmp_path / "ingest.log").start()
    events = asyncio.new_event_loop()
    try:
        listener = events.run_until_complete(
            Listener.open(
                port, "banyan-test-bus-listener", [f"banyan/{community}/events/#"], **service_login("bus")
            )
        )
        ts = dt.datetime.now(tz=dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5)
        forged = json.dumps({"event": "alert.raised", "id": 999, "grade": "red", "community": community})
        outcomes = publish(
            port,
            [
                (topic(community, other), reading(99.0, ts, seq=1)),  # another device's topic
                (topic("T-ELSEWHERE", code), reading(98.0, ts, seq=2)),  # another community's
                (f"banyan/{community}/events/alert.raised", forged),  # an event
                (topic(community, code), reading(12.5, ts, seq=3)),  # its own
            ],
            **device,
        )
        assert outcomes == [None] * 4, "MQTT 3.1.1: refused messages are dropped silently"
        assert wait_until(lambda: readings_of(database, code)), ingest.log.read_text()
        assert [value for value, _ts in readings_of(database, code)] == [12.5]
        assert (99.0, ts.isoformat()) not in readings_of(database, other)
        letters = query(database, "SELECT topic FROM sensing_deadletter WHERE topic LIKE '%T-ELSEWHERE%'")
        assert letters == [], "never reached ingest"

        # MQTT 5 says so: 0x87 not authorised.
        refused = publish(
            port,
            [(f"banyan/{community}/events/alert.raised", forged), (topic(community, other), reading(1, ts))],
            protocol5=True,
            **device,
        )
        assert refused == [0x87, 0x87]

        # A real event after the forged ones: the listener sees it, and only it.
        real = f"banyan/{community}/events/alert.cleared"
        publish(
            port, [(real, signed_event(real, {"event": "alert.cleared", "id": 1}))], **service_login("bus")
        )
        assert events.run_until_complete(listener.wait())
        events.run_until_complete(listener.barrier())
        assert [t for t, _body in listener.received] == [real]
        events.run_until_complete(listener.close())
    finally:
        ingest.stop()
        events.close()

    # Revoked: out at the next sync.
    assert "removed" in banyan(env, "mqtt", "revoke", code)
    assert "0 devices" in sync(env, folder)
    assert wait_until(lambda: connect_code(port, **device) == 5, timeout=10)


def test_a_device_cannot_listen_to_readings_or_events(secured, site):
    port, folder = secured
    env, _database, devices = site
    env = {**env, "BANYAN_MQTT_URL": f"mqtt://127.0.0.1:{port}"}
    code, community, _frigate_name = devices["cameras"][0]  # any device will do
    secret = banyan(env, "mqtt", "secret", code).strip().splitlines()[-1]
    sync(env, folder)
    device = {"username": f"{community}/{code}", "password": secret}
    assert wait_until(lambda: connect_code(port, **device) == 0, timeout=10)

    async def scenario() -> tuple[list, list]:
        everything = ["#", "banyan/+/events/#", "banyan/+/devices/+/readings", "$SYS/#"]
        spy = await Listener.open(port, "banyan-test-spy", everything, **device)
        # The control: Banyan's ingest account may read readings, the bus account events.
        readings = await Listener.open(port, "banyan-test-control-r", ["#"], **service_login("ingest"))
        events = await Listener.open(port, "banyan-test-control-e", ["#"], **service_login("bus"))
        heart = topic(community, "WEARABLE-1")
        body = json.dumps({"metric": "heart_rate", "value": 71, "ts": "2026-01-01T00:00:00+00:00"}).encode()
        await _publish(port, [(heart, body)], **service_login("simulator"))
        raised = f"banyan/{community}/events/alert.raised"
        await _publish(
            port,
            [(raised, signed_event(raised, {"event": "alert.raised", "id": 5, "unit": "3-1-502"}))],
            **service_login("bus"),
        )
        for listener in (spy, readings, events):
            await listener.barrier()
        seen = (spy.received, readings.received + events.received)
        for listener in (spy, readings, events):
            await listener.close()
        return seen

    spied, controls = asyncio.run(scenario())
    assert sorted(t for t, _b in controls) == sorted(
        [topic(community, "WEARABLE-1"), f"banyan/{community}/events/alert.raised"]
    ), "the control listeners received both"
    assert spied == [], "the device received nothing"


def test_a_communitys_frigate_writes_only_its_own_communitys_topics(secured, site):
    """One shared Frigate account could publish under any community's ``frigate/<code>/events``: a
    person down in a neighbour's lift. Each community's Frigate has its own account now."""
    port, folder = secured
    env, _database, devices = site
    env = {**env, "BANYAN_MQTT_URL": f"mqtt://127.0.0.1:{port}"}
    _code, community, _frigate_name = devices["cameras"][0]
    out = banyan(env, "mqtt", "frigate", community).strip().splitlines()
    login = {"username": out[0].removeprefix("username: "), "password": out[-1]}
    assert login["username"] == f"banyan-frigate-{community}" and len(login["password"]) >= 40
    sync(env, folder)
    assert wait_until(lambda: connect_code(port, **login) == 0, timeout=10)
    assert connect_code(port, username=login["username"], password=login["password"][:-1] + "x") == 5

    own, neighbour, shared = f"frigate/{community}/events", "frigate/999999999999/events", "frigate/events"

    async def scenario() -> list[tuple[str, bytes]]:
        ingest = await Listener.open(port, "banyan-test-frigate", ["frigate/#"], **service_login("ingest"))
        # What must not arrive first, on the same connection as what must.
        await _publish(port, [(neighbour, b'{"n": 1}'), (shared, b'{"n": 2}'), (own, b'{"n": 3}')], **login)
        await _publish(port, [(own, b'{"n": 4}'), (shared, b'{"n": 5}')], **service_login("frigate"))
        await ingest.barrier()
        seen = list(ingest.received)
        await ingest.close()
        return seen

    assert asyncio.run(scenario()) == [(own, b'{"n": 3}'), (shared, b'{"n": 5}')], (
        "a community's Frigate reaches only its own topic; the shared account only frigate/events"
    )
    with pytest.raises(AssertionError, match="no community"):
        banyan(env, "mqtt", "frigate", "NOPE")


# --- TLS ------------------------------------------------------------------------------------------


def _make_ca_and_server(folder: Path) -> tuple[Path, Path, Path]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(tz=dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Banyan test community CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.crt", folder / "server.crt", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@pytest.fixture
def tls_broker():
    folder = Path(tempfile.mkdtemp(prefix="banyan-test-mqtt-tls-"))
    folder.chmod(0o755)
    cafile, certfile, keyfile = _make_ca_and_server(folder)
    tls = TlsFiles(port=free_port(), cafile=cafile, certfile=certfile, keyfile=keyfile)
    process, _plain = start_mosquitto(folder / "broker", tls=tls)
    try:
        yield tls
    finally:
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def test_the_tls_listener_verifies_against_the_community_ca(tls_broker, monkeypatch):
    from mqttium.api import AsyncClient

    from banyan.core.bus_mqtt import MqttBridge
    from banyan.core.mqtt import credentials, parse_broker_url, tls_context

    address = parse_broker_url(f"mqtts://localhost:{tls_broker.port}")

    async def connect() -> None:
        client = AsyncClient("banyan-test-tls", clean_start=True, **service_login("ingest"))
        await client.connect(address.host, address.port, ssl=tls_context(address), timeout=10)
        await client.disconnect()

    monkeypatch.delenv("BANYAN_MQTT_CA_FILE", raising=False)
    with pytest.raises(Exception) as unverified:  # noqa: PT011 -- mqttium wraps the SSL error
        asyncio.run(connect())
    assert "CERTIFICATE_VERIFY_FAILED" in repr(unverified.value) + repr(unverified.value.__cause__)

    monkeypatch.setenv("BANYAN_MQTT_CA_FILE", str(tls_broker.cafile))
    asyncio.run(connect())
    assert credentials(address, "bus")[0] == "banyan-bus"
    # Banyan's own bus bridge over TLS, as `banyan serve` runs it with BANYAN_MQTT_URL=mqtts://…
    bridge = MqttBridge(f"mqtts://localhost:{tls_broker.port}", origin="test-tls").start()
    try:
        assert bridge.connected.wait(10), "the bridge connected over TLS"
    finally:
        bridge.stop()


# --- the files ----------------------------------------------------------------------------------


def test_the_password_file_is_what_mosquitto_passwd_writes(tmp_path):
    from banyan.sensing.mqtt_accounts import check_mosquitto_hash, mosquitto_hash

    passwd = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwd), "alice", "s3cret"], check=True)
    _user, theirs = passwd.read_text().strip().split(":", 1)
    assert check_mosquitto_hash("s3cret", theirs)
    assert not check_mosquitto_hash("s3cret!", theirs)
    ours = mosquitto_hash("s3cret")
    assert ours.startswith("$7$1000$") and check_mosquitto_hash("s3cret", ours)


def test_the_key_file_is_created_private(tmp_path, monkeypatch):
    from banyan.core import mqtt

    monkeypatch.setenv("BANYAN_MQTT_KEY_FILE", str(tmp_path / "mqtt.keys"))
    mqtt.reset_keys()
    try:
        password = mqtt.service_password("ingest")
        assert stat.S_IMODE(os.stat(tmp_path / "mqtt.keys").st_mode) == 0o600
        assert f"ingest={password}" in (tmp_path / "mqtt.keys").read_text()
        assert len(mqtt.bus_key()) >= 32
        # An older file without a newer account's line: the line is added, nothing else changes.
        older = [line for line in (tmp_path / "mqtt.keys").read_text().splitlines() if "frigate=" not in line]
        (tmp_path / "mqtt.keys").write_text("\n".join(older) + "\n")
        mqtt.reset_keys()
        assert mqtt.service_password("ingest") == password
        assert mqtt.service_password("frigate") and "frigate=" in (tmp_path / "mqtt.keys").read_text()
        monkeypatch.setenv("BANYAN_MQTT_INGEST_PASSWORD", "from-the-environment")
        mqtt.reset_keys()
        assert mqtt.service_password("ingest") == "from-the-environment"
        address = mqtt.parse_broker_url("mqtt://gateway:pw@broker")
        assert mqtt.credentials(address, "ingest") == ("gateway", "pw"), "the URL's user wins"
    finally:
        mqtt.reset_keys()


@pytest.mark.django_db
def test_a_device_secret_is_shown_once_stored_hashed_audited_and_synced(tmp_path):
    from banyan.audit.models import AuditEntry
    from banyan.places.choices import RegionKind
    from banyan.places.models import Region
    from banyan.sensing.models import Device
    from banyan.sensing.mqtt_accounts import check_mosquitto_hash, issue_device_secret, sync_broker_files

    device = Device.objects.select_related("community").order_by("code").first()
    issued = issue_device_secret(actor=None, device=device)
    device.refresh_from_db()
    assert issued.username == f"{device.community.code}/{device.code}"
    assert check_mosquitto_hash(issued.secret, device.mqtt_password_hash)
    assert issued.secret not in device.mqtt_password_hash
    entry = AuditEntry.objects.filter(action="device.mqtt_secret", subject_id=str(device.pk)).get()
    assert issued.secret not in json.dumps(entry.details)
    # A device whose code cannot be one topic level (stored before codes were checked) is left out.
    Device.objects.filter(pk=device.pk).update(code="bad code/#")
    other = Device.objects.select_related("community").exclude(pk=device.pk).order_by("code").first()
    second = issue_device_secret(actor=None, device=other)

    result = sync_broker_files(password_file=tmp_path / "passwd", acl_file=tmp_path / "acl")
    communities = list(
        Region.objects.filter(kind=RegionKind.COMMUNITY).order_by("code").values_list("code", flat=True)
    )
    assert (result.service_accounts, result.devices) == (3 + len(communities), 1)
    passwd, acl = (tmp_path / "passwd").read_text(), (tmp_path / "acl").read_text()
    assert [line.split(":")[0] for line in passwd.splitlines()] == [
        "banyan-ingest",
        "banyan-bus",
        "banyan-frigate",
        *(f"banyan-frigate-{code}" for code in communities),
        second.username,
    ]
    assert "user banyan-frigate\ntopic write frigate/events\n" in acl
    assert f"user banyan-frigate-{communities[0]}\ntopic write frigate/{communities[0]}/#\n" in acl
    assert "banyan-sim" not in passwd, "the simulator's account only with --simulator"
    assert "bad code" not in passwd + acl and second.secret not in passwd
    assert (
        f"user {second.username}\ntopic write banyan/{other.community.code}/devices/{other.code}/readings\n"
        in acl
    )
    assert "topic readwrite banyan/+/events/#" in acl and acl.count("events/#") == 2, "ingest and bus only"
    assert stat.S_IMODE((tmp_path / "passwd").stat().st_mode) in (0o600, 0o640)
