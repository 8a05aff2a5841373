"""The count of an owners' assembly vote (业主大会表决), by PRC Civil Code Art. 278 and the Supreme
People's Court interpretation on building divisions (法释〔2009〕7号, amended 2020, Art. 8-9).

Nothing here imports Django: the web votes and ``banyan tally FILE.json`` both call :func:`tally`
on plain data (:func:`parse_matter` turns the contract's JSON into it, refusing bad input with
``InvalidInput`` naming the path, e.g. ``ballots[3].owner``).

- Quorum: owners holding at least 2/3 of the exclusive area AND at least 2/3 of the owners by head
  take part (Art. 278 para. 2). An abstention takes part.
- Items 6-8 (raising the maintenance fund; rebuilding or reconstructing; changing the use of common
  parts or using them commercially) pass with at least 3/4 of the participating area AND at least 3/4
  of the participating owners voting yes; every other item with strictly more than half of each.
  "以上" includes the figure itself (Civil Code Art. 1259); "过半数" does not.
- Heads (SPC Art. 9): one exclusive part (unit) counts as one owner, but an owner of several units
  counts once with all their area, and the developer's unsold or undelivered units together count as
  one owner with their total area.

Areas are Decimals and every comparison is cross-multiplied in exact arithmetic, so a vote exactly at
2/3 or 3/4 is counted as the law says, never as a float happens to round.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from banyan.core.errors import InvalidInput

ITEMS = range(1, 10)
SPECIAL_ITEMS = frozenset({6, 7, 8})
QUORUM = Fraction(2, 3)
SPECIAL_MAJORITY = Fraction(3, 4)
SIMPLE_MAJORITY = Fraction(1, 2)
# The developer's unsold and undelivered units vote as this one owner (SPC interpretation Art. 9).
DEVELOPER = "developer_unsold"

MATTER_KEYS = ("item", "owners", "ballots")
OWNER_KEYS = ("owner", "unit", "area", "developer_unsold")
OWNER_REQUIRED = ("owner", "unit", "area")
BALLOT_KEYS = ("owner", "choice")


class Choice(enum.StrEnum):
    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"


@dataclass(frozen=True)
class Holding:
    """One exclusive part (unit) and who holds it."""

    owner: str
    unit: str
    area: Decimal
    developer_unsold: bool = False


@dataclass(frozen=True)
class Ballot:
    owner: str
    choice: Choice


@dataclass(frozen=True)
class Matter:
    item: int
    holdings: tuple[Holding, ...]
    ballots: tuple[Ballot, ...]


@dataclass(frozen=True)
class Threshold:
    """A share that a figure must reach: ``inclusive`` means "at least", else "strictly more than"."""

    share: Fraction
    inclusive: bool

    def met(self, part: Decimal | int, whole: Decimal | int) -> bool:
        left = Fraction(part) * self.share.denominator
        right = Fraction(whole) * self.share.numerator
        return left >= right if self.inclusive else left > right

    @property
    def label(self) -> str:
        return f"{self.share.numerator}/{self.share.denominator}"

    def as_dict(self) -> dict:
        return {"share": self.label, "inclusive": self.inclusive}


QUORUM_THRESHOLD = Threshold(QUORUM, inclusive=True)
SPECIAL_THRESHOLD = Threshold(SPECIAL_MAJORITY, inclusive=True)
SIMPLE_THRESHOLD = Threshold(SIMPLE_MAJORITY, inclusive=False)


def approval_threshold(item: int) -> Threshold:
    return SPECIAL_THRESHOLD if item in SPECIAL_ITEMS else SIMPLE_THRESHOLD


@dataclass(frozen=True)
class Tally:
    """The result, with the thresholds used and the arithmetic as published text (zh-Hans and en)."""

    item: int
    total_area: Decimal
    total_heads: int
    participating_area: Decimal
    participating_heads: int
    yes_area: Decimal
    yes_heads: int
    no_heads: int
    abstain_heads: int
    quorum_area_met: bool
    quorum_heads_met: bool
    approval_area_met: bool
    approval_heads_met: bool
    approval: Threshold
    arithmetic: dict[str, list[str]] = field(default_factory=dict)

    @property
    def quorum_met(self) -> bool:
        return self.quorum_area_met and self.quorum_heads_met

    @property
    def passed(self) -> bool:
        return self.quorum_met and self.approval_area_met and self.approval_heads_met

    def as_dict(self) -> dict:
        """The JSON form: areas as numbers rounded to 2 decimals, heads as integers."""
        return {
            "item": self.item,
            "total_area": _round2(self.total_area),
            "total_heads": self.total_heads,
            "participating_area": _round2(self.participating_area),
            "participating_heads": self.participating_heads,
            "yes_area": _round2(self.yes_area),
            "yes_heads": self.yes_heads,
            "no_heads": self.no_heads,
            "abstain_heads": self.abstain_heads,
            "quorum_met": self.quorum_met,
            "quorum_area_met": self.quorum_area_met,
            "quorum_heads_met": self.quorum_heads_met,
            "approval_area_met": self.approval_area_met,
            "approval_heads_met": self.approval_heads_met,
            "passed": self.passed,
            "thresholds": {"quorum": QUORUM_THRESHOLD.as_dict(), "approval": self.approval.as_dict()},
            "arithmetic": self.arithmetic,
        }


def _round2(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def head_of(holding: Holding) -> str:
    """Who a unit counts for by head: its owner, or the one developer for every unsold unit."""
    return DEVELOPER if holding.developer_unsold else holding.owner


def tally(matter: Matter) -> Tally:
    """Count a vote. ``matter`` must be valid (:func:`check_matter`; :func:`parse_matter` checks)."""
    check_matter(matter)
    area_by_head: dict[str, Decimal] = {}
    head_by_owner: dict[str, str] = {}
    for holding in matter.holdings:
        head = head_of(holding)
        area_by_head[head] = area_by_head.get(head, Decimal(0)) + holding.area
        head_by_owner[holding.owner] = head
    choice_by_head = {head_by_owner[ballot.owner]: ballot.choice for ballot in matter.ballots}
    total_area = sum(area_by_head.values(), Decimal(0))
    participating_area = sum((area_by_head[head] for head in choice_by_head), Decimal(0))
    yes = [head for head, choice in choice_by_head.items() if choice is Choice.YES]
    yes_area = sum((area_by_head[head] for head in yes), Decimal(0))
    total_heads, participating_heads, yes_heads = len(area_by_head), len(choice_by_head), len(yes)
    approval = approval_threshold(matter.item)
    result = Tally(
        item=matter.item,
        total_area=total_area,
        total_heads=total_heads,
        participating_area=participating_area,
        participating_heads=participating_heads,
        yes_area=yes_area,
        yes_heads=yes_heads,
        no_heads=sum(1 for choice in choice_by_head.values() if choice is Choice.NO),
        abstain_heads=sum(1 for choice in choice_by_head.values() if choice is Choice.ABSTAIN),
        quorum_area_met=QUORUM_THRESHOLD.met(participating_area, total_area),
        quorum_heads_met=QUORUM_THRESHOLD.met(participating_heads, total_heads),
        approval_area_met=approval.met(yes_area, participating_area) and participating_heads > 0,
        approval_heads_met=approval.met(yes_heads, participating_heads) and participating_heads > 0,
        approval=approval,
    )
    return dataclasses.replace(result, arithmetic=arithmetic(result))


# The published arithmetic: one line per comparison, in both languages.
_LINES = (
    (
        "quorum_area_met",
        "参与表决的专有部分面积",
        "Exclusive area taking part",
        "participating_area",
        "total_area",
        True,
    ),
    (
        "quorum_heads_met",
        "参与表决的业主人数",
        "Owners taking part",
        "participating_heads",
        "total_heads",
        False,
    ),
    (
        "approval_area_met",
        "同意的专有部分面积（占参与表决面积）",
        "Exclusive area voting yes (of the area taking part)",
        "yes_area",
        "participating_area",
        True,
    ),
    (
        "approval_heads_met",
        "同意的业主人数（占参与表决人数）",
        "Owners voting yes (of the owners taking part)",
        "yes_heads",
        "participating_heads",
        False,
    ),
)


def arithmetic(result: Tally) -> dict[str, list[str]]:
    zh: list[str] = [f"事项：《民法典》第二百七十八条第一款第（{result.item}）项"]
    en: list[str] = [f"Matter: PRC Civil Code Art. 278 para. 1 item ({result.item})"]
    for flag, zh_label, en_label, part_name, whole_name, is_area in _LINES:
        threshold = QUORUM_THRESHOLD if flag.startswith("quorum") else result.approval
        part, whole = getattr(result, part_name), getattr(result, whole_name)
        met = getattr(result, flag)
        unit = " m²" if is_area else ""
        share = threshold.share
        if met:
            sign = "≥" if threshold.inclusive else ">"
        else:
            sign = "<" if threshold.inclusive else "≤"
        cross = (
            f"{_number(part)} × {share.denominator} = {_number(part * share.denominator)} {sign}"
            f" {_number(whole)} × {share.numerator} = {_number(whole * share.numerator)}"
        )
        percent = f"{(Decimal(part) * 100 / Decimal(whole)).quantize(Decimal('0.01'))}%" if whole else "—"
        zh_rule = f"≥ {threshold.label}" if threshold.inclusive else f"> {threshold.label}（过半数）"
        en_rule = f"≥ {threshold.label}" if threshold.inclusive else f"> {threshold.label} (more than half)"
        zh.append(
            f"{zh_label} {_number(part)}/{_number(whole)}{unit}（{percent}）{zh_rule}："
            f"{'满足' if met else '不满足'}（{cross}）"
        )
        en.append(
            f"{en_label} {_number(part)}/{_number(whole)}{unit} ({percent}) {en_rule}: "
            f"{'met' if met else 'not met'} ({cross})"
        )
    if not result.quorum_met:
        zh.append("结果：参与表决未达法定比例，表决无效，事项未通过")
        en.append("Result: the quorum is not met, so the matter is not passed")
    else:
        zh.append(f"结果：{'通过' if result.passed else '未通过'}")
        en.append(f"Result: {'passed' if result.passed else 'not passed'}")
    return {"zh-Hans": zh, "en": en}


def _number(value: Decimal | int) -> str:
    if isinstance(value, int):
        return str(value)
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# ---- checking and parsing -------------------------------------------------------------------------


def check_matter(matter: Matter) -> None:
    """Refuse what cannot be counted: an unknown item, a unit listed twice, an owner marked both as
    the developer's unsold units and not, a ballot from an unknown owner, two ballots of one owner."""
    if isinstance(matter.item, bool) or matter.item not in ITEMS:
        raise InvalidInput(
            f"item {matter.item!r} is not an item of Civil Code Art. 278: give a whole number from 1 to 9",
            field="item",
            code="unknown_item",
        )
    if not matter.holdings:
        raise InvalidInput("no owners: list every unit (exclusive part) with its owner", field="owners")
    seen_units: dict[str, int] = {}
    developer_flag: dict[str, bool] = {}
    for index, holding in enumerate(matter.holdings):
        if holding.unit in seen_units:
            raise InvalidInput(
                f"unit {holding.unit!r} is listed twice (also owners[{seen_units[holding.unit]}]): "
                "list each unit once",
                field=f"owners[{index}].unit",
                code="duplicate_unit",
            )
        seen_units[holding.unit] = index
        if not holding.area > 0:
            raise InvalidInput(
                f"area {holding.area} is not accepted: give the exclusive area in m², a number above 0",
                field=f"owners[{index}].area",
                code="invalid_area",
            )
        if developer_flag.setdefault(holding.owner, holding.developer_unsold) != holding.developer_unsold:
            raise InvalidInput(
                f"owner {holding.owner!r} has units with developer_unsold true and false: a unit still "
                "the developer's (unsold or undelivered) is true, a unit with its buyer false",
                field=f"owners[{index}].developer_unsold",
                code="mixed_developer_units",
            )
    ballot_by_head: dict[str, int] = {}
    for index, ballot in enumerate(matter.ballots):
        if ballot.owner not in developer_flag:
            raise InvalidInput(
                f"ballot from {ballot.owner!r}, who owns no unit listed in owners: "
                "a ballot names the owner id of one of the owners",
                field=f"ballots[{index}].owner",
                code="unknown_owner",
            )
        head = DEVELOPER if developer_flag[ballot.owner] else ballot.owner
        if head in ballot_by_head:
            whose = (
                "the developer's unsold units, which count as one owner"
                if head == DEVELOPER
                else ballot.owner
            )
            raise InvalidInput(
                f"a second ballot of {whose!r} (the first is ballots[{ballot_by_head[head]}]): "
                "each owner casts one ballot",
                field=f"ballots[{index}].owner",
                code="duplicate_ballot",
            )
        ballot_by_head[head] = index


def parse_matter(data: Any) -> Matter:
    """The contract's JSON (``{"item", "owners": [...], "ballots": [...]}``) as a checked
    :class:`Matter`. Numbers may be ints, floats or Decimals (read JSON with ``parse_float=Decimal``
    to keep areas exact as written); a float is taken as its shortest decimal form (89.5 → 89.5)."""
    matter_data = _object(data, "", MATTER_KEYS, MATTER_KEYS)
    item = matter_data["item"]
    if isinstance(item, bool) or not isinstance(item, int) or item not in ITEMS:
        raise InvalidInput(
            f"item {item!r} is not an item of Civil Code Art. 278: give a whole number from 1 to 9",
            field="item",
            code="unknown_item",
        )
    holdings = tuple(
        _holding(entry, f"owners[{index}]")
        for index, entry in enumerate(_list(matter_data["owners"], "owners"))
    )
    ballots = tuple(
        _ballot(entry, f"ballots[{index}]")
        for index, entry in enumerate(_list(matter_data["ballots"], "ballots"))
    )
    matter = Matter(item=item, holdings=holdings, ballots=ballots)
    check_matter(matter)
    return matter


def _object(data: Any, path: str, accepted: Sequence[str], required: Sequence[str]) -> Mapping[str, Any]:
    where = path or "the file"
    if not isinstance(data, Mapping):
        raise InvalidInput(
            f"{where} is not an object: give {{{', '.join(repr(key) for key in accepted)}}}",
            field=path or None,
        )
    for key in data:
        if key not in accepted:
            raise InvalidInput(
                f"unknown key {key!r} in {where}: accepted are {', '.join(accepted)}",
                field=f"{path}.{key}" if path else str(key),
                code="unknown_key",
            )
    for key in required:
        if key not in data:
            raise InvalidInput(
                f"{where} has no {key!r}: required are {', '.join(required)}",
                field=f"{path}.{key}" if path else key,
                code="missing_key",
            )
    return data


def _list(data: Any, path: str) -> list:
    if not isinstance(data, list):
        raise InvalidInput(f"{path} is not a list: give a list of objects", field=path)
    return data


def _identifier(value: Any, path: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise InvalidInput(f"{value!r} is not an id: give a non-empty string", field=path)
    return str(value).strip()


def _area(value: Any, path: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise InvalidInput(
            f"area {_shown(value)} is not a number: give the exclusive area in m², e.g. 89.5",
            field=path,
            code="invalid_area",
        )
    try:
        area = (
            value
            if isinstance(value, Decimal)
            else Decimal(repr(value) if isinstance(value, float) else value)
        )
    except InvalidOperation:  # pragma: no cover - repr of a float is always a decimal literal
        area = Decimal("NaN")
    if not area.is_finite() or not area > 0:
        raise InvalidInput(
            f"area {_shown(value)} is not accepted: give the exclusive area in m², a number above 0",
            field=path,
            code="invalid_area",
        )
    return area


def _shown(value: Any) -> str:
    return str(value) if isinstance(value, Decimal) else repr(value)


def _holding(data: Any, path: str) -> Holding:
    entry = _object(data, path, OWNER_KEYS, OWNER_REQUIRED)
    developer_unsold = entry.get("developer_unsold", False)
    if not isinstance(developer_unsold, bool):
        raise InvalidInput(
            f"developer_unsold {developer_unsold!r} is not accepted: give true or false",
            field=f"{path}.developer_unsold",
        )
    return Holding(
        owner=_identifier(entry["owner"], f"{path}.owner"),
        unit=_identifier(entry["unit"], f"{path}.unit"),
        area=_area(entry["area"], f"{path}.area"),
        developer_unsold=developer_unsold,
    )


def _ballot(data: Any, path: str) -> Ballot:
    entry = _object(data, path, BALLOT_KEYS, BALLOT_KEYS)
    choice = entry["choice"]
    if not isinstance(choice, str) or choice not in set(Choice):
        raise InvalidInput(
            f"choice {choice!r} is not accepted: give one of {', '.join(Choice)}",
            field=f"{path}.choice",
            code="unknown_choice",
        )
    return Ballot(owner=_identifier(entry["owner"], f"{path}.owner"), choice=Choice(choice))


__all__ = [
    "Ballot",
    "Choice",
    "Holding",
    "Matter",
    "Tally",
    "Threshold",
    "check_matter",
    "parse_matter",
    "tally",
]
