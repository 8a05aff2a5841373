"""The demo's scenario simulator: readings for a seeded fleet, with occasional real events.

Pure: no database, no MQTT, no clock of its own. The caller hands in the fleet
(:class:`FleetDevice`, see ``banyan.sim.services.load_fleet``) and the current time (from
``banyan.core.clock``), and gets back the readings that became due, as MQTT-ready
:class:`Message` s. ``banyan simulate`` publishes them; the tests feed them to the ingest and rule
pipeline on a simulated clock.

- **Deterministic.** Each device reports on a fixed schedule (``interval / speed`` apart, from a
  phase drawn from the seed); values are functions of the seed, the device and the reading's time,
  and events start at times drawn from the seed in order. The same seed, fleet, start and speed give
  the same readings however often :meth:`Scenario.step` is called.
- **Real time.** ``speed`` only makes devices report more often; every ``ts`` is the real time of
  the reading, and daily patterns (water in the morning and evening, doors opened by day, crowds in
  the evening) follow China Standard Time. So the stored rules judge the readings as they would a
  real fleet's: a heart rate must stay high for five real minutes, a meter flat for twelve hours.
- **Normal values stay quiet**: within each metric's physical range (``sensing.kinds``) and clear of
  the default rules' thresholds (``banyan.sim.seed.rules``): a water meter used every day in any
  twelve hours, a door opened at least every morning and evening, crowds under 2 persons/m².
- **Events** (:data:`EVENT_KINDS`) are what the default rules turn into alerts, each on one device,
  with a value profile over its duration: water rising in a garage or basement past 50 cm and
  falling back, smoke in a stairwell, a gas leak, two falls of a wearer, an SOS press, a heart rate
  above 130 for ten minutes, an elderly resident's water meter flat for thirteen hours, and a crowd
  on a plaza rising through yellow, orange and red. They start at random (``events_per_hour``, a
  Poisson process) or when forced with :meth:`Scenario.force`.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import json
import math
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from banyan.sensing.kinds import KINDS

CST = dt.timezone(dt.timedelta(hours=8))
DAY = 86_400.0
HOUR = 3_600.0
BATTERY = "battery_pct"


@dataclass(frozen=True)
class FleetDevice:
    """One device of the fleet as the simulator needs it (no personal data)."""

    code: str
    kind: str
    community: str
    place: str = ""  # the place key the rules see: facility code, building code[/unit] or grid code
    site: str = ""  # what devices "in one place" share for an event: the building or facility code
    interval_s: float = 0.0  # 0: the kind's expected interval
    battery_pct: float | None = None
    area_m2: float | None = None  # a crowd counter's zone

    @property
    def period_s(self) -> float:
        return self.interval_s or KINDS[self.kind].expected_interval_s


@dataclass(frozen=True)
class Message:
    """One device's report: the readings of its metrics at one time, as one MQTT message."""

    community: str
    device: str
    ts: dt.datetime
    values: tuple[tuple[str, float], ...]
    seq: int | None = None

    @property
    def topic(self) -> str:
        return f"banyan/{self.community}/devices/{self.device}/readings"

    def items(self) -> list[dict]:
        stamp = self.ts.isoformat()
        items = [{"metric": metric, "value": value, "ts": stamp} for metric, value in self.values]
        if self.seq is not None:
            for item in items:
                item["seq"] = self.seq
        return items

    def payload(self) -> bytes:
        return json.dumps(self.items(), separators=(",", ":")).encode()


# --- helpers ---------------------------------------------------------------------------------------


def _rng(*parts: object) -> random.Random:
    """A random stream named by ``parts``: the same everywhere, whatever PYTHONHASHSEED says."""
    return random.Random("/".join(str(part) for part in parts))


def _hours(t: float) -> float:
    """Hours since local (China Standard Time) midnight, 0 ≤ h < 24."""
    return ((t + 8 * HOUR) % DAY) / HOUR


def _local_day(t: float) -> int:
    return int((t + 8 * HOUR) // DAY)


def _ramp(points: tuple[tuple[float, float], ...], x: float) -> float:
    """Piecewise-linear through ``(x, y)`` points; flat beyond the ends."""
    if x <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0) if x1 > x0 else y1
    return points[-1][1]


def _at(elapsed: float, moment: float) -> bool:
    return abs(elapsed - moment) < 1e-6


def _bounded(kind: str, metric: str, value: float) -> float:
    spec = KINDS[kind].metric(metric)
    assert spec is not None, f"{kind} has no metric {metric}"
    return min(spec.maximum, max(spec.minimum, value))


# --- normal behaviour, per kind ----------------------------------------------------------------------
# Water use of a person living alone over the day, per local hour (relative weights): nothing deep in
# the night, peaks in the morning and evening. Any twelve hours hold at least a fifth of the day's use.
WATER_BY_HOUR = (0, 0, 0, 0, 0, 0.3, 2.5, 3.0, 1.5, 0.8, 0.8, 1.2, 1.5, 0.8, 0.6, 0.6, 0.8, 1.2, 2.5, 2.5,
                 1.8, 1.2, 0.6, 0.1)  # fmt: skip
_WATER_TOTAL = sum(WATER_BY_HOUR)
_WATER_CUMULATIVE = tuple(sum(WATER_BY_HOUR[:hour]) / _WATER_TOTAL for hour in range(25))
# People on a plaza or sports field per m² by local hour: morning exercise, evening square dancing.
CROWD_BY_HOUR = (0.002, 0.001, 0.001, 0.001, 0.002, 0.02, 0.12, 0.15, 0.08, 0.05, 0.05, 0.04, 0.03, 0.03,
                 0.04, 0.05, 0.06, 0.08, 0.15, 0.3, 0.28, 0.15, 0.05, 0.01)  # fmt: skip


def _day_fraction(t: float) -> float:
    """Share of a day's water used between local midnight and ``t``."""
    hours = _hours(t)
    whole = int(hours)
    return _WATER_CUMULATIVE[whole] + (hours - whole) * WATER_BY_HOUR[whole] / _WATER_TOTAL


@dataclass
class _Profile:
    """What one device keeps between readings: its constants, drawn once from the seed."""

    device: FleetDevice
    constants: dict[str, float]
    offsets: dict[str, float] = field(default_factory=dict)  # counters paused by an event


def _constants(seed: int, device: FleetDevice) -> dict[str, float]:
    rng = _rng(seed, "device", device.code)
    return {
        "phase": rng.random(),
        "drain_per_day": rng.uniform(0.02, 0.12),  # battery % a day
        "daily_m3": rng.uniform(0.09, 0.18),  # water used a day by one person
        "meter_start_m3": rng.uniform(40.0, 900.0),
        "resting_hr": rng.uniform(62.0, 80.0),
        "spo2": rng.uniform(95.5, 98.5),
        "level_cm": rng.uniform(0.0, 8.0),
        "gas_lel": rng.uniform(0.0, 2.0),
        "temperature_c": rng.uniform(19.0, 24.0),
        "pm25": rng.uniform(15.0, 45.0),
        "crowd_scale": rng.uniform(0.6, 1.2),
    }


def _normal(profile: _Profile, t: float, rng: random.Random) -> dict[str, float]:
    """The device's levels at ``t`` when nothing is happening (event metrics are reported as edges)."""
    d, c = profile.device, profile.constants
    hours = _hours(t)
    daily = math.sin((hours - 9) / 24 * 2 * math.pi)  # -1 at 3:00, +1 at 15:00
    kind = d.kind
    if kind == "water_meter":
        days = t / DAY + 8 * HOUR / DAY
        used = c["daily_m3"] * (math.floor(days) + _day_fraction(t))
        flow = c["daily_m3"] * WATER_BY_HOUR[int(hours)] / _WATER_TOTAL
        flow = flow * rng.uniform(0.0, 2.0) if flow else 0.0
        return {
            "water_m3": round(c["meter_start_m3"] + used - profile.offsets.get("water_m3", 0.0), 3),
            "flow_m3h": round(flow, 3),
        }
    if kind == "smoke":
        return {"smoke_obscuration": round(rng.uniform(0.0, 0.3), 2)}
    if kind == "combustible_gas":
        return {"gas_lel": round(max(0.0, c["gas_lel"] + rng.gauss(0, 0.4)), 1)}
    if kind == "water_level":
        return {"water_level_cm": round(max(0.0, c["level_cm"] + rng.gauss(0, 0.8)), 1)}
    if kind == "wearable_band":
        active = 12 if 7 <= hours < 21 else 0
        heart = c["resting_hr"] + active * rng.random() + rng.gauss(0, 3)
        return {
            "heart_rate": round(min(118.0, max(45.0, heart))),
            "spo2": round(min(100.0, c["spo2"] + rng.gauss(0, 0.6)), 1),
        }
    if kind in ("crowd_counter", "camera"):
        area = d.area_m2 or 2000.0
        density = CROWD_BY_HOUR[int(hours)] * c["crowd_scale"]
        people = max(0, round(area * density * rng.uniform(0.8, 1.2)))
        if kind == "camera":
            people = min(people * 6 // 10, 10_000)  # a camera sees part of the zone
        return {"person_count": float(people)}
    if kind == "air_quality":
        open_hours = 8 <= hours < 20
        return {
            "pm25": round(max(3.0, c["pm25"] * (1 + 0.3 * daily) + rng.gauss(0, 3)), 1),
            "co2": round(rng.uniform(650, 1000) if open_hours else rng.uniform(420, 520)),
        }
    if kind == "temperature":
        return {
            "temperature_c": round(c["temperature_c"] + 3 * daily + rng.gauss(0, 0.3), 1),
            "humidity": round(min(95.0, max(30.0, 65 - 12 * daily + rng.gauss(0, 2))), 1),
        }
    return {}  # door contacts, SOS buttons: only the battery and their edges


def _battery(profile: _Profile, t: float, start: float) -> float | None:
    initial = profile.device.battery_pct
    if initial is None or not KINDS[profile.device.kind].battery_powered:
        return None
    drained = profile.constants["drain_per_day"] * max(0.0, t - start) / DAY
    return round(max(1.0, initial - drained), 1)


@functools.lru_cache(maxsize=8192)
def door_openings(seed: int, code: str, day: int) -> tuple[tuple[float, float], ...]:
    """``(open, close)`` epoch seconds of a door on local day ``day``: one opening every morning
    (7:00–9:00), one every evening (17:00–19:30), and up to two more by day; open 1–3 minutes."""
    rng = _rng(seed, "door", code, day)
    midnight = day * DAY - 8 * HOUR
    hours = [rng.uniform(7.0, 9.0), rng.uniform(17.0, 19.5)]
    hours += [rng.uniform(9.5, 16.5) for _ in range(rng.randint(0, 2))]
    return tuple((midnight + h * HOUR, midnight + h * HOUR + rng.uniform(60, 180)) for h in sorted(hours))


# --- events --------------------------------------------------------------------------------------------
ValueFn = Callable[[float, FleetDevice], dict[str, float]]


@dataclass(frozen=True)
class EventKind:
    """A real event on one device: how its values move over ``duration_s`` (``value_fn`` of the
    seconds since it began), how often the device reports meanwhile, and the grade the default rule
    set raises for it (checked by ``banyan/sim/tests/test_scenario.py``)."""

    code: str
    device_kind: str
    summary: str
    grade: str
    duration_s: float
    report_every_s: float
    value_fn: ValueFn
    # Counters that stand still during the event and go on from there afterwards (a meter nobody uses).
    holds: tuple[str, ...] = ()
    # Devices of this kind in the same building or facility join in (a fire warms the room).
    companions: str = ""
    companion_fn: ValueFn | None = None


def _water_rising(elapsed: float, device: FleetDevice) -> dict[str, float]:
    level = _ramp(((0, 6), (720, 68), (1080, 68), (1800, 8)), elapsed)
    return {"water_level_cm": round(level, 1)}


def _fire(elapsed: float, device: FleetDevice) -> dict[str, float]:
    smoke = _ramp(((0, 0.5), (180, 15), (600, 15), (900, 0.5)), elapsed)
    return {"smoke_obscuration": round(smoke, 2), "smoke_alarm": 1.0 if smoke >= 3 else 0.0}


def _fire_heat(elapsed: float, device: FleetDevice) -> dict[str, float]:
    return {"temperature_c": round(_ramp(((0, 24), (240, 68), (600, 68), (900, 30)), elapsed), 1)}


def _gas(elapsed: float, device: FleetDevice) -> dict[str, float]:
    return {"gas_lel": round(_ramp(((0, 2), (240, 38), (480, 38), (960, 2)), elapsed), 1)}


def _falls(elapsed: float, device: FleetDevice) -> dict[str, float]:
    values = {"heart_rate": 104.0, "spo2": 95.0}
    if _at(elapsed, 0) or _at(elapsed, 180):  # falls, tries to get up, falls again
        values["fall"] = 1.0
    return values


def _sos(elapsed: float, device: FleetDevice) -> dict[str, float]:
    return {"sos": 1.0 if _at(elapsed, 0) else 0.0}


def _racing_heart(elapsed: float, device: FleetDevice) -> dict[str, float]:
    return {"heart_rate": round(_ramp(((0, 128), (60, 142), (540, 146), (600, 128)), elapsed)), "spo2": 94.0}


def _flat_meter(elapsed: float, device: FleetDevice) -> dict[str, float]:
    return {"flow_m3h": 0.0}


def _crowd(elapsed: float, device: FleetDevice) -> dict[str, float]:
    # persons per m²: through yellow (2), orange (4) and red (5), then dispersing
    points = ((0, 0.3), (180, 2.4), (360, 2.4), (540, 4.4), (720, 4.4), (840, 5.6), (1080, 5.6),
              (1440, 1.0), (1560, 0.3))  # fmt: skip
    area = device.area_m2 or 2000.0
    return {"person_count": float(round(_ramp(points, elapsed) * area))}


EVENT_KINDS: dict[str, EventKind] = {
    kind.code: kind
    for kind in (
        EventKind(
            "flooding",
            "water_level",
            "water rising past 50 cm in a basement or garage",
            "orange",
            1800,
            30,
            _water_rising,
        ),
        EventKind(
            "fire",
            "smoke",
            "smoke in a stairwell",
            "red",
            900,
            15,
            _fire,
            companions="temperature",
            companion_fn=_fire_heat,
        ),
        EventKind(
            "gas_leak", "combustible_gas", "combustible gas above 25 %LEL in a flat", "red", 960, 15, _gas
        ),
        EventKind("falls", "wearable_band", "a wearer falls twice within minutes", "orange", 600, 60, _falls),
        EventKind("sos", "sos_button", "an SOS button pressed", "red", 30, 10, _sos),
        EventKind(
            "heart_rate",
            "wearable_band",
            "a wearer's heart rate above 130 for ten minutes",
            "orange",
            600,
            30,
            _racing_heart,
        ),
        EventKind(
            "inactivity",
            "water_meter",
            "an elderly resident's water meter flat for 13 hours",
            "yellow",
            13 * HOUR,
            0,
            _flat_meter,
            holds=("water_m3",),
        ),
        EventKind(
            "crowd",
            "crowd_counter",
            "a crowd on a plaza rising through yellow, orange and red",
            "red",
            1560,
            20,
            _crowd,
        ),
    )  # fmt: skip
}


# The demo's opening scene (``banyan simulate --opening-scene``, which ``banyan demo`` passes): a short
# scripted morning so that whoever opens the demo sees the whole path within minutes, not after the
# first random event (a quarter of an hour on average). Seconds after the simulator starts, and what
# it shows: an SOS (a red alert at once, an incident, and the director's urgent notice when nobody
# accepts it in time), a gas leak reaching 25 %LEL about 2.5 minutes later (red), a wearer falling
# twice (orange once the second fall comes, 3 minutes later), a basement flooding past 50 cm (orange
# after about 8.5 minutes).
OPENING_SCENE: tuple[tuple[str, float], ...] = (
    ("sos", 10.0),
    ("gas_leak", 20.0),
    ("falls", 30.0),
    ("flooding", 40.0),
)


@dataclass
class Event:
    """An event under way: what, where, since when (epoch seconds)."""

    kind: EventKind
    device: FleetDevice
    start: float
    companions: tuple[FleetDevice, ...] = ()
    held: dict[str, float] = field(default_factory=dict)  # counter values at the start

    @property
    def end(self) -> float:
        return self.start + self.kind.duration_s

    @property
    def started_at(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.start, dt.UTC)

    def describe(self) -> str:
        """One line for the console: kind, device code and the expected grade (no personal data)."""
        article = "an" if self.kind.grade == "orange" else "a"
        return (
            f"{self.started_at.astimezone(CST):%H:%M:%S} event {self.kind.code} on {self.device.code}: "
            f"{self.kind.summary} (expect {article} {self.kind.grade} alert)"
        )


@dataclass
class Step:
    messages: list[Message]
    started: list[Event]


# --- the scenario --------------------------------------------------------------------------------------


class Scenario:
    """Readings for ``fleet`` from ``start`` on. Call :meth:`step` with the current time, again and again.

    ``speed`` divides every device's reporting interval (real timestamps, more readings);
    ``events_per_hour`` is the mean rate of random events (0: none); ``event_kinds`` limits them.
    """

    def __init__(
        self,
        fleet: Iterable[FleetDevice],
        *,
        seed: int,
        start: dt.datetime,
        speed: float = 1.0,
        events_per_hour: float = 0.0,
        event_kinds: Iterable[str] | None = None,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("the scenario needs an aware start time, e.g. core.clock.now()")
        if speed <= 0:
            raise ValueError("speed must be greater than 0")
        self.seed = seed
        self.speed = speed
        self.start = start.timestamp()
        self.fleet = tuple(sorted(fleet, key=lambda device: device.code))
        self.profiles = {d.code: _Profile(d, _constants(seed, d)) for d in self.fleet}
        self.events_per_hour = max(0.0, events_per_hour)
        wanted = set(EVENT_KINDS) if event_kinds is None else set(event_kinds)
        unknown = wanted - set(EVENT_KINDS)
        if unknown:
            raise ValueError(f"unknown event kinds {sorted(unknown)}; known: {', '.join(EVENT_KINDS)}")
        self.event_kinds = tuple(
            kind for code, kind in EVENT_KINDS.items() if code in wanted and self._candidates(kind)
        )
        self.events: list[Event] = []  # under way or finished, in order of start
        self._busy: dict[str, Event] = {}  # device code -> its event under way
        self._events_rng = _rng(seed, "events")
        self._next_event = self._draw_next_event(self.start)
        self._until = self.start  # readings up to and including this time have been handed out
        self._seq: dict[str, int] = {}
        # (ts, order, device code, event index or -1): each device's next regular report
        self._queue: list[tuple[float, int, str]] = []
        for order, device in enumerate(self.fleet):
            period = device.period_s / speed
            first = self.start + self.profiles[device.code].constants["phase"] * period
            self._queue.append((first, order, device.code))
        heapq.heapify(self._queue)
        self._order = {device.code: order for order, device in enumerate(self.fleet)}
        self._doors_until: dict[str, float] = {}

    # -- events --

    def _candidates(self, kind: EventKind) -> list[FleetDevice]:
        return [d for d in self.fleet if d.kind == kind.device_kind]

    def _draw_next_event(self, after: float) -> float:
        if not self.events_per_hour or not self.event_kinds:
            return math.inf
        return after + self._events_rng.expovariate(self.events_per_hour / HOUR)

    def force(self, code: str, *, at: dt.datetime, device: str | None = None) -> Event:
        """Start an event of kind ``code`` at ``at``, on ``device`` or else on one drawn from the seed."""
        kind = EVENT_KINDS.get(code)
        if kind is None:
            raise ValueError(f"unknown event kind {code!r}; known: {', '.join(EVENT_KINDS)}")
        t = at.timestamp()
        chosen = None
        if device is not None:
            chosen = next((d for d in self.fleet if d.code == device and d.kind == kind.device_kind), None)
            if chosen is None:
                raise ValueError(f"no {kind.device_kind} device {device!r} in the fleet")
        event = self._begin(kind, t, chosen, _rng(self.seed, "forced", code, len(self.events)))
        if event is None:
            raise ValueError(f"no {kind.device_kind} device free for a {code} event")
        return event

    def opening_scene(self, *, at: dt.datetime) -> list[Event]:
        """Schedule :data:`OPENING_SCENE` from ``at`` on; a kind with no device in the fleet is left out."""
        events = []
        for code, after_s in OPENING_SCENE:
            if not self._candidates(EVENT_KINDS[code]):
                continue
            events.append(self.force(code, at=at + dt.timedelta(seconds=after_s)))
        return events

    def _begin(
        self, kind: EventKind, t: float, device: FleetDevice | None, rng: random.Random
    ) -> Event | None:
        if device is None:
            free = [d for d in self._candidates(kind) if d.code not in self._busy]
            if not free:
                return None
            device = rng.choice(free)
        companions: tuple[FleetDevice, ...] = ()
        if kind.companions and device.site:
            companions = tuple(
                d
                for d in self.fleet
                if d.kind == kind.companions and d.site == device.site and d.code not in self._busy
            )
        event = Event(kind, device, t, companions)
        profile = self.profiles[device.code]
        for metric in kind.holds:
            event.held[metric] = _normal(profile, t, _rng(self.seed, "hold", device.code, t))[metric]
        self.events.append(event)
        for member in (device, *companions):
            self._busy[member.code] = event
        if kind.report_every_s:
            heapq.heappush(self._queue, (t, -len(self.events), device.code))
        return event

    def _finish(self, event: Event) -> None:
        profile = self.profiles[event.device.code]
        for metric, value in event.held.items():
            # the counter goes on from where it stood: what was not used is not used later either
            resumed = _normal(profile, event.end, _rng(self.seed, "hold", event.device.code, event.end))
            profile.offsets[metric] = profile.offsets.get(metric, 0.0) + resumed[metric] - value
        for member in (event.device, *event.companions):
            if self._busy.get(member.code) is event:
                del self._busy[member.code]

    def event_at(self, code: str, t: float) -> Event | None:
        event = self._busy.get(code)
        return event if event is not None and event.start <= t < event.end else None

    # -- readings --

    def _values(self, device: FleetDevice, t: float, *, edges: bool) -> dict[str, float]:
        profile = self.profiles[device.code]
        rng = _rng(self.seed, "reading", device.code, round(t * 1_000_000))
        values = _normal(profile, t, rng)
        event = self.event_at(device.code, t)
        if event is not None:
            if device.code == event.device.code:
                overlay = event.kind.value_fn(t - event.start, device)
                values.update({metric: event.held[metric] for metric in event.kind.holds})
            else:
                assert event.kind.companion_fn is not None
                overlay = event.kind.companion_fn(t - event.start, device)
            event_metrics = KINDS[device.kind].event_metrics
            values.update(
                {metric: value for metric, value in overlay.items() if edges or metric not in event_metrics}
            )
        battery = _battery(profile, t, self.start)
        if battery is not None:
            values[BATTERY] = battery
        return {metric: _bounded(device.kind, metric, value) for metric, value in values.items()}

    def _message(
        self, device: FleetDevice, t: float, values: dict[str, float], *, seq: bool = True
    ) -> Message:
        number = None
        if seq:
            number = self._seq.get(device.code, -1) + 1
            self._seq[device.code] = number
        ts = dt.datetime.fromtimestamp(t, dt.UTC)
        return Message(device.community, device.code, ts, tuple(values.items()), number)

    def _door_edges(self, device: FleetDevice, after: float, until: float) -> Iterator[tuple[float, float]]:
        """``(t, 1 or 0)`` of a door's openings and closings in ``(after, until]``."""
        for day in range(_local_day(after) - 1, _local_day(until) + 1):
            for opened, closed in door_openings(self.seed, device.code, day):
                for t, value in ((opened, 1.0), (closed, 0.0)):
                    if after < t <= until:
                        yield t, value

    def step(self, now: dt.datetime) -> Step:
        """Everything due after the previous step up to ``now``: reports, door edges, events started."""
        until = now.timestamp()
        if until <= self._until:
            return Step([], [])
        started: list[Event] = []
        pending: list[tuple[float, int, FleetDevice, dict[str, float]]] = []
        by_code = {device.code: device for device in self.fleet}
        while True:  # events and reports in the order of their times
            next_report = self._queue[0][0] if self._queue else math.inf
            if self._next_event <= until and self._next_event <= next_report:
                at = self._next_event
                self._retire(at)
                kind = self._events_rng.choice(self.event_kinds)
                event = self._begin(kind, at, None, self._events_rng)
                if event is not None:
                    started.append(event)
                self._next_event = self._draw_next_event(at)
                continue
            if next_report > until:
                break
            t, order, code = heapq.heappop(self._queue)
            self._retire(t)
            device = by_code[code]
            if order < 0:  # an event's own report
                event = self.events[-order - 1]
                if t < event.end:
                    pending.append((t, self._order[code], device, self._values(device, t, edges=True)))
                    for companion in event.companions:
                        values = self._values(companion, t, edges=True)
                        pending.append((t, self._order[companion.code], companion, values))
                    heapq.heappush(self._queue, (t + event.kind.report_every_s, order, code))
                continue
            pending.append((t, order, device, self._values(device, t, edges=False)))
            heapq.heappush(self._queue, (t + device.period_s / self.speed, order, code))
        for device in self.fleet:
            if device.kind == "door_contact":
                for t, value in self._door_edges(device, self._until, until):
                    pending.append((t, self._order[device.code], device, {"door_open": value}))
        self._until = until
        pending.sort(key=lambda item: (item[0], item[1]))
        messages = [self._message(device, t, values) for t, _order, device, values in pending]
        self._retire(until)
        return Step(messages, started)

    def _retire(self, t: float) -> None:
        for event in {id(e): e for e in self._busy.values()}.values():
            if event.end <= t:
                self._finish(event)

    def round(self, now: dt.datetime) -> list[Message]:
        """One report of every device at ``now``, with the first values of events under way (``--once``)."""
        t = now.timestamp()
        messages = [self._message(device, t, self._values(device, t, edges=True)) for device in self.fleet]
        self._until = max(self._until, t)
        return messages

    def readings_per_second(self) -> float:
        """About how many readings a second the regular reports make (events and doors aside)."""
        total = 0.0
        for device in self.fleet:
            kind = KINDS[device.kind]
            metrics = len(kind.metric_names) - len(kind.event_metrics)
            total += metrics * self.speed / device.period_s
        return total
