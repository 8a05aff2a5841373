"""The broker's accounts and ACLs, generated from the device registry (``banyan mqtt …``).

Mosquitto (``deploy/mosquitto/banyan.conf``) refuses anonymous clients and reads two files that
:func:`sync_broker_files` writes:

- the **password file** in Mosquitto's own format (``user:$7$<iterations>$<salt>$<hash>``,
  PBKDF2-SHA512 as ``mosquitto_passwd`` writes it), with one line per service account and per
  device that has been issued a secret;
- the **ACL file**: each account may touch only its topics.

=====================  ===================================================  =====================
account                may                                                  password
=====================  ===================================================  =====================
``banyan-ingest``      read ``banyan/+/devices/+/readings``, ``frigate/#``;  key file / environment
                       write ``banyan/+/events/#``
``banyan-bus``         read and write ``banyan/+/events/#``                 key file / environment
``banyan-sim``         write ``banyan/+/devices/+/readings`` (only with     key file / environment
                       ``--simulator``: demos and tests)
``banyan-frigate``     write ``frigate/events`` (a single community's        key file / environment
                       shared Frigate)
``banyan-frigate-<c>`` write ``frigate/<c>/#`` (community ``<c>``'s Frigate,   ``banyan mqtt frigate C``
                       ``mqtt.topic_prefix: frigate/<c>``)                   (derived, see below)
``<community>/<code>`` write ``banyan/<community>/devices/<code>/readings``  ``banyan mqtt secret``
=====================  ===================================================  =====================

A community's Frigate writes only its own community's topics, so one community's camera AI cannot
report a person down in another's. Its password is derived (HMAC-SHA256 of the community code under
the Frigate service password), so it needs no storage and changes when that password does.

A device subscribes to nothing and publishes only its own readings; the events topics are
writable by Banyan's service accounts alone. A device's secret is generated here, shown once and
stored only as the Mosquitto hash (``Device.mqtt_password_hash``), so the password file can be
written again at any time without knowing it.
"""

from __future__ import annotations

import base64
import grp
import hashlib
import hmac
import logging
import os
import re
import signal
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from banyan.audit.actions import AuditAction
from banyan.audit.services import Event, record
from banyan.core import clock
from banyan.core.events import EVENTS_ACL
from banyan.core.mqtt import SERVICE_ACCOUNTS, new_secret, service_password
from banyan.places.choices import RegionKind
from banyan.places.models import Region
from banyan.sensing.models import DEVICE_CODE, Device

log = logging.getLogger(__name__)

READINGS_TOPIC = "banyan/{community}/devices/{code}/readings"
EVENTS_TOPICS = EVENTS_ACL  # banyan/+/events/#: every event topic (banyan/core/events.py)
ALL_READINGS = "banyan/+/devices/+/readings"
# Mosquitto's own default is 101; the secrets Banyan makes are 256 random bits, so the cost only
# has to slow down guessing a person-chosen service password taken from the environment.
ITERATIONS = 1000
BROKER_GROUP = "mosquitto"
# One topic level of a username: no wildcard, separator, space or control character.
_LEVEL = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


@dataclass(frozen=True)
class BrokerAccount:
    """One line of the password file and its block in the ACL file."""

    username: str
    password_hash: str
    grants: tuple[tuple[str, str], ...]  # (read | write | readwrite, topic filter)


def mosquitto_hash(password: str, *, iterations: int = ITERATIONS, salt: bytes | None = None) -> str:
    """``$7$<iterations>$<salt>$<hash>``: what ``mosquitto_passwd`` writes (PBKDF2-SHA512, 12-byte salt)."""
    salt = salt if salt is not None else os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_mosquitto_hash(password: str, stored: str) -> bool:
    try:
        _empty, version, iterations, salt, _digest = stored.split("$")
        if version != "7":
            return False
        return mosquitto_hash(password, iterations=int(iterations), salt=base64.b64decode(salt)) == stored
    except ValueError:
        return False


def device_username(community_code: str, device_code: str) -> str:
    """A device's broker username: ``<community>/<code>`` (a service account never holds a ``/``)."""
    return f"{community_code}/{device_code}"


def service_accounts(*, simulator: bool = False) -> list[BrokerAccount]:
    """Banyan's own accounts, with their passwords from the key file or environment."""
    grants = {
        "ingest": (("read", ALL_READINGS), ("read", "frigate/#"), ("write", EVENTS_TOPICS)),
        "bus": (("readwrite", EVENTS_TOPICS),),
        "simulator": (("write", ALL_READINGS),),
        "frigate": (("write", "frigate/events"),),
    }
    roles = ["ingest", "bus", "frigate"] + (["simulator"] if simulator else [])
    return [
        BrokerAccount(SERVICE_ACCOUNTS[role].username, mosquitto_hash(service_password(role)), grants[role])
        for role in roles
    ]


FRIGATE_USERNAME = "banyan-frigate-{community}"


def frigate_password(community_code: str) -> str:
    """The password of community ``community_code``'s Frigate (``banyan mqtt frigate CODE`` prints it)."""
    key = service_password("frigate").encode()
    mac = hmac.new(key, b"frigate\n" + community_code.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def frigate_accounts() -> list[BrokerAccount]:
    """One Frigate account per community, writing only ``frigate/<community>/#``."""
    codes = Region.objects.filter(kind=RegionKind.COMMUNITY).order_by("code").values_list("code", flat=True)
    return [
        BrokerAccount(
            FRIGATE_USERNAME.format(community=code),
            mosquitto_hash(frigate_password(code)),
            (("write", f"frigate/{code}/#"),),
        )
        for code in codes
        if _LEVEL.match(code)
    ]


def device_accounts() -> list[BrokerAccount]:
    """One account per device with an issued secret; a device whose code or community code cannot
    be a topic level is left out (and logged by code)."""
    accounts = []
    rows = (
        Device.objects.exclude(mqtt_password_hash="")
        .order_by("community__code", "code")
        .values_list("code", "community__code", "mqtt_password_hash")
    )
    for code, community, password_hash in rows:
        if not (_LEVEL.match(code) and _LEVEL.match(community or "")):
            log.warning("device %s left out of the broker files: its code is not one topic level", code)
            continue
        accounts.append(
            BrokerAccount(
                device_username(community, code),
                password_hash,
                (("write", READINGS_TOPIC.format(community=community, code=code)),),
            )
        )
    return accounts


def render_password_file(accounts: Iterable[BrokerAccount]) -> str:
    return "".join(f"{account.username}:{account.password_hash}\n" for account in accounts)


def render_acl_file(accounts: Iterable[BrokerAccount]) -> str:
    """Mosquitto's ACL format; an account not named here (and every anonymous client) may do nothing."""
    blocks = [
        "# Written by `banyan mqtt sync` from Banyan's device registry; changes here are overwritten.\n"
    ]
    for account in accounts:
        lines = [f"user {account.username}"] + [f"topic {access} {topic}" for access, topic in account.grants]
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` in one step (a temporary file in the same folder, fsync, rename), mode 0640
    with the broker's group (``mosquitto``) when this process may give it, else 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
            handle.flush()
            try:
                gid = grp.getgrnam(BROKER_GROUP).gr_gid
                os.fchown(handle.fileno(), -1, gid)
            except (KeyError, PermissionError):
                pass  # no such group, or this user may not give files to it: 0600, the owner only
            else:
                os.fchmod(handle.fileno(), 0o640)
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class SyncResult:
    service_accounts: int
    devices: int
    password_file: Path
    acl_file: Path


def write_broker_files(password_file: Path, acl_file: Path, accounts: list[BrokerAccount]) -> None:
    """The ACL first: a new device's topics are granted before its password is accepted."""
    write_atomically(acl_file, render_acl_file(accounts))
    write_atomically(password_file, render_password_file(accounts))


def sync_broker_files(
    *, password_file: Path, acl_file: Path, simulator: bool = False, devices: bool = True
) -> SyncResult:
    """Write the password and ACL files from the service accounts and the device registry."""
    services = service_accounts(simulator=simulator) + frigate_accounts()
    registry = device_accounts() if devices else []
    write_broker_files(Path(password_file), Path(acl_file), services + registry)
    return SyncResult(len(services), len(registry), Path(password_file), Path(acl_file))


def reload_broker(pid_file: Path) -> int:
    """SIGHUP to the broker whose pid is in ``pid_file``: Mosquitto re-reads its password and ACL
    files. Returns the pid; raises ``OSError``/``ValueError`` naming the problem."""
    text = Path(pid_file).read_text().strip()
    if not text.isdigit():
        raise ValueError(f"{pid_file} does not hold a process id")
    pid = int(text)
    os.kill(pid, signal.SIGHUP)
    return pid


@dataclass(frozen=True)
class IssuedSecret:
    username: str
    secret: str


@transaction.atomic(durable=True)
def issue_device_secret(*, actor, device: Device) -> IssuedSecret:
    """Give ``device`` a new broker secret (the old one stops working at the next sync): returns it
    once; the registry keeps only its Mosquitto hash. Audited without the secret."""
    if not DEVICE_CODE.match(device.code):
        raise ValueError(f"device code {device.code!r} cannot be an MQTT username")
    secret = new_secret()
    device.mqtt_password_hash = mosquitto_hash(secret)
    device.mqtt_secret_issued_at = clock.now()
    device.save(update_fields=["mqtt_password_hash", "mqtt_secret_issued_at"])
    record(
        actor=actor,
        events=[Event(AuditAction.DEVICE_MQTT_SECRET, "device", device.pk, details={"code": device.code})],
    )
    return IssuedSecret(device_username(device.community.code, device.code), secret)


@transaction.atomic(durable=True)
def revoke_device_secret(*, actor, device: Device) -> bool:
    """Take the device's broker account away (at the next sync); False if it had none."""
    if not device.mqtt_password_hash:
        return False
    device.mqtt_password_hash = ""
    device.mqtt_secret_issued_at = None
    device.save(update_fields=["mqtt_password_hash", "mqtt_secret_issued_at"])
    record(
        actor=actor,
        events=[
            Event(AuditAction.DEVICE_MQTT_SECRET_REVOKE, "device", device.pk, details={"code": device.code})
        ],
    )
    return True
