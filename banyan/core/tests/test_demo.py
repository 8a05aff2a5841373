"""``banyan demo`` end to end: it serves, runs the worker beside it, and stops its children on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from banyan.processes.broker import free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def test_demo_serves_runs_the_worker_and_stops_it_on_sigterm(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "BANYAN_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/demo.sqlite3",
        "BANYAN_AUDIT_ANCHOR": str(tmp_path / "audit.anchor"),
    }
    demo = subprocess.Popen(
        [sys.executable, "-m", "banyan", "demo", "--port", str(port), "--residents", "200", "--no-simulator"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        healthy = False
        while time.monotonic() < deadline and not healthy:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                    healthy = answer.status == 200
            except OSError:
                time.sleep(0.5)
        assert healthy, "the demo did not answer /healthz"
        workers = _children(demo.pid)
        assert workers, "the demo runs banyan worker as a child"
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=30)
        time.sleep(0.5)
        assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "children left running"
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(timeout=10)
