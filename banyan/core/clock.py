"""The one source of time for rules, timers, SLAs and audit entries.

Production code calls :func:`now`; tests and drills install a :class:`SimulatedClock`
with :func:`use` so that hours pass in milliseconds and the same seed gives the same run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Iterator
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(tz=dt.UTC)


class SimulatedClock:
    """A clock that only moves when told to."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SimulatedClock needs an aware datetime")
        self._now = start.astimezone(dt.UTC)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, delta: dt.timedelta | float) -> dt.datetime:
        if not isinstance(delta, dt.timedelta):
            delta = dt.timedelta(seconds=delta)
        if delta < dt.timedelta(0):
            raise ValueError("time does not run backwards")
        with self._lock:
            self._now += delta
            return self._now


_clock: Clock = SystemClock()


def now() -> dt.datetime:
    """The current time as an aware UTC datetime."""
    return _clock.now()


def today() -> dt.date:
    """Today's date in China Standard Time (UTC+8), where the communities are."""
    return now().astimezone(dt.timezone(dt.timedelta(hours=8))).date()


def install(clock: Clock) -> Clock:
    """Install ``clock`` globally and return the one it replaced."""
    global _clock
    previous, _clock = _clock, clock
    return previous


@contextlib.contextmanager
def use(clock: Clock) -> Iterator[Clock]:
    previous = install(clock)
    try:
        yield clock
    finally:
        install(previous)
