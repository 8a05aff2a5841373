"""Evaluation: readings and clock ticks in, ``Raised`` / ``Updated`` / ``Cleared`` events out.

Time comes only from the readings' timestamps and the ``now`` handed to :meth:`Engine.tick` (which the
caller reads from ``core.clock``), so a drill on simulated time gives the same events as the real thing.

State lives per rule × subject (a device code, or a place key for place rules) in small slotted objects;
:meth:`Engine.checkpoint` turns it into JSON and :meth:`Engine.restore` resumes from it.

Order and duplicates (see ADR 0005):

* Kinds that follow a current value (threshold, sustained, rate of change, composite, crowd density)
  keep the ``(ts, seq)`` of the last reading they applied per device and metric, and ignore a reading
  that is not strictly newer: a redelivered duplicate, or a late reading that would rewind the state.
  A reading without ``seq`` counts as seq -1, so two readings with the same ``ts`` and no ``seq`` are one.
* Kinds that count (count window, no data) keep the keys ``(device, ts, seq)`` inside their window: a late
  reading still inside the window counts once, a duplicate never twice, one older than the window not at all.
* Offline only moves a device's last-seen time forward.

Windows are half-open, ``(now - window, now]``, where ``now`` is the later of the newest reading and the
last tick; durations are reached when ``now - start >= duration``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .rules import (
    CompositeRule,
    CountWindowRule,
    CrowdDensityRule,
    Grade,
    NoDataRule,
    OfflineRule,
    RateOfChangeRule,
    Rule,
    RuleError,
    SustainedRule,
    ThresholdRule,
    rule_fingerprint,
)

CHECKPOINT_VERSION = 1
_NEVER = -math.inf
_UTC = dt.UTC


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of one metric of one device, tagged with the device's kind, place (zone/unit key) and
    community (code): a rule of a community applies only to its own devices' readings.

    ``ts`` must be aware (the ingest parser makes it so; it is not re-checked on the hot path) and
    ``value`` finite (non-finite values belong in the dead-letter table, not here)."""

    device: str
    kind: str
    place: str
    metric: str
    value: float
    ts: dt.datetime  # aware
    seq: int | None = None
    community: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    """What a rule says about a subject.

    ``value`` is what the rule measured: the reading's value (threshold, sustained, composite), change per
    minute (rate of change), the window's count/sum/delta (no data), seconds of silence (offline), events in
    the window (count window) or persons per m² (crowd density). ``reading_ts`` is the time of the reading
    that decided it (``None`` when silence did), ``at`` when the engine decided (the reading's time, or the
    tick's ``now``), ``count`` how many readings met the rule since it was raised (1 when raised).
    """

    rule_id: str
    subject: str
    grade: Grade
    value: float | None
    reading_ts: dt.datetime | None
    at: dt.datetime
    count: int = 1
    place: str = ""


@dataclass(frozen=True, slots=True)
class Raised(Event):
    """The rule's condition began to hold for the subject: open an alert (or treat as a repeat of one
    still open, e.g. after a rule that does not auto-clear was re-armed)."""


@dataclass(frozen=True, slots=True)
class Updated(Event):
    """The condition holds again while raised (a repeat), or a crowd density alert changed grade."""


@dataclass(frozen=True, slots=True)
class Cleared(Event):
    """The clear condition holds and the rule auto-clears."""


def _stamp(t: float | None) -> dt.datetime | None:
    return None if t is None or t == _NEVER else dt.datetime.fromtimestamp(t, _UTC)


def _seq(reading: Reading) -> int:
    return -1 if reading.seq is None else reading.seq


def _out(t: float) -> float | None:
    return None if t == _NEVER else t


def _in(t: float | None) -> float:
    return _NEVER if t is None else float(t)


# --- state per rule × subject -------------------------------------------------------------------------
# Each class: State(subject, place), on_reading(rule, reading, t, clock) -> Event | None (``clock`` is the
# last tick's time), on_tick(rule, now, now_dt) -> Event | None (only classes with ``timed``),
# dump() -> list (a JSON-ready copy) and load(rule, data).


class _State:
    __slots__ = ("subject", "place", "open", "count")
    timed = False

    def __init__(self, subject: str, place: str) -> None:
        self.subject = subject
        self.place = place
        self.open = False
        self.count = 0

    def on_reading(self, rule: Any, reading: Reading, t: float, clock: float) -> Event | None:
        raise NotImplementedError

    def on_tick(self, rule: Any, now: float, now_dt: dt.datetime) -> Event | None:
        return None

    def dump(self) -> list[Any]:
        raise NotImplementedError

    def _raise(self, rule: Rule, grade: Grade, value: float | None, reading_ts: Any, at: Any) -> Event:
        self.open = True
        self.count = 1
        return Raised(rule.id, self.subject, grade, value, reading_ts, at, 1, self.place)

    def _repeat(self, rule: Rule, grade: Grade, value: float | None, reading_ts: Any, at: Any) -> Event:
        self.count += 1
        return Updated(rule.id, self.subject, grade, value, reading_ts, at, self.count, self.place)

    def _clear(
        self, rule: Rule, grade: Grade, value: float | None, reading_ts: Any, at: dt.datetime
    ) -> Event | None:
        """Close; tell the caller only if the rule auto-clears (otherwise the rule is silently re-armed and
        the alert waits for a person)."""
        self.open = False
        if not rule.auto_clear:
            return None
        return Cleared(rule.id, self.subject, grade, value, reading_ts, at, self.count, self.place)

    def _head(self) -> list[Any]:
        return [self.place, self.open, self.count]

    def _load_head(self, data: list[Any]) -> list[Any]:
        self.place, self.open, self.count = data[0], data[1], data[2]
        return data[3:]


class _ThresholdState(_State):
    __slots__ = ("t", "seq")

    def __init__(self, subject: str, place: str) -> None:
        _State.__init__(self, subject, place)
        self.t = _NEVER
        self.seq = -1

    def on_reading(self, rule: ThresholdRule, reading: Reading, t: float, clock: float) -> Event | None:
        seq = -1 if reading.seq is None else reading.seq
        if t < self.t or (t == self.t and seq <= self.seq):
            return None
        self.t = t
        self.seq = seq
        value = reading.value
        if rule.below:
            hit = value <= rule.raise_at
        else:
            hit = value >= rule.raise_at
        if self.open:
            if hit:
                return self._repeat(rule, rule.grade, value, reading.ts, reading.ts)
            if (value > rule.clear_at) if rule.below else (value < rule.clear_at):
                return self._clear(rule, rule.grade, value, reading.ts, reading.ts)
            return None
        if hit:
            return self._raise(rule, rule.grade, value, reading.ts, reading.ts)
        return None

    def dump(self) -> list[Any]:
        return [*self._head(), _out(self.t), self.seq]

    def load(self, rule: Rule, data: list[Any]) -> None:
        t, self.seq = self._load_head(data)
        self.t = _in(t)


class _SustainedState(_State):
    __slots__ = ("t", "seq", "since", "value")
    timed = True

    def __init__(self, subject: str, place: str) -> None:
        _State.__init__(self, subject, place)
        self.t = _NEVER
        self.seq = -1
        self.since: float | None = None
        self.value: float | None = None

    def on_reading(self, rule: SustainedRule, reading: Reading, t: float, clock: float) -> Event | None:
        seq = _seq(reading)
        if t < self.t or (t == self.t and seq <= self.seq):
            return None
        self.t, self.seq, self.value = t, seq, reading.value
        if rule.condition.test(reading.value):
            if self.since is None:
                self.since = t
            if self.open:
                return self._repeat(rule, rule.grade, reading.value, reading.ts, reading.ts)
            if t - self.since >= rule.duration_s:
                return self._raise(rule, rule.grade, reading.value, reading.ts, reading.ts)
            return None
        self.since = None
        if self.open:
            return self._clear(rule, rule.grade, reading.value, reading.ts, reading.ts)
        return None

    def on_tick(self, rule: SustainedRule, now: float, now_dt: dt.datetime) -> Event | None:
        # The last value is taken to hold until a reading says otherwise (silence is the offline rule's job).
        if not self.open and self.since is not None and now - self.since >= rule.duration_s:
            return self._raise(rule, rule.grade, self.value, _stamp(self.t), now_dt)
        return None

    def dump(self) -> list[Any]:
        return [*self._head(), _out(self.t), self.seq, self.since, self.value]

    def load(self, rule: Rule, data: list[Any]) -> None:
        t, self.seq, self.since, self.value = self._load_head(data)
        self.t = _in(t)


class _RateState(_State):
    __slots__ = ("t", "seq", "samples")

    def __init__(self, subject: str, place: str) -> None:
        _State.__init__(self, subject, place)
        self.t = _NEVER
        self.seq = -1
        self.samples: list[list[float]] = []  # [ts, value], oldest first, inside the window

    def on_reading(self, rule: RateOfChangeRule, reading: Reading, t: float, clock: float) -> Event | None:
        seq = _seq(reading)
        if t < self.t or (t == self.t and seq <= self.seq):
            return None
        self.t, self.seq = t, seq
        samples = self.samples
        samples.append([t, reading.value])
        start = t - rule.window_s
        drop = 0
        while samples[drop][0] <= start:
            drop += 1
        if drop:
            del samples[:drop]
        first_t, first_value = samples[0]
        rate = (reading.value - first_value) * 60.0 / (t - first_t) if t > first_t else 0.0
        if rule.direction == "rising":
            hit = rate >= rule.limit
        elif rule.direction == "falling":
            hit = -rate >= rule.limit
        else:
            hit = abs(rate) >= rule.limit
        if self.open:
            if hit:
                return self._repeat(rule, rule.grade, rate, reading.ts, reading.ts)
            return self._clear(rule, rule.grade, rate, reading.ts, reading.ts)
        if hit:
            return self._raise(rule, rule.grade, rate, reading.ts, reading.ts)
        return None

    def dump(self) -> list[Any]:
        return [*self._head(), _out(self.t), self.seq, [list(sample) for sample in self.samples]]

    def load(self, rule: Rule, data: list[Any]) -> None:
        t, self.seq, samples = self._load_head(data)
        self.t = _in(t)
        self.samples = [list(sample) for sample in samples]


class _NoDataState(_State):
    __slots__ = ("since", "horizon", "samples", "keys")
    timed = True

    def __init__(self, subject: str, place: str) -> None:
        _State.__init__(self, subject, place)
        self.since = _NEVER  # when watching began: first reading of the device, or first tick
        self.horizon = _NEVER  # the latest time seen (reading or tick)
        self.samples: dict[tuple[float, int], float] = {}  # (ts, seq) -> value, in the window
        self.keys: list[tuple[float, int]] = []  # the samples' keys in order: pruning is a bisection

    def watch(self, t: float) -> None:
        if self.since == _NEVER:
            self.since = t

    def on_reading(self, rule: NoDataRule, reading: Reading, t: float, clock: float) -> Event | None:
        self.watch(t)
        horizon = max(self.horizon, t, clock)
        key = (t, _seq(reading))
        if key in self.samples:
            return None
        if rule.measure != "delta":
            if t <= horizon - rule.window_s:
                return None
            if rule.condition is not None and not rule.condition.test(reading.value):
                return self._judge(rule, horizon, reading.ts)
        self.samples[key] = reading.value
        if not self.keys or key > self.keys[-1]:
            self.keys.append(key)  # readings mostly arrive in order
        else:
            bisect.insort(self.keys, key)
        return self._judge(rule, horizon, reading.ts)

    def on_tick(self, rule: NoDataRule, now: float, now_dt: dt.datetime) -> Event | None:
        self.watch(now)
        return self._judge(rule, max(self.horizon, now), now_dt)

    def _judge(self, rule: NoDataRule, horizon: float, at: dt.datetime) -> Event | None:
        self.horizon = horizon
        start = horizon - rule.window_s
        samples, keys = self.samples, self.keys
        before = bisect.bisect_right(keys, (start, math.inf))  # samples at or before the start
        # "delta" keeps the newest sample at or before the window's start as the baseline
        drop = max(before - 1, 0) if rule.measure == "delta" else before
        if drop:
            for key in keys[:drop]:
                del samples[key]
            del keys[:drop]
        if rule.measure == "delta":
            measure = samples[keys[-1]] - samples[keys[0]] if keys else 0.0
        elif rule.measure == "count":
            measure = float(len(keys))
        else:
            measure = sum(samples.values())
        latest = keys[-1][0] if keys else None
        if self.open:
            if measure >= rule.below:
                return self._clear(rule, rule.grade, measure, _stamp(latest), at)
            return None
        if measure < rule.below and horizon - self.since >= rule.window_s:
            return self._raise(rule, rule.grade, measure, _stamp(latest), at)
        return None

    def dump(self) -> list[Any]:
        samples = [[t, seq, value] for (t, seq), value in self.samples.items()]
        return [*self._head(), _out(self.since), _out(self.horizon), samples]

    def load(self, rule: Rule, data: list[Any]) -> None:
        since, horizon, samples = self._load_head(data)
        self.since, self.horizon = _in(since), _in(horizon)
        self.samples = {(t, seq): value for t, seq, value in samples}
        self.keys = sorted(self.samples)


class _OfflineState(_State):
    __slots__ = ("seen", "heard")
    timed = True

    def __init__(self, subject: str, place: str) -> None:
        _State.__init__(self, subject, place)
        self.seen = _NEVER  # the newest reading's time, or when watching began
        self.heard = False  # whether ``seen`` is a reading's time

    def watch(self, t: float) -> None:
        if self.seen == _NEVER:
            self.seen = t

    def on_reading(self, rule: OfflineRule, reading: Reading, t: float, clock: float) -> Event | None:
        if t > self.seen:
            self.seen = t
        self.heard = True
        # A late reading (redelivered after an outage) does not bring a device back if it is still stale
        # by the clock of the last tick.
        if self.open and max(clock, t) - self.seen < rule.silence_s:
            return self._clear(rule, rule.grade, reading.value, reading.ts, reading.ts)
        return None

    def on_tick(self, rule: OfflineRule, now: float, now_dt: dt.datetime) -> Event | None:
        self.watch(now)
        if not self.open and now - self.seen >= rule.silence_s:
            seen = _stamp(self.seen) if self.heard else None
            return self._raise(rule, rule.grade, now - self.seen, seen, now_dt)
        return None

    def dump(self) -> list[Any]:
        return [*self._head(), _out(self.seen), self.heard]

    def load(self, rule: Rule, data: list[Any]) -> None:
        seen, self.heard = self._load_head(data)
        self.seen = _in(seen)


class _CountState(_State):
    __slots__ = ("horizon", "events")
    timed = True

    def __init__(self, subject: str, place: str) -> None:
        _State.__init__(self, subject, place)
        self.horizon = _NEVER
        self.events: dict[tuple[str, float, int], float] = {}  # (device, ts, seq) -> value, in the window

    def on_reading(self, rule: CountWindowRule, reading: Reading, t: float, clock: float) -> Event | None:
        if rule.condition is not None and not rule.condition.test(reading.value):
            return None
        key = (reading.device, t, _seq(reading))
        horizon = max(self.horizon, t, clock)
        if t <= horizon - rule.window_s or key in self.events:
            return None
        self.events[key] = reading.value
        self.horizon = horizon
        n = self._prune(rule)
        if n >= rule.count:
            if self.open:
                return self._repeat(rule, rule.grade, float(n), reading.ts, reading.ts)
            return self._raise(rule, rule.grade, float(n), reading.ts, reading.ts)
        if self.open:
            return self._clear(rule, rule.grade, float(n), reading.ts, reading.ts)
        return None

    def on_tick(self, rule: CountWindowRule, now: float, now_dt: dt.datetime) -> Event | None:
        if now > self.horizon:
            self.horizon = now
        n = self._prune(rule)
        if self.open and n < rule.count:
            latest = max(key[1] for key in self.events) if self.events else None
            return self._clear(rule, rule.grade, float(n), _stamp(latest), now_dt)
        return None

    def _prune(self, rule: CountWindowRule) -> int:
        start = self.horizon - rule.window_s
        events = self.events
        for key in [key for key in events if key[1] <= start]:
            del events[key]
        return len(events)

    def dump(self) -> list[Any]:
        events = [[device, t, seq, value] for (device, t, seq), value in self.events.items()]
        return [*self._head(), _out(self.horizon), events]

    def load(self, rule: Rule, data: list[Any]) -> None:
        horizon, events = self._load_head(data)
        self.horizon = _in(horizon)
        self.events = {(device, t, seq): value for device, t, seq, value in events}


class _CompositeState(_State):
    __slots__ = ("horizon", "latest")
    timed = True

    def __init__(self, subject: str, place: str) -> None:
        _State.__init__(self, subject, place)
        self.horizon = _NEVER
        # per condition: device -> [ts, seq, holds]
        self.latest: list[dict[str, list[Any]]] | None = None

    def on_reading(self, rule: CompositeRule, reading: Reading, t: float, clock: float) -> Event | None:
        if self.latest is None:
            self.latest = [{} for _ in rule.conditions]
        seq = _seq(reading)
        met = applied = False
        for index, condition in enumerate(rule.conditions):
            if condition.metric != reading.metric:
                continue
            previous = self.latest[index].get(reading.device)
            if previous is not None and (t < previous[0] or (t == previous[0] and seq <= previous[1])):
                continue
            holds = condition.test(reading.value)
            self.latest[index][reading.device] = [t, seq, holds]
            applied = True
            met = met or holds
        if not applied:
            return None
        self.horizon = max(self.horizon, t, clock)
        if self._holds(rule, self.horizon):
            if self.open:
                if met:
                    return self._repeat(rule, rule.grade, reading.value, reading.ts, reading.ts)
                return None
            return self._raise(rule, rule.grade, reading.value, reading.ts, reading.ts)
        if self.open:
            return self._clear(rule, rule.grade, reading.value, reading.ts, reading.ts)
        return None

    def on_tick(self, rule: CompositeRule, now: float, now_dt: dt.datetime) -> Event | None:
        if now > self.horizon:
            self.horizon = now
        if self.open and not self._holds(rule, self.horizon):
            return self._clear(rule, rule.grade, None, None, now_dt)
        return None

    def _holds(self, rule: CompositeRule, now: float) -> bool:
        if self.latest is None:
            return False
        within = rule.within_s
        active = (
            any(holds and now - t < within for t, _, holds in devices.values()) for devices in self.latest
        )
        return all(active) if rule.require_all else any(active)

    def dump(self) -> list[Any]:
        latest = None if self.latest is None else [{d: list(v) for d, v in c.items()} for c in self.latest]
        return [*self._head(), _out(self.horizon), latest]

    def load(self, rule: Rule, data: list[Any]) -> None:
        horizon, latest = self._load_head(data)
        self.horizon = _in(horizon)
        self.latest = None if latest is None else [{d: list(v) for d, v in c.items()} for c in latest]


class _DensityState(_State):
    __slots__ = ("counts", "grade")

    def __init__(self, subject: str, place: str) -> None:
        _State.__init__(self, subject, place)
        self.counts: dict[str, list[Any]] = {}  # device -> [ts, seq, persons]
        self.grade: Grade | None = None

    def on_reading(self, rule: CrowdDensityRule, reading: Reading, t: float, clock: float) -> Event | None:
        area = rule.area_of(reading.place)
        if area is None:
            return None
        seq = _seq(reading)
        previous = self.counts.get(reading.device)
        if previous is not None and (t < previous[0] or (t == previous[0] and seq <= previous[1])):
            return None
        self.counts[reading.device] = [t, seq, reading.value]
        density = sum(entry[2] for entry in self.counts.values()) / area
        reached = None
        for grade, level in rule.levels:
            if density >= level:
                reached = grade
        if not self.open:
            if reached is None:
                return None
            self.grade = reached
            return self._raise(rule, reached, density, reading.ts, reading.ts)
        assert self.grade is not None
        if reached is None or reached < self.grade:
            # going down, a grade is kept until the density falls `hysteresis` below its level
            reached = None
            for grade, level in rule.levels:
                if grade <= self.grade and density >= level - rule.hysteresis:
                    reached = grade
            if reached is None:
                event = self._clear(rule, self.grade, density, reading.ts, reading.ts)
                self.grade = None
                return event
        self.grade = reached
        return self._repeat(rule, reached, density, reading.ts, reading.ts)

    def dump(self) -> list[Any]:
        counts = {device: list(entry) for device, entry in self.counts.items()}
        return [*self._head(), counts, None if self.grade is None else self.grade.code]

    def load(self, rule: Rule, data: list[Any]) -> None:
        counts, grade = self._load_head(data)
        self.counts = {device: list(entry) for device, entry in counts.items()}
        self.grade = None if grade is None else Grade.parse(grade)


_STATES: dict[type[Rule], type[_State]] = {
    ThresholdRule: _ThresholdState,
    SustainedRule: _SustainedState,
    RateOfChangeRule: _RateState,
    NoDataRule: _NoDataState,
    OfflineRule: _OfflineState,
    CountWindowRule: _CountState,
    CompositeRule: _CompositeState,
    CrowdDensityRule: _DensityState,
}


def _by_place(rule: Rule) -> bool:
    return rule.per_place or (isinstance(rule, CountWindowRule) and rule.by_place)


def _watches_device(rule: Rule) -> bool:
    """Kinds that also judge silence, so a device is watched from its first reading of any metric."""
    return isinstance(rule, NoDataRule | OfflineRule)


# --- the engine ---------------------------------------------------------------------------------------

_ANY = "*"
# A route: (rule, its states by subject, state class, subject is the place, the reading's metric is evaluated)
_Route = tuple[Rule, dict[str, _State], type[_State], bool, bool]


class Engine:
    """Evaluates a fixed set of rules. To change rules, build a new engine from the old one's checkpoint:
    ``Engine.restore(new_rules, engine.checkpoint())`` keeps the state of every unchanged rule."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules: dict[str, Rule] = {}
        for rule in rules:
            if rule.id in self._rules:
                raise RuleError("id", f"{rule.id!r} is used by two rules; rule ids must be unique")
            self._rules[rule.id] = rule
        self._order = {rule_id: index for index, rule_id in enumerate(self._rules)}
        self._states: dict[str, dict[str, _State]] = {rule_id: {} for rule_id in self._rules}
        self._timed = [rule for rule in self._rules.values() if _STATES[type(rule)].timed]
        self._listed = [rule for rule in self._rules.values() if _watches_device(rule) and rule.device_codes]
        self._clock = _NEVER  # the latest tick's now
        self._watching = False  # whether listed devices have been put under watch (first tick)
        # Each rule is indexed once, under its most specific selector, by metric ("*" for every metric).
        self._by_device: dict[tuple[str, str], list[Rule]] = {}
        self._by_kind: dict[tuple[str, str], list[Rule]] = {}
        self._by_place: dict[tuple[str, str], list[Rule]] = {}
        self._by_metric: dict[str, list[Rule]] = {}
        for rule in self._rules.values():
            metrics = rule.metrics or (_ANY,)
            if _watches_device(rule) and rule.metrics:
                metrics = (*metrics, _ANY)
            for metric in metrics:
                if rule.device_codes:
                    for code in rule.device_codes:
                        self._by_device.setdefault((code, metric), []).append(rule)
                elif rule.device_kinds:
                    for kind in rule.device_kinds:
                        self._by_kind.setdefault((kind, metric), []).append(rule)
                elif rule.places or isinstance(rule, CrowdDensityRule):
                    places = rule.places or {place for place, _ in rule.areas_m2}  # type: ignore[attr-defined]
                    for place in places:
                        self._by_place.setdefault((place, metric), []).append(rule)
                else:
                    self._by_metric.setdefault(metric, []).append(rule)
        #: rules whose state started afresh (all of them, unless restored from a checkpoint)
        self.fresh_rule_ids: list[str] = list(self._rules)
        # (device, kind, place, metric, community) -> routes, resolved on first sight
        self._routes: dict[tuple[str, str, str, str, str], tuple[_Route, ...]] = {}

    @property
    def rules(self) -> tuple[Rule, ...]:
        return tuple(self._rules.values())

    def _resolve(self, key: tuple[str, str, str, str, str]) -> tuple[_Route, ...]:
        device, kind, place, metric, community = key
        found: dict[str, Rule] = {}
        for candidates in (
            self._by_device.get((device, metric)),
            self._by_device.get((device, _ANY)),
            self._by_kind.get((kind, metric)),
            self._by_kind.get((kind, _ANY)),
            self._by_place.get((place, metric)),
            self._by_place.get((place, _ANY)),
            self._by_metric.get(metric),
            self._by_metric.get(_ANY),
        ):
            for rule in candidates or ():
                if rule.selects(device, kind, place, community):
                    found[rule.id] = rule
        routes = tuple(
            (
                rule,
                self._states[rule.id],
                _STATES[type(rule)],
                _by_place(rule),
                not rule.metrics or metric in rule.metrics,
            )
            for rule in sorted(found.values(), key=lambda rule: self._order[rule.id])
        )
        self._routes[key] = routes
        return routes

    def evaluate(self, reading: Reading) -> list[Event]:
        """Apply one reading to every rule that selects it; return the events, in rule order."""
        key = (reading.device, reading.kind, reading.place, reading.metric, reading.community)
        routes = self._routes.get(key)
        if routes is None:
            routes = self._resolve(key)
        events: list[Event] = []
        if not routes:
            return events
        t = reading.ts.timestamp()
        for rule, states, state_class, by_place, evaluated in routes:
            subject = reading.place if by_place else reading.device
            state = states.get(subject)
            if state is None:
                state = states[subject] = state_class(subject, reading.place)
            if evaluated:
                event = state.on_reading(rule, reading, t, self._clock)
                if event is not None:
                    events.append(event)
            else:
                state.watch(t)  # type: ignore[attr-defined]
        return events

    def tick(self, now: dt.datetime) -> list[Event]:
        """Let time pass: silence (no data, offline), conditions held long enough (sustained) and windows
        that moved on (count window, composite). Call it about once a second with ``core.clock.now()``."""
        if now.tzinfo is None:
            raise ValueError("tick needs an aware datetime, e.g. core.clock.now()")
        t = now.timestamp()
        if t > self._clock:
            self._clock = t
        if not self._watching:
            self._watching = True
            for rule in self._listed:
                states = self._states[rule.id]
                for code in sorted(rule.device_codes):
                    if code not in states:
                        states[code] = _STATES[type(rule)](code, "")
        events: list[Event] = []
        for rule in self._timed:
            for state in self._states[rule.id].values():
                event = state.on_tick(rule, t, now)
                if event is not None:
                    events.append(event)
        return events

    def reset(self, rule_id: str, subject: str) -> bool:
        """Forget a subject's state, e.g. after a person resolved its alert while the condition still
        held: the next reading that meets the rule raises a new alert. Whether there was state to forget."""
        self._watching = False  # a listed device is watched again from the next tick
        return self._states.get(rule_id, {}).pop(subject, None) is not None

    def open_subjects(self, rule_id: str) -> list[str]:
        """The subjects this rule currently holds raised."""
        return [subject for subject, state in self._states.get(rule_id, {}).items() if state.open]

    def checkpoint(self) -> dict[str, Any]:
        """All evaluation state as JSON-serialisable data (see ADR 0005 for the format)."""
        return {
            "version": CHECKPOINT_VERSION,
            "clock": _out(self._clock),
            "rules": {
                rule_id: {
                    "rule": rule_fingerprint(rule),
                    "states": {subject: state.dump() for subject, state in self._states[rule_id].items()},
                }
                for rule_id, rule in self._rules.items()
            },
        }

    @classmethod
    def restore(cls, rules: Iterable[Rule], checkpoint: Mapping[str, Any]) -> Engine:
        """An engine for ``rules`` that resumes from ``checkpoint``. The state of a rule is taken only if
        the checkpoint holds it for exactly the same settings; a new or changed rule starts afresh (its
        ids are in :attr:`fresh_rule_ids`, so the caller can review alerts it left open)."""
        engine = cls(rules)
        if checkpoint.get("version") != CHECKPOINT_VERSION:
            version = checkpoint.get("version")
            raise ValueError(f"checkpoint version {version!r}; this engine reads {CHECKPOINT_VERSION}")
        engine._clock = _in(checkpoint.get("clock"))
        saved = checkpoint.get("rules", {})
        fresh = []
        for rule_id, rule in engine._rules.items():
            entry = saved.get(rule_id)
            if entry is None or entry["rule"] != rule_fingerprint(rule):
                fresh.append(rule_id)
                continue
            states = engine._states[rule_id]
            for subject, data in entry["states"].items():
                state = _STATES[type(rule)](subject, "")
                state.load(rule, list(data))  # type: ignore[attr-defined]
                states[subject] = state
        # Listed devices not yet watched (new rules) are put under watch at the next tick.
        engine.fresh_rule_ids = fresh
        return engine
