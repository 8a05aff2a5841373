"""The incident's state machine, its SLA clocks and dispatch ranking: plain Python, no Django.

States (工单): new → assigned → accepted → on_scene → resolved → closed, or cancelled / duplicate
from any open state; a resolved or closed incident can be reopened (back to ``assigned``, its
history kept). Each move names who may make it: the assignee (accept, decline, on scene, resolve),
the accountable body's staff (assign, reassign, close, cancel, reopen), or the system (assign by
dispatch, escalate).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    DUPLICATE = "duplicate"


OPEN = frozenset({Status.NEW, Status.ASSIGNED, Status.ACCEPTED, Status.ON_SCENE})
ENDED = frozenset({Status.CLOSED, Status.CANCELLED, Status.DUPLICATE})


class Move(StrEnum):
    ASSIGN = "assign"  # to a responder (dispatch or a person); also a re-assignment
    ACCEPT = "accept"
    DECLINE = "decline"
    ON_SCENE = "on_scene"
    RESOLVE = "resolve"
    CLOSE = "close"
    CANCEL = "cancel"
    MARK_DUPLICATE = "duplicate"
    REOPEN = "reopen"


# move -> (states it may start from, the state it leads to)
MOVES: dict[Move, tuple[frozenset[Status], Status]] = {
    Move.ASSIGN: (frozenset({Status.NEW, Status.ASSIGNED, Status.ACCEPTED}), Status.ASSIGNED),
    Move.ACCEPT: (frozenset({Status.ASSIGNED}), Status.ACCEPTED),
    Move.DECLINE: (frozenset({Status.ASSIGNED}), Status.NEW),
    Move.ON_SCENE: (frozenset({Status.ASSIGNED, Status.ACCEPTED}), Status.ON_SCENE),
    Move.RESOLVE: (frozenset({Status.ACCEPTED, Status.ON_SCENE}), Status.RESOLVED),
    Move.CLOSE: (frozenset({Status.RESOLVED}), Status.CLOSED),
    Move.CANCEL: (OPEN, Status.CANCELLED),
    Move.MARK_DUPLICATE: (OPEN, Status.DUPLICATE),
    Move.REOPEN: (frozenset({Status.RESOLVED, Status.CLOSED}), Status.ASSIGNED),
}

ASSIGNEE_MOVES = frozenset({Move.ACCEPT, Move.DECLINE, Move.ON_SCENE, Move.RESOLVE})


class TransitionError(ValueError):
    """A move the incident's state does not allow (e.g. a second responder accepting)."""

    def __init__(self, move: Move, status: Status) -> None:
        super().__init__(f"cannot {move.value} an incident that is {status.value}")
        self.move, self.status = move, status


def next_status(status: Status | str, move: Move | str) -> Status:
    move, status = Move(move), Status(status)
    starts, target = MOVES[move]
    if status not in starts:
        raise TransitionError(move, status)
    return target


# --- SLA clocks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadlines:
    """Seconds from the incident's creation: to acknowledge (accept), to arrive, to resolve."""

    acknowledge_s: float
    arrive_s: float
    resolve_s: float


DEFAULT_DEADLINES: dict[str, Deadlines] = {
    "red": Deadlines(30, 10 * 60, 4 * 3600),
    "orange": Deadlines(2 * 60, 20 * 60, 8 * 3600),
    "yellow": Deadlines(10 * 60, 60 * 60, 24 * 3600),
    "blue": Deadlines(30 * 60, 4 * 3600, 72 * 3600),
}

CLOCKS = ("acknowledge", "arrive", "resolve")


@dataclass(frozen=True)
class Clock:
    name: str  # acknowledge | arrive | resolve
    due: dt.datetime
    met_at: dt.datetime | None

    def state(self, now: dt.datetime) -> str:
        """``met`` / ``late`` (met after the deadline) / ``running`` / ``missed`` (still open, overdue)."""
        if self.met_at is not None:
            return "met" if self.met_at <= self.due else "late"
        return "running" if now <= self.due else "missed"

    def remaining_s(self, now: dt.datetime) -> float | None:
        return None if self.met_at is not None else (self.due - now).total_seconds()


def clocks(
    created_at: dt.datetime, deadlines: Deadlines, met: Mapping[str, dt.datetime | None]
) -> list[Clock]:
    """The three clocks of an incident created at ``created_at``; ``met`` maps a clock's name to when
    it was met (accepted, on scene, resolved)."""
    return [
        Clock(name, created_at + dt.timedelta(seconds=getattr(deadlines, f"{name}_s")), met.get(name))
        for name in CLOCKS
    ]


# --- dispatch ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A responder as dispatch sees them."""

    key: int  # the responder's id
    node: int | None  # nearest walking-graph node to the last known position
    on_duty: bool
    load: int  # open incidents assigned now
    capacity: int
    skills: frozenset[str]


@dataclass(frozen=True)
class Ranked:
    key: int
    walk_s: float | None  # None: unreachable or position unknown
    eligible: bool
    reason: str  # why skipped, or "nearest" / "position unknown"


def rank(
    candidates: Iterable[Candidate],
    *,
    target: int | None,
    distances_m: Mapping[int, float],
    walking_speed_mps: float,
    skill: str | None = None,
    excluded: Iterable[int] = (),
    climb_s: float = 0.0,
    per_load_s: float = 0.0,
) -> list[Ranked]:
    """Candidates ordered for dispatch: the eligible by walking time to ``target`` (distances from the
    target's node over the walking graph, ``distances_m``, plus ``climb_s`` from the entrance up to the
    floor), then those with no known position, then the skipped with their reasons. With ``per_load_s``
    (visits on foot, done one after another) each incident a candidate already holds counts that many
    seconds more: whoever can be at the door first, not merely the nearest."""
    excluded = set(excluded)
    ranked: list[Ranked] = []
    queued: dict[int, float] = {}
    for c in candidates:
        queued[c.key] = c.load * per_load_s
        if c.key in excluded:
            ranked.append(Ranked(c.key, None, False, "declined or timed out"))
        elif not c.on_duty:
            ranked.append(Ranked(c.key, None, False, "off duty"))
        elif c.load >= c.capacity:
            ranked.append(Ranked(c.key, None, False, "at capacity"))
        elif skill and skill not in c.skills:
            ranked.append(Ranked(c.key, None, False, f"lacks skill {skill}"))
        else:
            distance = distances_m.get(c.node) if (c.node is not None and target is not None) else None
            walk = None if distance is None else distance / walking_speed_mps + climb_s
            ranked.append(
                Ranked(c.key, walk, True, "walking time" if walk is not None else "position unknown")
            )

    def order(r: Ranked) -> tuple:
        return (not r.eligible, math.inf if r.walk_s is None else r.walk_s + queued[r.key], r.key)

    return sorted(ranked, key=order)
