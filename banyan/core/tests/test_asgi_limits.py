"""ASGI request bodies never reach Django beyond FILE_UPLOAD_MAX_MEMORY_SIZE (they would spill to disk)."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

from banyan import settings as banyan_settings
from banyan.core.asgi_limits import BodySizeLimit

LIMIT = 1000


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = LIMIT


class InnerApp:
    """Reads the body the way Django's ASGIHandler does, then answers 200 with what it got."""

    def __init__(self) -> None:
        self.called = False
        self.body = b""
        self.disconnected = False

    async def __call__(self, scope, receive, send):
        self.called = True
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                return
            self.body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"got %d" % len(self.body)})


def run(app, chunks: list[bytes], headers=()) -> list[dict]:
    """Drive ``app`` with one HTTP request whose body arrives in ``chunks``; return what it sent."""
    scope = {"type": "http", "method": "POST", "path": "/", "headers": list(headers)}
    incoming = [
        {"type": "http.request", "body": chunk, "more_body": number < len(chunks) - 1}
        for number, chunk in enumerate(chunks)
    ]
    sent: list[dict] = []

    async def receive():
        if incoming:
            return incoming.pop(0)
        await asyncio.sleep(3600)  # a real server waits until the client goes away

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def too_large(limit: int = LIMIT) -> list[dict]:
    body = json.dumps(
        {"detail": f"The request body is larger than {limit / 2**20:g} MB.", "code": "too_large"}
    ).encode()
    return [
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        },
        {"type": "http.response.body", "body": body},
    ]


def test_a_declared_length_above_the_limit_is_refused_without_calling_the_app():
    inner = InnerApp()
    sent = run(BodySizeLimit(inner), [b"x" * 10], headers=[(b"content-length", str(LIMIT + 1).encode())])
    assert not inner.called
    assert sent == too_large()


def test_the_message_names_the_limit_in_megabytes(settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 21 * 1024 * 1024
    sent = run(BodySizeLimit(InnerApp()), [b""], headers=[(b"content-length", b"99999999")])
    assert json.loads(sent[1]["body"]) == {
        "detail": "The request body is larger than 21 MB.",
        "code": "too_large",
    }


def test_a_chunked_body_is_cut_off_at_the_limit():
    inner = InnerApp()
    sent = run(BodySizeLimit(inner), [b"a" * 400, b"b" * 400, b"c" * 400, b"d" * 400])
    assert inner.called and inner.disconnected
    assert inner.body == b"a" * 400 + b"b" * 400  # the chunk that crosses the limit never arrives
    assert sent == too_large()


def test_a_body_at_the_limit_passes_unchanged():
    inner = InnerApp()
    chunks = [b"a" * 600, b"b" * 400]
    sent = run(BodySizeLimit(inner), chunks, headers=[(b"content-length", str(LIMIT).encode())])
    assert inner.body == b"".join(chunks) and not inner.disconnected
    assert sent == [
        {"type": "http.response.start", "status": 200, "headers": []},
        {"type": "http.response.body", "body": b"got 1000"},
    ]


def test_other_scopes_pass_through():
    seen = []

    async def inner(scope, receive, send):
        seen.append(scope["type"])

    async def main():
        app = BodySizeLimit(inner)
        for kind in ("lifespan", "websocket"):
            await app({"type": kind}, None, None)

    asyncio.run(main())
    assert seen == ["lifespan", "websocket"]


def test_django_never_spools_a_chunked_oversize_body_to_disk(monkeypatch):
    """With Django itself inside: its spooled body file never rolls over to a temporary file."""
    from django.core.asgi import get_asgi_application
    from django.core.handlers import asgi as django_asgi

    rolled_over = []

    class WatchedSpool(tempfile.SpooledTemporaryFile):
        def rollover(self):
            rolled_over.append(True)
            super().rollover()

    monkeypatch.setattr(django_asgi.tempfile, "SpooledTemporaryFile", WatchedSpool)
    chunks = [b"x" * 300] * 10
    assert run(BodySizeLimit(get_asgi_application()), chunks) == too_large()
    assert rolled_over == []

    run(get_asgi_application(), chunks)  # the same body without the limit does roll over
    assert rolled_over == [True]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_banyan_serve_refuses_a_body_just_above_the_limit(tmp_path):
    limit = banyan_settings.FILE_UPLOAD_MAX_MEMORY_SIZE  # the server's, not this module's small one
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/serve.sqlite3",
        "BANYAN_VAR_DIR": str(tmp_path),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "banyan", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.putrequest("POST", "/api/v1/ledgers/residents/import")
        connection.putheader("Content-Type", "multipart/form-data; boundary=b")
        connection.putheader("Content-Length", str(limit + 1))
        connection.endheaders(b"--b\r\n" + b"x" * 1000)
        response = connection.getresponse()
        assert response.status == 413
        assert json.loads(response.read()) == {
            "detail": "The request body is larger than 21 MB.",
            "code": "too_large",
        }
        connection.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
