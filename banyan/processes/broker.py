"""A Mosquitto of our own, with ``deploy/mosquitto/banyan.conf``, on a free loopback port.

For the demo, the benchmarks and the tests: the shipped settings (anonymous clients refused,
password and ACL files, persistence, queues) with only the listener's port and the paths changed:
the password and ACL files (written here, by default with Banyan's service accounts and the
simulator's), the pid file and the persistence folder lie in the broker's folder. With ``tls`` the
commented TLS listener of the shipped file is switched on, on its own port, with the given CA,
certificate and key. Mosquitto started as root drops to the ``mosquitto`` user, who must be able to
read these files and write the persistence folder, so they are handed to that user's group.
"""

from __future__ import annotations

import os
import pwd
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploy" / "mosquitto" / "banyan.conf"
MOSQUITTO = Path("/usr/sbin/mosquitto")
_TLS_LINE = re.compile(
    r"^# (listener|cafile|certfile|keyfile|tls_version|allow_anonymous|password_file|acl_file)\b"
)


@dataclass(frozen=True)
class TlsFiles:
    """A TLS listener on ``port`` with the CA, the server's certificate and its key (PEM files)."""

    port: int
    cafile: Path
    certfile: Path
    keyfile: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _writable_by_broker(folder: Path, data: Path) -> None:
    """Started as root, Mosquitto drops to the ``mosquitto`` user: let it into ``folder`` (every
    folder above must let it through too) and give it ``data``."""
    if os.geteuid() != 0:
        return
    try:
        owner = pwd.getpwnam("mosquitto")
    except KeyError:
        return  # no such user: mosquitto keeps running as root
    folder.chmod(0o755)
    os.chown(data, owner.pw_uid, owner.pw_gid)


def start_mosquitto(
    folder: Path,
    *,
    port: int | None = None,
    wait_s: float = 5.0,
    accounts: list | None = None,
    tls: TlsFiles | None = None,
) -> tuple[subprocess.Popen, int]:
    """Start Mosquitto with its config, log (``mosquitto.log``) and data in ``folder``; returns the
    process (stop it by its pid) and its port once it accepts connections. Run as root, ``folder``
    must be reachable by the ``mosquitto`` user (not under pytest's private ``tmp_path``). ``port``
    restarts a broker where it was (its clients reconnect to the same address). ``accounts``
    (:class:`~banyan.sensing.mqtt_accounts.BrokerAccount`) are written to its password and ACL files;
    by default Banyan's service accounts with the simulator's (no devices: ``banyan mqtt sync``
    adds them to ``folder/passwd`` and ``folder/acl``)."""
    from banyan.sensing.mqtt_accounts import service_accounts, write_broker_files

    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "data"
    data.mkdir(exist_ok=True)
    _writable_by_broker(folder, data)
    port = port or free_port()
    password_file, acl_file = folder / "passwd", folder / "acl"
    write_broker_files(
        password_file, acl_file, service_accounts(simulator=True) if accounts is None else accounts
    )
    lines = []
    in_tls_block = False
    for line in CONFIG.read_text().splitlines():
        if tls is not None and line.startswith("# listener "):
            in_tls_block = True
        if in_tls_block:
            if not line.strip():
                in_tls_block = False
            elif _TLS_LINE.match(line):
                line = line[2:]
        if line.startswith("listener "):
            line = f"listener {tls.port} 127.0.0.1" if in_tls_block and tls else f"listener {port} 127.0.0.1"
        elif line.startswith("persistence_location "):
            line = f"persistence_location {data}/"
        elif line.startswith("password_file "):
            line = f"password_file {password_file}"
        elif line.startswith("acl_file "):
            line = f"acl_file {acl_file}"
        elif line.startswith("pid_file "):
            line = f"pid_file {data / 'mosquitto.pid'}"  # written by the broker's user
        elif tls is not None and line.startswith(("cafile ", "certfile ", "keyfile ")):
            name = line.split()[0]
            line = f"{name} {getattr(tls, name)}"
        lines.append(line)
    if tls is not None:
        _readable_by_broker(tls.cafile, tls.certfile, tls.keyfile)
    config = folder / "mosquitto.conf"
    config.write_text("\n".join(lines) + "\n")
    with open(folder / "mosquitto.log", "ab") as log:
        process = subprocess.Popen(
            [str(MOSQUITTO), "-c", str(config)], stdout=log, stderr=log, start_new_session=True
        )
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                if tls is None or _accepts(tls.port):
                    return process, port
        except OSError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.02)
    stop(process)
    raise RuntimeError(f"mosquitto did not start; see {folder / 'mosquitto.log'}")


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _readable_by_broker(*paths: Path) -> None:
    """Started as root, Mosquitto reads its TLS files as the ``mosquitto`` user: give them its group."""
    if os.geteuid() != 0:
        return
    try:
        owner = pwd.getpwnam("mosquitto")
    except KeyError:
        return
    for path in paths:
        os.chown(path, 0, owner.pw_gid)
        path.chmod(0o640)


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM by pid, SIGKILL if it has not ended after ``timeout`` seconds."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
