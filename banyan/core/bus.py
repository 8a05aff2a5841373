"""The event bus underneath :mod:`banyan.core.events`: delivery of domain events to subscribers.

Product code does not use this module: it publishes and subscribes through :mod:`banyan.core.events`,
which checks every event against the registry (its name and payload) and then calls :func:`publish`
here (``banyan/core/tests/test_events.py`` refuses any other caller). This module is the tiny
delivery interface — :func:`publish` a ``topic`` with a JSON-able ``payload``; :func:`subscribe` a
``pattern`` (``fnmatch`` style: ``"alert.*"``, ``"*"``) to a handler and get back the function that
unsubscribes it — in its in-process implementation. Handlers run synchronously in the publishing
thread; one that fails is logged and the others still run. Between processes, the bus bridge
(:mod:`banyan.core.bus_mqtt`) is one more subscriber and publisher; another implementation can be
installed with :func:`install` without changing any publisher.
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

logger = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], None]


class Bus(Protocol):
    def publish(self, topic: str, payload: dict[str, Any]) -> None: ...

    def subscribe(self, pattern: str, handler: Handler) -> Callable[[], None]: ...


class InProcessBus:
    """Subscribers in this process; thread-safe; a failing handler is logged, never raised."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: list[tuple[str, Handler]] = []

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        with self._lock:
            subscriptions = list(self._subscriptions)
        for pattern, handler in subscriptions:
            if fnmatch.fnmatchcase(topic, pattern):
                try:
                    handler(topic, payload)
                except Exception:
                    logger.exception("bus handler %r failed on %s", handler, topic)

    def subscribe(self, pattern: str, handler: Handler) -> Callable[[], None]:
        entry = (pattern, handler)
        with self._lock:
            self._subscriptions.append(entry)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._subscriptions.remove(entry)

        return unsubscribe


_bus: Bus = InProcessBus()


def publish(topic: str, payload: dict[str, Any]) -> None:
    """Deliver ``payload`` to every handler subscribed to a pattern matching ``topic``."""
    _bus.publish(topic, payload)


def subscribe(pattern: str, handler: Handler) -> Callable[[], None]:
    """Call ``handler(topic, payload)`` for each event whose topic matches ``pattern``; returns the
    unsubscriber."""
    return _bus.subscribe(pattern, handler)


def install(bus: Bus) -> Bus:
    """Install ``bus`` for this process and return the one it replaced."""
    global _bus
    previous, _bus = _bus, bus
    return previous


@contextlib.contextmanager
def collect(pattern: str = "*") -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Collect the events published while the block runs (for tests and drills)."""
    events: list[tuple[str, dict[str, Any]]] = []
    unsubscribe = subscribe(pattern, lambda topic, payload: events.append((topic, payload)))
    try:
        yield events
    finally:
        unsubscribe()
