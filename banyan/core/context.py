"""Per-request context (actor and request id) that services and the audit log read.

Set by :class:`banyan.core.middleware.RequestContextMiddleware` for web and API requests,
and by :func:`acting_as` in commands and tests.
"""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Iterator

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("banyan_request_id", default="")


def current_request_id() -> str:
    value = request_id.get()
    if not value:
        value = f"cli-{uuid.uuid4().hex[:16]}"
        request_id.set(value)
    return value


@contextlib.contextmanager
def request_scope(value: str | None = None) -> Iterator[str]:
    token = request_id.set(value or uuid.uuid4().hex)
    try:
        yield request_id.get()
    finally:
        request_id.reset(token)
