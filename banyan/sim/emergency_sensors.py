"""The sensors of an emergency drill: what the community's own devices report while the hazard runs.

The readings go the way a gateway's do — MQTT messages ``(topic, payload)`` stored and evaluated by the
ingest worker's :class:`~banyan.sensing.ingest.writer.BatchWriter` with the community's
:class:`~banyan.warning.pipeline.RulePipeline` (the seeded rules: water level ≥ 50 cm is an orange
``flooding`` alert, a smoke alarm a red ``fire_smoke`` one) — only without the broker. The drill's worker
round then opens the alerts' incidents (``response.services.open_incidents_for_alerts``) and dispatches
them like any other; the drill's responders work them.

* **Typhoon, flood**: every water-level sensor of the area (basements of the towers, the garages' ramps
  and sumps) reports every 5 minutes. Rain starts 20-60 minutes after the activation and lasts
  ``rain_h`` hours; the water rises at a rate of its own for each place (a sump fastest, a ramp, then a
  basement: log-normal around 0.6, 0.35 and 0.2 cm per minute), and falls at 1 cm per minute after the
  rain — at 3 cm per minute from the moment the place's flooding incident is resolved (a pump is set up).
* **Fire**: the smoke detectors of the burning building's stairwells: those of the fire's entrance
  alarm at once, their obscuration rising; the others report clear air until the smoke reaches them
  (5-15 minutes later, in one entrance out of two).
* Heat wave and epidemic: no device of the seed measures them (the outdoor thermometers have no rule),
  so nothing is simulated.

Only the readings are stored and evaluated (``BatchWriter.write``): the engine's clock-driven rules
(offline, no data) are not ticked, since the drill does not simulate the everyday reports of the other
devices, which would all look silent.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field

from banyan.places.models import Building, Region
from banyan.sensing.ingest.writer import BatchWriter
from banyan.sensing.models import Device
from banyan.sim.scenario import Message
from banyan.warning.models import Alert
from banyan.warning.pipeline import RulePipeline

INTERVAL_S = 300
RISE_CM_PER_MIN = {"sump": 0.6, "ramp": 0.35, "basement": 0.2}
RISE_SIGMA = 0.45
DRAIN_CM_PER_MIN = 1.0
PUMP_CM_PER_MIN = 3.0
FLOOD_HAZARDS = ("typhoon", "flood")


@dataclass
class _Water:
    device: Device
    level: float
    rise: float  # cm per minute while it rains
    pumped_from_s: float | None = None


@dataclass
class _Smoke:
    device: Device
    from_s: float | None  # when the smoke reaches it (None: never)


@dataclass
class Sensors:
    """The devices that react to ``hazard`` in the drill's area, and their state."""

    hazard: str
    community: Region
    rng: random.Random
    writer: BatchWriter = field(init=False)
    water: list[_Water] = field(default_factory=list)
    smoke: list[_Smoke] = field(default_factory=list)
    rain: tuple[float, float] = (0.0, 0.0)
    readings: int = 0

    def __post_init__(self) -> None:
        community = self.community
        self.writer = BatchWriter(
            community=community.code, rules_factory=lambda _code: RulePipeline(community)
        )
        # Consents are looked up at each report (simulated time), not on the wall clock: the same seed
        # gives the same JSON however fast the machine runs it.
        self.writer.consent.refresh_s = math.inf

    @property
    def active(self) -> bool:
        return bool(self.water or self.smoke)

    def arm(self, *, activated_s: float, rain_h: float, grids, buildings, fire: Building | None) -> None:
        """Choose the devices and draw their behaviour (once, at the activation)."""
        devices = Device.objects.filter(community=self.community).order_by("code")
        if self.hazard in FLOOD_HAZARDS:
            start = activated_s + self.rng.uniform(1200, 3600)
            self.rain = (start, start + rain_h * 3600)
            area = devices.filter(kind="water_level")
            if grids or buildings:
                area = area.filter(grid__in=grids) | area.filter(building__in=buildings)
            for device in area.order_by("code"):
                place = (device.metadata or {}).get("place", "basement")
                median = RISE_CM_PER_MIN.get(place, RISE_CM_PER_MIN["basement"])
                rise = self.rng.lognormvariate(math.log(median), RISE_SIGMA)
                self.water.append(_Water(device, self.rng.uniform(2, 8), rise))
        elif self.hazard == "fire" and fire is not None:
            detectors = list(devices.filter(kind="smoke", building=fire).order_by("code"))
            entrances = sorted({(d.metadata or {}).get("entrance", 1) for d in detectors})
            origin = self.rng.choice(entrances) if entrances else 1
            for device in detectors:
                entrance = (device.metadata or {}).get("entrance", 1)
                if entrance == origin:
                    reach: float | None = activated_s - self.rng.uniform(60, 180)
                elif self.rng.random() < 0.5:
                    reach = activated_s + self.rng.uniform(300, 900)
                else:
                    reach = None
                self.smoke.append(_Smoke(device, reach))

    def pumped(self, incident_place: tuple[int | None, int | None], at_s: float) -> None:
        """A flooding incident at (building, facility) was resolved: its sensors' water is pumped out."""
        building, facility = incident_place
        for water in self.water:
            device = water.device
            if (building and device.building_id == building) or (facility and device.facility_id == facility):
                if water.pumped_from_s is None:
                    water.pumped_from_s = at_s

    def report(self, now_s: float, when: dt.datetime) -> int:
        """Every device's report at ``now_s`` (one MQTT message each), stored and evaluated; returns the
        alerts written."""
        messages = []
        for water in self.water:
            water.level = self._water_level(water, now_s)
            messages.append(self._message(water.device, when, (("water_level_cm", round(water.level, 1)),)))
        for smoke in self.smoke:
            reached = smoke.from_s is not None and smoke.from_s <= now_s
            obscuration = min(30.0, 2.0 + (now_s - smoke.from_s) / 60) if reached and smoke.from_s else 0.1
            alarm = 1.0 if reached else 0.0
            values = (("smoke_obscuration", round(obscuration, 1)), ("smoke_alarm", alarm))
            messages.append(self._message(smoke.device, when, values))
        if not messages:
            return 0
        self.readings += sum(1 for _ in messages)
        self.writer.consent.refresh(force=True)
        return self.writer.write([(m.topic, m.payload()) for m in messages]).alerts

    def _water_level(self, water: _Water, now_s: float) -> float:
        step_min = INTERVAL_S / 60
        start, end = self.rain
        if water.pumped_from_s is not None and water.pumped_from_s <= now_s:
            return max(2.0, water.level - PUMP_CM_PER_MIN * step_min)
        if start <= now_s < end:
            return water.level + water.rise * step_min * self.rng.uniform(0.7, 1.3)
        if now_s >= end:
            return max(2.0, water.level - DRAIN_CM_PER_MIN * step_min)
        return water.level

    def _message(self, device: Device, when: dt.datetime, values) -> Message:
        return Message(self.community.code, device.code, when, tuple(values))

    def alerts(self):
        """The alerts the drill's sensors raised."""
        devices = [w.device.pk for w in self.water] + [s.device.pk for s in self.smoke]
        return Alert.objects.filter(device__in=devices)
