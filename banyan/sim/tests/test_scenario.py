"""The scenario simulator on simulated time: determinism, quiet normal readings, and every event
turned into the alert it promises by the seeded default rules, through ingest and the rule pipeline."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.core import clock
from banyan.processes.wiring import rule_pipeline
from banyan.sensing.ingest.writer import BatchWriter
from banyan.sensing.kinds import KINDS
from banyan.sensing.models import DeadLetter, Reading
from banyan.sensing.parsing import check_against_kind, parse_payload
from banyan.sim.scenario import EVENT_KINDS, WATER_BY_HOUR, Message, Scenario, door_openings
from banyan.sim.services import load_fleet
from banyan.warning.engine import Engine
from banyan.warning.engine import Reading as EngineReading
from banyan.warning.models import Alert
from banyan.warning.services import engine_rules

START = dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.UTC)  # 08:00 in Hangzhou


@pytest.fixture
def fleet(db):
    return load_fleet()


def flatten(messages: list[Message]) -> list[tuple[str, str, float, str, int | None]]:
    return [
        (m.device, metric, value, m.ts.isoformat(), m.seq) for m in messages for metric, value in m.values
    ]


def run(scenario: Scenario, start: dt.datetime, hours: float, step_s: float) -> tuple[list[Message], list]:
    messages, events = [], []
    t, end = start, start + dt.timedelta(hours=hours)
    while t < end:
        t = min(end, t + dt.timedelta(seconds=step_s))
        step = scenario.step(t)
        messages += step.messages
        events += [(e.kind.code, e.device.code, e.start) for e in step.started]
    return messages, events


# --- pure ---------------------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_readings_however_often_it_is_stepped(fleet):
    def scenario(seed):
        return Scenario(fleet, seed=seed, start=START, speed=5, events_per_hour=12)

    fine = run(scenario(4), START, 2, 7)
    coarse = run(scenario(4), START, 2, 600)
    assert fine[1] and len(fine[0]) > 1000
    assert flatten(fine[0]) == flatten(coarse[0])
    assert fine[1] == coarse[1]
    other = run(scenario(5), START, 2, 600)
    assert flatten(other[0]) != flatten(fine[0])
    assert other[1] != fine[1]


def test_speed_only_makes_devices_report_more_often_at_real_times(fleet):
    slow = run(Scenario(fleet, seed=1, start=START), START, 1, 60)[0]
    fast = run(Scenario(fleet, seed=1, start=START, speed=10), START, 1, 60)[0]
    assert 9 * len(slow) < len(fast) < 11 * len(slow)
    assert all(START < m.ts <= START + dt.timedelta(hours=1) for m in fast)
    # every device's sequence runs 0, 1, 2 … in the order of its readings' times
    for code in {m.device for m in fast}:
        mine = [m for m in fast if m.device == code]
        assert [m.seq for m in mine] == list(range(len(mine)))
        assert [m.ts for m in mine] == sorted(m.ts for m in mine)


def test_water_use_in_any_twelve_hours_is_a_fifth_of_the_day_or_more():
    day = WATER_BY_HOUR * 2
    assert min(sum(day[h : h + 12]) for h in range(24)) >= 0.2 * sum(WATER_BY_HOUR)


def test_a_door_opens_every_morning_and_every_evening():
    for day in range(20_000, 20_060):
        openings = door_openings(1, "DC-000001", day)
        gaps = [b[0] - a[0] for a, b in zip(openings, openings[1:], strict=False)]
        assert 2 <= len(openings) <= 4 and all(closed > opened for opened, closed in openings)
        assert max(gaps) < 13 * 3600
    # from the last opening of one day to the first of the next: under a day
    assert door_openings(1, "DC-000001", 20_001)[0][0] - door_openings(1, "DC-000001", 20_000)[-1][0] < 86_400


def test_a_day_and_a_half_of_normal_readings_fits_the_kinds_and_raises_no_rule(fleet):
    """30 simulated hours of the whole fleet through the seeded rules (engine only, no storage):
    values inside each metric's range, and not one alert, also from the day-long no-data rules."""
    engine = Engine(engine_rules())
    kinds = {d.code: d for d in fleet}
    scenario = Scenario(fleet, seed=3, start=START)
    events = []
    seen = set()
    t = START
    count = 0
    while t < START + dt.timedelta(hours=30):
        t += dt.timedelta(minutes=5)
        for message in scenario.step(t).messages:
            device = kinds[message.device]
            items, problems = parse_payload(message.payload(), now=t)
            assert not problems
            for index, item in enumerate(items):
                assert check_against_kind(item, KINDS[device.kind], index=index) is None, (device, item)
                reading = EngineReading(
                    device.code, device.kind, device.place, item.metric, item.value, item.ts
                )
                events += engine.evaluate(reading)
                seen.add((device.kind, item.metric))
                count += 1
        events += engine.tick(t)
    assert count > 20_000
    assert events == []
    quiet = {("wearable_band", "fall"), ("camera", "fall"), ("sos_button", "sos"), ("smoke", "smoke_alarm")}
    every = {(d.kind, metric) for d in fleet for metric in KINDS[d.kind].metric_names}
    assert seen == every - quiet


# --- through ingest and the rule pipeline ----------------------------------------------------------------


class Feed:
    """Scenario messages → the ingest worker's writer (``ingest_messages``, then the rule pipeline
    built by the ``ingest`` command's factory) on a simulated clock; ticks the rules after every step."""

    def __init__(self, scenario: Scenario, simulated: clock.SimulatedClock, only: set[str] | None = None):
        self.scenario = scenario
        self.simulated = simulated
        self.only = only
        self.writer = BatchWriter(rules_factory=rule_pipeline)
        self.readings = 0

    def until(self, end: dt.datetime, step_s: float, watch: set[str] = frozenset()) -> list[str]:
        """Run to ``end``; return the grades the alerts on ``watch`` subjects went through, in order."""
        grades: list[str] = []
        while self.simulated.now() < end:
            now = self.simulated.advance(step_s)
            messages = [
                m for m in self.scenario.step(now).messages if self.only is None or m.device in self.only
            ]
            if messages:
                result = self.writer.write([(m.topic, m.payload()) for m in messages])
                assert (result.dead_letters, result.duplicates) == (0, 0)
                self.readings += result.accepted
            self.writer.tick()
            for grade in (
                Alert.objects.filter(subject__in=watch).order_by("id").values_list("grade", flat=True)
            ):
                if not grades or grades[-1] != grade:
                    grades.append(grade)
        return grades


def test_an_hour_of_normal_readings_is_stored_whole_and_raises_no_alert(fleet):
    with clock.use(clock.SimulatedClock(START)) as simulated:
        scenario = Scenario(fleet, seed=2, start=START, speed=2)
        feed = Feed(scenario, simulated)
        feed.until(START + dt.timedelta(hours=1), 60)
    assert feed.readings > 1000
    assert Reading.objects.filter(ts__gt=START).count() == feed.readings
    assert not DeadLetter.objects.exists()
    assert not Alert.objects.filter(raised_at__gte=START).exists()


@pytest.mark.parametrize("code", sorted(EVENT_KINDS))
def test_every_event_raises_the_grade_it_promises_under_the_default_rules(fleet, code):
    kind = EVENT_KINDS[code]
    with clock.use(clock.SimulatedClock(START)) as simulated:
        scenario = Scenario(fleet, seed=5, start=START)
        event = scenario.force(code, at=START + dt.timedelta(seconds=1))
        members = {event.device.code, *(c.code for c in event.companions)}
        feed = Feed(scenario, simulated, only=members)
        step_s = 30 if kind.duration_s <= 3600 else 600
        end = START + dt.timedelta(seconds=kind.duration_s + 300)
        grades = feed.until(end, step_s, watch={event.device.code, event.device.place})
    if code == "crowd":  # up through the grades, and down again as it disperses
        assert grades == ["yellow", "orange", "red", "orange", "yellow"]
    else:
        assert grades == [kind.grade]
    statuses = set(
        Alert.objects.filter(subject__in=members | {event.device.place}).values_list("status", flat=True)
    )
    if code in ("flooding", "crowd", "heart_rate"):  # the rules clear these once the values fall back
        assert statuses == {"cleared"}
    else:
        assert statuses == {"open"}
    assert feed.readings >= 2
    assert not DeadLetter.objects.exists()


def test_the_opening_scene_raises_a_red_alert_within_a_minute_and_more_within_ten(fleet):
    """`banyan demo` starts the simulator with its opening scene: whoever opens the cockpit sees a red
    alert within a minute of the start, then the other events of the scene, in this order."""
    with clock.use(clock.SimulatedClock(START)) as simulated:
        scenario = Scenario(fleet, seed=1, start=START, speed=1)
        events = scenario.opening_scene(at=START)
        assert [event.kind.code for event in events] == ["sos", "gas_leak", "falls", "flooding"]
        members = {e.device.code for e in events}
        feed = Feed(scenario, simulated, only=members)
        feed.until(START + dt.timedelta(seconds=60), 5)
        first = list(Alert.objects.filter(raised_at__gte=START).values_list("grade", "raised_at"))
        assert [grade for grade, _at in first] == ["red"]
        assert first[0][1] <= START + dt.timedelta(seconds=60)
        feed.until(START + dt.timedelta(minutes=10), 15)
    grades = list(
        Alert.objects.filter(raised_at__gte=START).order_by("raised_at").values_list("grade", flat=True)
    )
    assert grades == ["red", "red", "orange", "orange"]
