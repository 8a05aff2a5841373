"""Request bodies that Django would spool to disk are refused before Django sees them.

Django's ``ASGIHandler.read_body`` reads the whole body into a
``SpooledTemporaryFile(max_size=FILE_UPLOAD_MAX_MEMORY_SIZE)``: a larger body rolls over into a
temporary file before any upload handler can refuse it, and ledgers are full of ID numbers.
:class:`BodySizeLimit` wraps the ASGI application so that no more than that many bytes ever
reach it: a declared ``Content-Length`` above the limit is answered 413 at once, and a body
without one (chunked) is cut off at the limit — the application is told the client went away,
and the client gets the same 413.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

DISCONNECT: Message = {"type": "http.disconnect"}


def too_large_body(limit: int) -> bytes:
    # Said before Django (and its LocaleMiddleware) runs, so in English only.
    detail = f"The request body is larger than {limit / 2**20:g} MB."
    return json.dumps({"detail": detail, "code": "too_large"}).encode()


def _declared_length(scope: MutableMapping[str, Any]) -> int | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses it; the count below still holds
    return None


async def _send_too_large(send: Send, limit: int) -> None:
    body = too_large_body(limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),  # the rest of the body is never read
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodySizeLimit:
    """Pure ASGI middleware: at most ``settings.FILE_UPLOAD_MAX_MEMORY_SIZE`` body bytes reach ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = settings.FILE_UPLOAD_MAX_MEMORY_SIZE
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _send_too_large(send, limit)
            return

        received = 0
        cut_off = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, cut_off
            if cut_off:
                return dict(DISCONNECT)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    cut_off = True  # this chunk and everything after it stays out
                    return dict(DISCONNECT)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if cut_off and not response_started:
                return  # the 413 below answers instead
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)
        if cut_off and not response_started:
            await _send_too_large(send, limit)
