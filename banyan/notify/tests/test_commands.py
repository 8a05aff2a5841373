"""banyan notify send-pending [--loop], and the fake gateway run from the shell."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time

from django.core.management import call_command

from banyan.notify.channels import GatewayChannel, Outgoing
from banyan.notify.fakegateway import FakeGateway
from banyan.notify.services import Contact, notify

from .conftest import free_port

PHONE = "13955556666"


def test_send_pending_once_reports_what_it_did(db, gateway):
    notify([Contact(phone=PHONE)], "report.status", "S", "B", channels=["sms", "voice"])
    out = io.StringIO()

    call_command("notify", "send-pending", stdout=out)

    assert out.getvalue().strip() == "sent 2, delivered 0, retrying 0, failed 0, cancelled 0"
    assert len(gateway.received) == 2
    assert PHONE not in out.getvalue()


def test_send_pending_loops_until_told_to_stop(db, gateway, monkeypatch):
    from banyan.notify.management.commands import notify as command

    notify([Contact(phone=PHONE)], "report.status", "S", "B")
    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(command.time, "sleep", lambda seconds: os.kill(os.getpid(), signal.SIGTERM))
    out = io.StringIO()

    call_command("notify", "send-pending", "--loop", "--interval", "0.1", stdout=out)

    assert out.getvalue().splitlines() == [
        "sending notifications every 0.1 s",
        "sent 1, delivered 0, retrying 0, failed 0, cancelled 0",
    ]
    assert signal.getsignal(signal.SIGTERM) is before


def test_the_fake_gateway_runs_from_the_shell_and_records_to_its_file(tmp_path):
    port = free_port()
    record = tmp_path / "gateway.jsonl"
    receipts = FakeGateway().start()  # stands in for Banyan's receipt endpoint: records what is posted
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "banyan.notify.fakegateway",
            str(port),
            str(record),
            "--receipt-url",
            receipts.url("receipts"),
            "--token",
            "tok",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().startswith(f"fake gateway on http://127.0.0.1:{port}/sms")
        channel = GatewayChannel("voice", f"http://127.0.0.1:{port}/voice", token="tok")
        sent = channel.send(
            Outgoing(delivery_id=5, message_id=3, to=PHONE, subject="S", text="T", language="en")
        )
        deadline = time.monotonic() + 5
        while not receipts.requests and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        process.terminate()
        _out, errors = process.communicate(timeout=5)
        receipts.stop()

    assert sent.provider_message_id == "voice-1"
    [line] = record.read_text().splitlines()
    assert json.loads(line) == {
        "channel": "voice",
        "to": PHONE,
        "text": "T",
        "id": "5",
        "provider_id": "voice-1",
    }
    [posted] = receipts.requests
    assert posted["body"] == {"id": "voice-1", "status": "delivered", "channel": "voice"}
    assert posted["headers"]["Authorization"] == "Bearer tok"
    assert errors == ""
