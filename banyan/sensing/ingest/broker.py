"""A Mosquitto of our own, with ``deploy/mosquitto/banyan.conf``, on a free loopback port.

For the demo, the benchmark and the tests: the shipped settings (persistence, queues) with only the
listener and the persistence folder changed. Mosquitto started as root drops to the ``mosquitto``
user, who must be able to write the persistence folder, so the folder is handed to that user.
"""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
CONFIG = REPO / "deploy" / "mosquitto" / "banyan.conf"
MOSQUITTO = Path("/usr/sbin/mosquitto")


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
    folder: Path, *, port: int | None = None, wait_s: float = 5.0
) -> tuple[subprocess.Popen, int]:
    """Start Mosquitto with its config, log (``mosquitto.log``) and data in ``folder``; returns the
    process (stop it by its pid) and its port once it accepts connections. Run as root, ``folder``
    must be reachable by the ``mosquitto`` user (not under pytest's private ``tmp_path``). ``port``
    restarts a broker where it was (its clients reconnect to the same address)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "data"
    data.mkdir(exist_ok=True)
    _writable_by_broker(folder, data)
    port = port or free_port()
    lines = []
    for line in CONFIG.read_text().splitlines():
        if line.startswith("listener "):
            line = f"listener {port} 127.0.0.1"
        elif line.startswith("persistence_location "):
            line = f"persistence_location {data}/"
        lines.append(line)
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
                return process, port
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.02)
    stop(process)
    raise RuntimeError(f"mosquitto did not start; see {folder / 'mosquitto.log'}")


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
