"""Rule kinds as data: one frozen dataclass per kind, built from a plain dict by :func:`parse_rule`.

Nothing here imports Django; the ``warning`` app stores rules as JSON and builds them with
:func:`parse_rule`, which is also what validates a rule when it is saved through the API.
"""

from __future__ import annotations

import enum
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar


class Grade(enum.IntEnum):
    """China's four warning colours, ordered: blue (IV) < yellow (III) < orange (II) < red (I)."""

    BLUE = 1
    YELLOW = 2
    ORANGE = 3
    RED = 4

    @property
    def code(self) -> str:
        """``"blue"`` … ``"red"``: the spelling used in rule dicts, the API and checkpoints."""
        return self.name.lower()

    @property
    def level(self) -> int:
        """The level number of the Emergency Response Law: red is level 1, blue level 4."""
        return 5 - self.value

    @classmethod
    def parse(cls, text: str) -> Grade:
        return GRADES[text]


GRADES: dict[str, Grade] = {grade.code: grade for grade in Grade}

_CAP_SEVERITY = {Grade.BLUE: "Minor", Grade.YELLOW: "Moderate", Grade.ORANGE: "Severe", Grade.RED: "Extreme"}


def cap_severity(grade: Grade) -> str:
    """The CAP 1.2 ``severity`` of a grade: blue Minor, yellow Moderate, orange Severe, red Extreme."""
    return _CAP_SEVERITY[grade]


class RuleError(ValueError):
    """A rule dict that cannot be used: ``field`` names the offending key (dotted for nested ones),
    ``message`` says what would be accepted."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True, slots=True)
class Condition:
    """``value <op> threshold`` on one metric, e.g. ``smoke >= 1``."""

    metric: str
    op: str
    value: float

    def test(self, value: float) -> bool:
        return OPERATORS[self.op](value, self.value)


# --- rule kinds ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """Fields every kind shares.

    The selector is an AND of the non-empty sets: a reading is for the rule when its device code is in
    ``device_codes`` (if given), its device kind in ``device_kinds`` (if given) and its place in
    ``places`` (if given). A rule with no selector at all applies to every device reporting its metrics.

    ``community`` (a community code), when given, is part of every selector: the rule applies only to
    readings of that community's devices, so one engine can serve several communities without a
    community's per-kind or per-metric rules firing on its neighbours' devices.
    """

    kind: ClassVar[str]
    #: whether a subject of this rule is a place (composite, crowd density) rather than a device
    per_place: ClassVar[bool] = False

    id: str
    name: str
    grade: Grade
    auto_clear: bool = True
    device_codes: frozenset[str] = frozenset()
    device_kinds: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()
    community: str = ""

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics whose readings this rule evaluates; empty means every metric (``offline``)."""
        raise NotImplementedError

    def selects(self, device: str, kind: str, place: str, community: str = "") -> bool:
        return (
            (not self.community or community == self.community)
            and (not self.device_codes or device in self.device_codes)
            and (not self.device_kinds or kind in self.device_kinds)
            and (not self.places or place in self.places)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ThresholdRule(Rule):
    """Raise when ``value >= raise_at`` and clear when ``value < clear_at`` (direction ``above``), or
    raise when ``value <= raise_at`` and clear when ``value > clear_at`` (``below``). The band between
    ``clear_at`` and ``raise_at`` keeps the current state (hysteresis)."""

    kind: ClassVar[str] = "threshold"
    metric: str
    raise_at: float
    clear_at: float
    below: bool = False

    @property
    def metrics(self) -> tuple[str, ...]:
        return (self.metric,)


@dataclass(frozen=True, slots=True, kw_only=True)
class SustainedRule(Rule):
    """Raise when ``condition`` has held for ``duration_s`` seconds; clear when a reading breaks it."""

    kind: ClassVar[str] = "sustained"
    condition: Condition
    duration_s: float

    @property
    def metrics(self) -> tuple[str, ...]:
        return (self.condition.metric,)


@dataclass(frozen=True, slots=True, kw_only=True)
class RateOfChangeRule(Rule):
    """Raise when the change per minute over the last ``window_s`` seconds reaches ``limit``."""

    kind: ClassVar[str] = "rate_of_change"
    metric: str
    limit: float
    window_s: float
    direction: str = "rising"  # rising | falling | either

    @property
    def metrics(self) -> tuple[str, ...]:
        return (self.metric,)


@dataclass(frozen=True, slots=True, kw_only=True)
class NoDataRule(Rule):
    """Raise when ``measure`` of ``metric`` over the last ``window_s`` seconds is below ``below``.

    ``count`` counts readings (meeting ``condition`` if given): "door not opened in 24 h";
    ``sum`` adds their values: "less than 0.01 m³ used in 12 h" from per-interval consumption;
    ``delta`` is the rise of a cumulative counter since the window opened.
    """

    kind: ClassVar[str] = "no_data"
    metric: str
    window_s: float
    measure: str = "count"  # count | sum | delta
    below: float = 1.0
    condition: Condition | None = None

    @property
    def metrics(self) -> tuple[str, ...]:
        return (self.metric,)


@dataclass(frozen=True, slots=True, kw_only=True)
class OfflineRule(Rule):
    """Raise when a device sends nothing at all for ``missed`` × ``interval_s`` seconds."""

    kind: ClassVar[str] = "offline"
    interval_s: float
    missed: int = 3

    @property
    def metrics(self) -> tuple[str, ...]:
        return ()

    @property
    def silence_s(self) -> float:
        return self.interval_s * self.missed


@dataclass(frozen=True, slots=True, kw_only=True)
class CountWindowRule(Rule):
    """Raise when ``count`` readings of ``metric`` (meeting ``condition`` if given) fall within
    ``window_s`` seconds, per device or (``per_place``) per place."""

    kind: ClassVar[str] = "count_window"
    metric: str
    count: int
    window_s: float
    condition: Condition | None = None
    by_place: bool = False

    @property
    def metrics(self) -> tuple[str, ...]:
        return (self.metric,)


@dataclass(frozen=True, slots=True, kw_only=True)
class CompositeRule(Rule):
    """Raise when all (or any) ``conditions`` hold in the same place within ``within_s`` seconds."""

    kind: ClassVar[str] = "composite"
    per_place: ClassVar[bool] = True
    conditions: tuple[Condition, ...]
    require_all: bool = True
    within_s: float = 300.0

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(condition.metric for condition in self.conditions))


DEFAULT_DENSITY_LEVELS: tuple[tuple[Grade, float], ...] = (
    (Grade.YELLOW, 2.0),
    (Grade.ORANGE, 4.0),
    (Grade.RED, 5.0),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class CrowdDensityRule(Rule):
    """Grade a zone by persons per m²: the sum of the latest count of each device in the zone over the
    zone's area. One open alert per zone moves up and down the ``levels``; a grade is left only when the
    density falls ``hysteresis`` persons/m² below its level."""

    kind: ClassVar[str] = "crowd_density"
    per_place: ClassVar[bool] = True
    metric: str = "person_count"
    areas_m2: tuple[tuple[str, float], ...]
    levels: tuple[tuple[Grade, float], ...] = DEFAULT_DENSITY_LEVELS
    hysteresis: float = 0.25
    _area: Mapping[str, float] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_area", dict(self.areas_m2))

    @property
    def metrics(self) -> tuple[str, ...]:
        return (self.metric,)

    def area_of(self, place: str) -> float | None:
        return self._area.get(place)

    def selects(self, device: str, kind: str, place: str, community: str = "") -> bool:
        return place in self._area and Rule.selects(self, device, kind, place, community)


RULE_KINDS: dict[str, type[Rule]] = {
    cls.kind: cls
    for cls in (
        ThresholdRule,
        SustainedRule,
        RateOfChangeRule,
        NoDataRule,
        OfflineRule,
        CountWindowRule,
        CompositeRule,
        CrowdDensityRule,
    )
}


# --- parsing ------------------------------------------------------------------------------------------

_COMMON = ("id", "name", "kind", "grade", "auto_clear", "device_codes", "device_kinds", "places", "community")
_FIELDS: dict[str, tuple[str, ...]] = {
    "threshold": ("metric", "raise_at", "direction", "clear_below", "clear_above"),
    "sustained": ("metric", "op", "value", "duration_s"),
    "rate_of_change": ("metric", "limit", "window_s", "direction"),
    "no_data": ("metric", "window_s", "measure", "below", "op", "value"),
    "offline": ("interval_s", "missed"),
    "count_window": ("metric", "count", "window_s", "op", "value", "per"),
    "composite": ("mode", "conditions", "within_s"),
    "crowd_density": ("metric", "areas_m2", "levels", "hysteresis"),
}


def _choices(values: Any) -> str:
    return ", ".join(repr(value) for value in values)


class _Reader:
    """Typed, validating access to one rule dict; every failure names the field."""

    def __init__(self, data: Mapping[str, Any], prefix: str = "") -> None:
        self.data = data
        self.prefix = prefix

    def name(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def text(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if value is None:
            raise RuleError(self.name(key), "is required: a non-empty string")
        if isinstance(value, int) and not isinstance(value, bool) and key == "id":
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise RuleError(self.name(key), "must be a non-empty string")
        return value.strip()

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.data.get(key, default)
        if value not in choices:
            raise RuleError(self.name(key), f"must be one of {_choices(choices)}")
        return value

    def number(
        self,
        key: str,
        default: float | None = None,
        *,
        positive: bool = False,
        minimum: float | None = None,
    ) -> float:
        value = self.data.get(key, default)
        if value is None:
            raise RuleError(self.name(key), "is required: a number")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise RuleError(self.name(key), "must be a finite number")
        if positive and value <= 0:
            raise RuleError(self.name(key), "must be greater than 0")
        if minimum is not None and value < minimum:
            raise RuleError(self.name(key), f"must be at least {minimum:g}")
        return float(value)

    def integer(self, key: str, default: int, *, minimum: int) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise RuleError(self.name(key), f"must be a whole number, at least {minimum}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise RuleError(self.name(key), "must be true or false")
        return value

    def names(self, key: str) -> frozenset[str]:
        value = self.data.get(key) or []
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v.strip() for v in value):
            raise RuleError(self.name(key), "must be a list of non-empty strings")
        return frozenset(v.strip() for v in value)

    def grade(self, key: str = "grade") -> Grade:
        value = self.data.get(key)
        if value not in GRADES:
            raise RuleError(self.name(key), f"must be one of {_choices(GRADES)}")
        return GRADES[value]

    def condition(self, *, optional: bool, metric: str | None = None) -> Condition | None:
        if optional and not self.has("op") and not self.has("value"):
            return None
        return Condition(
            metric=metric if metric is not None else self.text("metric"),
            op=self.choice("op", tuple(OPERATORS)),
            value=self.number("value"),
        )


def parse_rule(data: Mapping[str, Any]) -> Rule:
    """Validate a rule dict and build its frozen rule; raise :class:`RuleError` naming the field.

    Unknown keys are refused (a misspelt ``clear_bellow`` would otherwise silently mean "no band").
    """
    if not isinstance(data, Mapping):
        raise RuleError("rule", "must be an object")
    read = _Reader(data)
    kind = read.choice("kind", tuple(RULE_KINDS))
    allowed = _COMMON + _FIELDS[kind]
    for key in data:
        if key not in allowed:
            raise RuleError(str(key), f"is not a field of a {kind} rule; accepted: {', '.join(allowed)}")
    common: dict[str, Any] = {
        "id": read.text("id"),
        "auto_clear": read.boolean("auto_clear", True),
        "device_codes": read.names("device_codes"),
        "device_kinds": read.names("device_kinds"),
        "places": read.names("places"),
        "community": read.text("community") if "community" in data else "",
    }
    common["name"] = read.text("name", common["id"])
    if kind == "crowd_density":
        if "grade" in data:
            raise RuleError("grade", "a crowd_density rule takes its grades from levels")
    else:
        common["grade"] = read.grade()
    return _PARSERS[kind](read, common)


def _threshold(read: _Reader, common: dict[str, Any]) -> Rule:
    direction = read.choice("direction", ("above", "below"), "above")
    raise_at = read.number("raise_at")
    if direction == "above":
        if read.has("clear_above"):
            raise RuleError("clear_above", "is for direction 'below'; with 'above' use clear_below")
        clear_at = read.number("clear_below", raise_at)
        if clear_at > raise_at:
            raise RuleError("clear_below", f"must be at most raise_at ({raise_at:g}) for hysteresis")
    else:
        if read.has("clear_below"):
            raise RuleError("clear_below", "is for direction 'above'; with 'below' use clear_above")
        clear_at = read.number("clear_above", raise_at)
        if clear_at < raise_at:
            raise RuleError("clear_above", f"must be at least raise_at ({raise_at:g}) for hysteresis")
    return ThresholdRule(
        **common, metric=read.text("metric"), raise_at=raise_at, clear_at=clear_at, below=direction == "below"
    )


def _sustained(read: _Reader, common: dict[str, Any]) -> Rule:
    condition = read.condition(optional=False)
    assert condition is not None
    return SustainedRule(**common, condition=condition, duration_s=read.number("duration_s", positive=True))


def _rate_of_change(read: _Reader, common: dict[str, Any]) -> Rule:
    return RateOfChangeRule(
        **common,
        metric=read.text("metric"),
        limit=read.number("limit", positive=True),
        window_s=read.number("window_s", positive=True),
        direction=read.choice("direction", ("rising", "falling", "either"), "rising"),
    )


def _no_data(read: _Reader, common: dict[str, Any]) -> Rule:
    metric = read.text("metric")
    measure = read.choice("measure", ("count", "sum", "delta"), "count")
    if measure == "count":
        below = read.number("below", 1.0, positive=True)
    else:
        below = read.number("below")
    if measure == "delta" and (read.has("op") or read.has("value")):
        raise RuleError("op", "a delta of a cumulative counter takes no condition; use 'count' or 'sum'")
    return NoDataRule(
        **common,
        metric=metric,
        window_s=read.number("window_s", positive=True),
        measure=measure,
        below=below,
        condition=read.condition(optional=True, metric=metric),
    )


def _offline(read: _Reader, common: dict[str, Any]) -> Rule:
    return OfflineRule(
        **common,
        interval_s=read.number("interval_s", positive=True),
        missed=read.integer("missed", 3, minimum=1),
    )


def _count_window(read: _Reader, common: dict[str, Any]) -> Rule:
    metric = read.text("metric")
    return CountWindowRule(
        **common,
        metric=metric,
        count=read.integer("count", 0, minimum=1),
        window_s=read.number("window_s", positive=True),
        condition=read.condition(optional=True, metric=metric),
        by_place=read.choice("per", ("device", "place"), "device") == "place",
    )


def _composite(read: _Reader, common: dict[str, Any]) -> Rule:
    raw = read.data.get("conditions")
    if not isinstance(raw, list | tuple) or len(raw) < 2:
        raise RuleError("conditions", "must be a list of at least two {metric, op, value} objects")
    conditions = []
    for index, item in enumerate(raw):
        prefix = f"conditions[{index}]."
        if not isinstance(item, Mapping):
            raise RuleError(f"conditions[{index}]", "must be an object with metric, op and value")
        for key in item:
            if key not in ("metric", "op", "value"):
                raise RuleError(f"{prefix}{key}", "is not a condition field; accepted: metric, op, value")
        condition = _Reader(item, prefix).condition(optional=False)
        assert condition is not None
        conditions.append(condition)
    return CompositeRule(
        **common,
        conditions=tuple(conditions),
        require_all=read.choice("mode", ("all", "any"), "all") == "all",
        within_s=read.number("within_s", 300.0, positive=True),
    )


def _crowd_density(read: _Reader, common: dict[str, Any]) -> Rule:
    raw_areas = read.data.get("areas_m2")
    if not isinstance(raw_areas, Mapping) or not raw_areas:
        raise RuleError("areas_m2", "must map at least one place key to its area in m²")
    areas = _Reader(raw_areas, "areas_m2.")
    area_items = tuple(sorted((str(place), areas.number(place, positive=True)) for place in raw_areas))
    raw_levels = read.data.get("levels")
    if raw_levels is None:
        levels = DEFAULT_DENSITY_LEVELS
    else:
        if not isinstance(raw_levels, Mapping) or not raw_levels:
            raise RuleError("levels", f"must map grades ({_choices(GRADES)}) to persons per m²")
        for key in raw_levels:
            if key not in GRADES:
                raise RuleError(f"levels.{key}", f"is not a grade; accepted: {_choices(GRADES)}")
        level_reader = _Reader(raw_levels, "levels.")
        levels = tuple(sorted((GRADES[key], level_reader.number(key, positive=True)) for key in raw_levels))
        for (grade, level), (_, lower) in zip(levels[1:], levels, strict=False):
            if level <= lower:
                raise RuleError(f"levels.{grade.code}", "must be greater than the level of every lower grade")
    hysteresis = read.number("hysteresis", 0.25, minimum=0.0)
    if hysteresis >= levels[0][1]:
        raise RuleError("hysteresis", f"must be below the lowest level ({levels[0][1]:g} persons/m²)")
    return CrowdDensityRule(
        **common,
        grade=levels[-1][0],
        metric=read.text("metric", "person_count"),
        areas_m2=area_items,
        levels=levels,
        hysteresis=hysteresis,
    )


_PARSERS: dict[str, Callable[[_Reader, dict[str, Any]], Rule]] = {
    "threshold": _threshold,
    "sustained": _sustained,
    "rate_of_change": _rate_of_change,
    "no_data": _no_data,
    "offline": _offline,
    "count_window": _count_window,
    "composite": _composite,
    "crowd_density": _crowd_density,
}


def _plain(value: Any) -> Any:
    if isinstance(value, Grade):
        return value.code
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, Condition):
        return {"metric": value.metric, "op": value.op, "value": value.value}
    return value


def rule_fingerprint(rule: Rule) -> dict[str, Any]:
    """Every setting of ``rule`` as plain JSON, in a stable order: a checkpoint keeps the state of a rule
    only for the very same settings."""
    plain: dict[str, Any] = {"kind": rule.kind}
    for item in fields(rule):
        if not item.name.startswith("_") and not (item.name == "community" and not rule.community):
            plain[item.name] = _plain(getattr(rule, item.name))
    return plain
