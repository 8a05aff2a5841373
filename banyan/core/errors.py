"""Errors that services raise and every entry point turns into a clear 4xx answer."""

from __future__ import annotations


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
