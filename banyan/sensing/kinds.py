"""Device kinds and their metrics, as data (STYLE 11).

One :class:`DeviceKind` per family of device; each names the metrics it reports with their
unit and physical range. The range is what a working sensor can report at all, not a warning
threshold: a reading outside it is a fault or a forgery and goes to the dead-letter table.
Adding a kind is adding a row here; no code branches on kind codes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class MetricSpec:
    name: str
    unit: str
    minimum: float
    maximum: float
    label: str
    # Health data (heart rate, SpO2, falls): never copied into dead letters or error texts.
    health: bool = False


@dataclass(frozen=True)
class DeviceKind:
    code: str
    label: str
    metrics: tuple[MetricSpec, ...]
    expected_interval_s: int
    battery_powered: bool
    # Metrics that report events (0/1 edges) rather than levels: a fall, a door opening.
    event_metrics: tuple[str, ...] = ()
    # Monitoring the resident it serves: its readings need their consent (banyan.sensing.consent).
    # Not so a button the resident presses to call for help.
    monitoring: bool = True

    def metric(self, name: str) -> MetricSpec | None:
        return next((m for m in self.metrics if m.name == name), None)

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics)

    @property
    def health_data(self) -> bool:
        return any(m.health for m in self.metrics)


BATTERY = MetricSpec("battery_pct", "%", 0, 100, _("battery"))
SWITCH = (0, 1)  # 0/1 metrics


def _switch(name: str, label, *, health: bool = False) -> MetricSpec:
    return MetricSpec(name, "", *SWITCH, label, health=health)


KINDS: dict[str, DeviceKind] = {
    kind.code: kind
    for kind in (
        DeviceKind(
            "smoke",
            _("Smoke detector"),
            (
                MetricSpec("smoke_obscuration", "%/m", 0, 100, _("smoke obscuration")),
                _switch("smoke_alarm", _("smoke alarm")),
                BATTERY,
            ),
            expected_interval_s=3600,
            battery_powered=True,
            event_metrics=("smoke_alarm",),
        ),
        DeviceKind(
            "combustible_gas",
            _("Combustible gas detector"),
            (MetricSpec("gas_lel", "%LEL", 0, 100, _("combustible gas")),),
            expected_interval_s=3600,
            battery_powered=False,
        ),
        DeviceKind(
            "water_level",
            _("Water level sensor"),
            (MetricSpec("water_level_cm", "cm", -100, 2000, _("water level")), BATTERY),
            expected_interval_s=300,
            battery_powered=True,
        ),
        DeviceKind(
            "water_meter",
            _("Water meter"),
            (
                MetricSpec("water_m3", "m³", 0, 10_000_000, _("water used (meter reading)")),
                MetricSpec("flow_m3h", "m³/h", 0, 100, _("water flow")),
                BATTERY,
            ),
            expected_interval_s=3600,
            battery_powered=True,
        ),
        DeviceKind(
            "door_contact",
            _("Door contact"),
            (_switch("door_open", _("door open")), BATTERY),
            expected_interval_s=3600,
            battery_powered=True,
            event_metrics=("door_open",),
        ),
        DeviceKind(
            "pir_motion",
            _("Motion sensor"),
            (_switch("motion", _("motion")), BATTERY),
            expected_interval_s=3600,
            battery_powered=True,
            event_metrics=("motion",),
        ),
        DeviceKind(
            "wearable_band",
            _("Wearable band"),
            (
                MetricSpec("heart_rate", "bpm", 20, 250, _("heart rate"), health=True),
                MetricSpec("spo2", "%", 50, 100, _("blood oxygen"), health=True),
                _switch("fall", _("fall"), health=True),
                BATTERY,
            ),
            expected_interval_s=60,
            battery_powered=True,
            event_metrics=("fall",),
        ),
        DeviceKind(
            "sos_button",
            _("SOS button"),
            (_switch("sos", _("SOS pressed")), BATTERY),
            expected_interval_s=3600,
            battery_powered=True,
            event_metrics=("sos",),
            monitoring=False,
        ),
        DeviceKind(
            "camera",
            _("Camera (AI)"),
            (
                MetricSpec("person_count", "persons", 0, 10_000, _("people in view")),
                _switch("fall", _("fall seen")),
            ),
            expected_interval_s=60,
            battery_powered=False,
            event_metrics=("fall",),
        ),
        DeviceKind(
            "crowd_counter",
            _("Crowd counter"),
            (MetricSpec("person_count", "persons", 0, 100_000, _("people in the zone")),),
            expected_interval_s=60,
            battery_powered=False,
        ),
        DeviceKind(
            "air_quality",
            _("Air quality sensor"),
            (
                MetricSpec("pm25", "µg/m³", 0, 2000, _("PM2.5")),
                MetricSpec("co2", "ppm", 0, 40_000, _("CO₂")),
            ),
            expected_interval_s=300,
            battery_powered=False,
        ),
        DeviceKind(
            "temperature",
            _("Temperature and humidity sensor"),
            (
                MetricSpec("temperature_c", "°C", -50, 150, _("temperature")),
                MetricSpec("humidity", "%", 0, 100, _("humidity")),
                BATTERY,
            ),
            expected_interval_s=300,
            battery_powered=True,
        ),
    )
}

# Every metric name that carries health data, whatever the device (for redacting dead letters).
HEALTH_METRICS = frozenset(m.name for k in KINDS.values() for m in k.metrics if m.health)


def get_kind(code: str) -> DeviceKind | None:
    return KINDS.get(code)
