"""Errors that services raise and every entry point turns into a clear 4xx answer, and how an answered
error reaches the server log (:class:`ClientErrorLogFilter`)."""

from __future__ import annotations

import logging


class BanyanError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def as_dict(self) -> dict:
        body: dict = {"detail": self.message, "code": self.code}
        if self.field:
            body["field"] = self.field
        return body


class InvalidInput(BanyanError):
    status = 400


class PermissionDenied(BanyanError):
    status = 403
    code = "forbidden"


class NotFound(BanyanError):
    status = 404
    code = "not_found"


class Conflict(BanyanError):
    """The object changed meanwhile (a stale version, a state that no longer allows the step)."""

    status = 409
    code = "conflict"


class TooManyRequests(BanyanError):
    """A rate limit is spent (``banyan.core.throttle``); ``retry_after`` is in seconds."""

    status = 429
    code = "throttled"

    def __init__(self, message: str, *, retry_after: int, field: str | None = None):
        super().__init__(message, field=field)
        self.retry_after = retry_after


class ClientErrorLogFilter(logging.Filter):
    """The ``django.request`` log of a 4xx answer is one line: method, path (never the query string, which
    may hold what a person typed) and status, then Django's reason, e.g.
    ``GET /audit/ 403 Forbidden (Permission denied)``. Django logs a refused request (``PermissionDenied``)
    with the exception's traceback, which says nothing about an ordinary 403 and buries the real errors;
    a 5xx keeps its traceback. Installed on the ``django.request`` logger (``settings.LOGGING``), so every
    handler, and ``caplog``, sees the short record."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if not isinstance(status, int) or not 400 <= status < 500:
            return True
        record.exc_info = None
        record.exc_text = None
        request = getattr(record, "request", None)
        path = getattr(request, "path", None)
        if isinstance(path, str):
            # Escaped as Django escapes it: a path cannot forge a second log line.
            path = path.encode("unicode_escape").decode("ascii")
            method = str(getattr(request, "method", "") or "").encode("unicode_escape").decode("ascii")
            reason = record.getMessage().removesuffix(f": {path}")
            record.msg, record.args = "%s %s %d %s", (method, path, status, reason)
        return True
