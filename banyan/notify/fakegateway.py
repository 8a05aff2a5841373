"""A fake SMS and voice gateway: a real HTTP server on loopback that records what it is sent.

It speaks what :class:`banyan.notify.channels.GatewayChannel` speaks: ``POST /sms`` or
``POST /voice`` (any path; its last part names the channel) with JSON ``{"to", "text", "id"}``,
answered ``200 {"id": "<channel>-<n>"}``. Each message is kept in :attr:`FakeGateway.received`
and, with a file, appended to it as one JSON line. Delivery receipts go back to Banyan's
``POST /api/v1/notify/receipts`` with the gateway token: at once after each message with
``auto_receipt`` (the demo), or when :meth:`send_receipts` is called (tests, which decide when).
Replies to an SMS and key presses during a call go to Banyan's ``POST /api/v1/notify/inbound`` the
same way: :meth:`FakeGateway.reply` and :meth:`FakeGateway.press` (or :func:`send_inbound`, and from
the shell ``python -m banyan.notify.fakegateway reply URL PHONE TEXT [--voice] --token TOKEN``); the
text Banyan answers is kept in :attr:`FakeGateway.replies`, as the gateway would send or speak it.

In a test::

    with FakeGateway() as gateway:            # a free port on 127.0.0.1
        settings.BANYAN_NOTIFY["SMS_GATEWAY_URL"] = gateway.url("sms")
        gateway.fail_next(2, status=503)      # the next two requests fail
        ...
        gateway.received                      # [{"channel": "sms", "to": …, "text": …, "id": …}]

From the shell (the demo)::

    python -m banyan.notify.fakegateway PORT FILE [--receipt-url URL] [--token TOKEN]
    python -m banyan.notify.fakegateway reply http://127.0.0.1:8000/api/v1/notify/inbound PHONE 1 --token T

What it records holds phone numbers, as a real gateway would: keep the file with the test's or the
demo's other temporary files. It logs no request lines.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import threading
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MAX_BODY = 64 * 1024

Poster = Callable[[str, dict[str, Any], dict[str, str]], int]


def post_json(url: str, body: dict[str, Any], headers: dict[str, str]) -> int:
    """POST ``body`` as JSON over HTTP (stdlib only); returns the status code."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (a loopback URL we were given)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def post_json_answer(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """POST ``body`` as JSON (stdlib only); returns the status code and the JSON answer."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (a loopback URL we were given)
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        answer = {}
    return status, answer if isinstance(answer, dict) else {}


AnswerPoster = Callable[[str, dict[str, Any], dict[str, str]], tuple[int, dict[str, Any]]]


def send_inbound(
    url: str,
    token: str,
    *,
    channel: str,
    phone: str,
    text: str,
    provider_id: str = "",
    poster: AnswerPoster = post_json_answer,
) -> tuple[int, dict[str, Any]]:
    """POST one reply (``sms``) or key press (``voice``) to Banyan's inbound endpoint ``url``; returns
    the status code and the JSON answer (``{"status", "reply", "language"}`` when accepted)."""
    body = {"channel": channel, "from": phone, "text": text, "id": provider_id}
    return poster(url, body, {"Authorization": f"Bearer {token}"})


class FakeGateway:
    def __init__(
        self,
        port: int = 0,
        *,
        record_file: str | Path | None = None,
        receipt_url: str = "",
        token: str = "",
        auto_receipt: bool = False,
        poster: Poster = post_json,
        inbound_url: str = "",
        inbound_poster: AnswerPoster = post_json_answer,
    ):
        self.record_file = Path(record_file) if record_file else None
        self.receipt_url = receipt_url
        self.token = token
        self.auto_receipt = auto_receipt
        self.poster = poster
        # Banyan's POST /api/v1/notify/inbound: by default next to the receipts' URL.
        self.inbound_url = inbound_url or (
            receipt_url.replace("/receipts", "/inbound") if receipt_url else ""
        )
        self.inbound_poster = inbound_poster
        self.replies: list[dict[str, Any]] = []  # what Banyan answered to each reply or key press
        self.received: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []  # every request, with its headers, even refused ones
        self.pending_receipts: list[dict[str, Any]] = []
        self.receipt_answers: list[int] = []
        self._failures: list[int] = []
        self._counter = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- control -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, channel: str = "sms") -> str:
        return f"http://127.0.0.1:{self.port}/{channel}"

    def fail_next(self, count: int, *, status: int = 503) -> None:
        """Answer the next ``count`` messages with ``status`` (and record nothing for them)."""
        with self._lock:
            self._failures.extend([status] * count)

    def start(self) -> FakeGateway:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-gateway", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeGateway:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def receipt(self, provider_id: str, status: str = "delivered", *, error: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {"id": provider_id, "status": status, "channel": provider_id.split("-")[0]}
        if error:
            body["error"] = error
        return body

    def send_receipts(self, status: str = "delivered") -> list[int]:
        """Post a receipt with ``status`` for every message received since the last call; returns
        the answers' status codes."""
        with self._lock:
            pending, self.pending_receipts = self.pending_receipts, []
        answers = [self._post_receipt(self.receipt(item["provider_id"], status)) for item in pending]
        return answers

    def _post_receipt(self, body: dict[str, Any]) -> int:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            status = self.poster(self.receipt_url, body, headers)
        except OSError:
            status = 0
        with self._lock:
            self.receipt_answers.append(status)
        return status

    def reply(self, phone: str, text: str, *, channel: str = "sms") -> tuple[int, dict[str, Any]]:
        """The resident with ``phone`` replies ``text`` to an SMS (``channel="voice"``: presses keys
        during a call); posted to Banyan's inbound endpoint with the token. Returns its answer."""
        provider_id = f"in-{channel}-{next(self._counter)}"
        status, answer = send_inbound(
            self.inbound_url,
            self.token,
            channel=channel,
            phone=phone,
            text=text,
            provider_id=provider_id,
            poster=self.inbound_poster,
        )
        with self._lock:
            self.replies.append({"channel": channel, "to": phone, "status": status, **answer})
        return status, answer

    def reply_many(
        self, replies: list[tuple[str, str]], *, channel: str = "sms"
    ) -> tuple[int, dict[str, Any]]:
        """Several residents' replies ``(phone, text)`` at once, in one post to Banyan's
        ``/notify/inbound/batch`` (at most 500). Returns its answer: ``{"count", "items"}``."""
        messages = [
            {"channel": channel, "from": phone, "text": text, "id": f"in-{channel}-{next(self._counter)}"}
            for phone, text in replies
        ]
        status, answer = self.inbound_poster(
            self.inbound_url.rstrip("/") + "/batch",
            {"messages": messages},
            {"Authorization": f"Bearer {self.token}"},
        )
        with self._lock:
            items = answer.get("items") or [{} for _reply in replies]
            for (phone, _text), item in zip(replies, items, strict=False):
                self.replies.append({"channel": channel, "to": phone, "status": status, **item})
        return status, answer

    def press(self, phone: str, key: str) -> tuple[int, dict[str, Any]]:
        """The resident with ``phone`` presses ``key`` during the check-in call."""
        return self.reply(phone, key, channel="voice")

    # --- the server ------------------------------------------------------------------------------

    def _record(self, channel: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self._failures:
                return self._failures.pop(0), {"error": "told to fail"}
            provider_id = f"{channel}-{next(self._counter)}"
            item = {
                "channel": channel,
                "to": body.get("to"),
                "text": body.get("text"),
                "id": body.get("id"),
                "provider_id": provider_id,
            }
            self.received.append(item)
            self.pending_receipts.append(item)
            if self.record_file is not None:
                with self.record_file.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(item, ensure_ascii=False) + "\n")
        return 200, {"id": provider_id}

    def _handler(self):
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format, *args):  # no request lines (nor anything else) on stderr
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self._answer(413, {"error": "too large"})
                    return
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = None
                with gateway._lock:
                    gateway.requests.append(
                        {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                    )
                if not isinstance(body, dict) or not body.get("to") or "text" not in body:
                    self._answer(400, {"error": "to and text are required"})
                    return
                channel = self.path.rstrip("/").rsplit("/", 1)[-1] or "sms"
                status, answer = gateway._record(channel, body)
                self._answer(status, answer)
                if status == 200 and gateway.auto_receipt and gateway.receipt_url:
                    threading.Thread(target=gateway.send_receipts, daemon=True).start()

            def do_GET(self):
                with gateway._lock:
                    received = [dict(item) for item in gateway.received]
                self._answer(200, {"received": received})

        return Handler


def main(argv: list[str] | None = None) -> None:
    argv = list(argv) if argv is not None else sys.argv[1:]
    if argv[:1] == ["reply"]:
        reply_main(argv[1:])
        return
    parser = argparse.ArgumentParser(
        description="A fake SMS/voice gateway on 127.0.0.1 that records messages."
    )
    parser.add_argument("port", type=int)
    parser.add_argument("file", help="append each message received as a JSON line")
    parser.add_argument("--receipt-url", default="", help="Banyan's POST /api/v1/notify/receipts")
    parser.add_argument("--token", default="", help="the gateway token (BANYAN_GATEWAY_TOKEN)")
    args = parser.parse_args(argv)
    gateway = FakeGateway(
        args.port,
        record_file=args.file,
        receipt_url=args.receipt_url,
        token=args.token,
        auto_receipt=bool(args.receipt_url),
    )
    print(f"fake gateway on {gateway.url('sms')} and {gateway.url('voice')}", flush=True)
    try:
        gateway._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        gateway._server.server_close()


def reply_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m banyan.notify.fakegateway reply",
        description="Send Banyan a resident's SMS reply (or, with --voice, a key pressed during a call).",
    )
    parser.add_argument("url", help="Banyan's POST /api/v1/notify/inbound")
    parser.add_argument("phone", help="the resident's phone")
    parser.add_argument("text", help='the reply ("1" fine, "2" need help) or the key pressed')
    parser.add_argument("--voice", action="store_true", help="a key press during the check-in call")
    parser.add_argument("--token", default="", help="the gateway token (BANYAN_GATEWAY_TOKEN)")
    args = parser.parse_args(argv)
    status, answer = send_inbound(
        args.url, args.token, channel="voice" if args.voice else "sms", phone=args.phone, text=args.text
    )
    print(status, json.dumps(answer, ensure_ascii=False), flush=True)
    if status != 200:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
