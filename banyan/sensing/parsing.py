"""Parsing and checking device readings: pure functions, no Django import.

A payload is one reading ``{"metric": "...", "value": 1.0, "ts": "ISO 8601 or epoch", "seq": 123}``
or an array of them. Every bad item yields a :class:`Problem` naming its index, the field and a
code; good items of the same payload still pass. Nothing here raises on bad input.

Choices made here:
- ``ts`` is ISO 8601 with a UTC offset (a bare local time is ambiguous, so refused) or epoch
  seconds as a number or digit string; numbers above 10¹¹ are taken as epoch *milliseconds*
  (10¹¹ seconds is the year 5138). Times before 2000 are refused: that is a device whose clock
  was never set. All times come out in UTC.
- ``value`` must be a finite JSON number; ``true``/``false`` and numeric strings are refused.
- ``seq`` is optional, a non-negative integer.
- An optional ``unit`` is compared with the metric's unit (after folding ``m3``/``m³``,
  ``ug``/``µg`` and case).
- Problem messages about health metrics never repeat the value.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from banyan.sensing.kinds import DeviceKind

MAX_ITEMS = 10_000
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
MILLISECONDS_ABOVE = 1e11
METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_SEQ = 2**63 - 1


class ProblemCode(StrEnum):
    BAD_JSON = "bad_json"
    EMPTY = "empty"
    TOO_MANY = "too_many"
    NOT_A_READING = "not_a_reading"
    MISSING_FIELD = "missing_field"
    BAD_METRIC = "bad_metric"
    BAD_VALUE = "bad_value"
    BAD_TIMESTAMP = "bad_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    BAD_SEQ = "bad_seq"
    BAD_UNIT = "bad_unit"
    UNKNOWN_DEVICE = "unknown_device"
    UNKNOWN_METRIC = "unknown_metric"
    OUT_OF_RANGE = "out_of_range"
    WRONG_UNIT = "wrong_unit"
    BAD_TOPIC = "bad_topic"


@dataclass(frozen=True, slots=True)
class ReadingIn:
    metric: str
    value: float
    ts: dt.datetime
    seq: int | None = None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    index: int | None  # the item in an array (0 for a single reading); None for the whole payload
    field: str | None
    code: str
    message: str


def parse_payload(
    raw: bytes | str, *, now: dt.datetime, max_future_s: float = 300, max_items: int = MAX_ITEMS
) -> tuple[list[ReadingIn], list[Problem]]:
    """Readings and problems of one message body."""
    try:
        data = orjson.loads(raw)
    except (orjson.JSONDecodeError, TypeError):
        # orjson is strict (no NaN, integers within 64 bits): the standard parser either reads the
        # payload, so that the problem is named per field, or says what is wrong with it.
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError, TypeError) as exc:
            return [], [Problem(None, None, ProblemCode.BAD_JSON, f"The payload is not valid JSON: {exc}")]
    items = data if isinstance(data, list) else [data]
    if not items:
        return [], [Problem(None, None, ProblemCode.EMPTY, "The payload holds no readings.")]
    if len(items) > max_items:
        return [], [
            Problem(
                None,
                None,
                ProblemCode.TOO_MANY,
                f"The payload holds {len(items)} readings; at most {max_items} are accepted at once.",
            )
        ]
    return parse_items(items, now=now, max_future_s=max_future_s)


def parse_items(
    items: list[Any], *, now: dt.datetime, max_future_s: float = 300
) -> tuple[list[ReadingIn], list[Problem]]:
    readings: list[ReadingIn] = []
    problems: list[Problem] = []
    for index, item in enumerate(items):
        result = parse_item(item, index=index, now=now, max_future_s=max_future_s)
        if isinstance(result, Problem):
            problems.append(result)
        else:
            readings.append(result)
    return readings, problems


def parse_item(item: Any, *, index: int, now: dt.datetime, max_future_s: float = 300) -> ReadingIn | Problem:
    """One reading, or the first problem found in it."""
    if not isinstance(item, dict):
        return Problem(index, None, ProblemCode.NOT_A_READING, "A reading is a JSON object.")
    for name in ("metric", "value", "ts"):
        if name not in item or item[name] is None:
            return Problem(index, name, ProblemCode.MISSING_FIELD, f"The reading has no {name!r}.")
    metric = item["metric"]
    if not isinstance(metric, str) or not METRIC_NAME.match(metric):
        return Problem(
            index,
            "metric",
            ProblemCode.BAD_METRIC,
            "The metric is a name of lower-case letters, digits and underscores (up to 32).",
        )
    value = item["value"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Problem(index, "value", ProblemCode.BAD_VALUE, "The value must be a JSON number.")
    try:
        value = float(value)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        return Problem(index, "value", ProblemCode.BAD_VALUE, "The value must be a finite number.")
    ts = parse_timestamp(item["ts"])
    if ts is None:
        return Problem(
            index,
            "ts",
            ProblemCode.BAD_TIMESTAMP,
            "The timestamp must be ISO 8601 with a UTC offset, or epoch seconds, after 2000-01-01.",
        )
    if (ts - now).total_seconds() > max_future_s:
        return Problem(
            index,
            "ts",
            ProblemCode.FUTURE_TIMESTAMP,
            f"The timestamp {ts.isoformat()} is more than {max_future_s:g} s ahead of the server clock.",
        )
    seq = item.get("seq")
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_SEQ):
        return Problem(
            index, "seq", ProblemCode.BAD_SEQ, "The sequence number must be a non-negative integer."
        )
    unit = item.get("unit")
    if unit is not None and (not isinstance(unit, str) or len(unit) > 16):
        return Problem(index, "unit", ProblemCode.BAD_UNIT, "The unit must be a short text.")
    return ReadingIn(metric, value, ts, seq, unit)


def parse_timestamp(value: Any) -> dt.datetime | None:
    """An aware UTC datetime from ISO 8601 (with offset) or epoch seconds/milliseconds, else None."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 16:
        value = int(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
        if not math.isfinite(seconds):
            return None
        if seconds > MILLISECONDS_ABOVE:
            seconds /= 1000
        try:
            ts = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, str) and len(value) <= 40:
        try:
            ts = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        if ts.tzinfo is None:
            return None
        ts = ts.astimezone(dt.UTC)
    else:
        return None
    return ts if ts >= EARLIEST else None


_UNIT_FOLDS = str.maketrans({"³": "3", "²": "2", "µ": "u", "μ": "u", " ": None})


def fold_unit(unit: str) -> str:
    return unit.translate(_UNIT_FOLDS).casefold()


def check_against_kind(reading: ReadingIn, kind: DeviceKind, *, index: int | None = None) -> Problem | None:
    """Whether ``reading`` fits a device of ``kind``: a known metric, in its physical range, in its unit."""
    spec = kind.metric(reading.metric)
    if spec is None:
        return Problem(
            index,
            "metric",
            ProblemCode.UNKNOWN_METRIC,
            f"A {kind.code} device does not report {reading.metric!r}; "
            f"it reports {', '.join(kind.metric_names)}.",
        )
    if reading.unit is not None and fold_unit(reading.unit) != fold_unit(spec.unit):
        return Problem(
            index,
            "unit",
            ProblemCode.WRONG_UNIT,
            f"{spec.name} is reported in {spec.unit or 'no unit (0 or 1)'}, not {reading.unit!r}.",
        )
    if not spec.minimum <= reading.value <= spec.maximum:
        shown = "The value" if spec.health else f"The value {reading.value:g}"
        return Problem(
            index,
            "value",
            ProblemCode.OUT_OF_RANGE,
            f"{shown} is outside the physical range of {spec.name}, "
            f"{spec.minimum:g} to {spec.maximum:g} {spec.unit}".rstrip()
            + ".",
        )
    return None


TOPIC = re.compile(r"^banyan/([^/+#]{1,32})/devices/([^/+#]{1,64})/readings$")


def parse_topic(topic: str) -> tuple[str, str] | None:
    """(community code, device code) of ``banyan/<community-code>/devices/<device-id>/readings``."""
    match = TOPIC.match(topic)
    return (match.group(1), match.group(2)) if match else None
