"""The count of owners' votes by Civil Code Art. 278, at the exact boundaries, and bad input refused."""

from __future__ import annotations

import ast
import copy
from decimal import Decimal
from pathlib import Path

import pytest

from banyan.community.votes import tally as tally_module
from banyan.community.votes.tally import parse_matter, tally
from banyan.community.votes.tests.factories import contract_json, make_matter
from banyan.core.errors import InvalidInput

ORDINARY_ITEMS = (1, 2, 3, 4, 5, 9)
SPECIAL_ITEMS = (6, 7, 8)
FOUR_EQUAL = [("a", "100"), ("b", "100"), ("c", "100"), ("d", "100")]


def test_the_core_imports_no_django():
    tree = ast.parse(Path(tally_module.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.startswith("django") for name in imported), imported


def test_quorum_at_exactly_two_thirds_is_met():
    result = tally(make_matter(1, [("a", "100"), ("b", "100"), ("c", "100")], {"a": "yes", "b": "yes"}))
    assert (result.participating_area, result.total_area) == (Decimal(200), Decimal(300))
    assert (result.participating_heads, result.total_heads) == (2, 3)
    assert result.quorum_met is True
    assert result.passed is True


def test_quorum_just_under_two_thirds_of_the_area_is_not_met():
    result = tally(make_matter(1, [("a", "99.99"), ("b", "100"), ("c", "100.01")], {"a": "yes", "b": "yes"}))
    assert result.quorum_heads_met is True
    assert result.quorum_area_met is False
    assert (result.quorum_met, result.passed) == (False, False)


def test_quorum_just_under_two_thirds_of_the_heads_is_not_met():
    owners = [(f"o{index}", "100") for index in range(10)]
    # 6 of 10 owners (< 2/3) who hold 1000 of 1400 m² (> 2/3).
    owners[0] = ("o0", "500")
    ballots = {f"o{index}": "yes" for index in range(6)}
    result = tally(make_matter(1, owners, ballots))
    assert result.quorum_area_met is True
    assert (result.participating_heads, result.total_heads, result.quorum_heads_met) == (6, 10, False)
    assert result.passed is False


def test_exact_two_thirds_where_floating_point_would_say_under():
    owners = [("a", "93.12"), ("b", "192.54"), ("c", "142.83")]  # 285.66 of 428.49 m²: exactly 2/3
    taking_part, total = 93.12 + 192.54, 93.12 + 192.54 + 142.83
    assert taking_part * 3 < total * 2  # what a count in floats would wrongly conclude
    result = tally(make_matter(1, owners, {"a": "yes", "b": "yes"}))
    assert result.quorum_area_met is True


@pytest.mark.parametrize("item", SPECIAL_ITEMS)
def test_exactly_three_quarters_passes_items_six_to_eight(item):
    result = tally(make_matter(item, FOUR_EQUAL, {"a": "yes", "b": "yes", "c": "yes", "d": "no"}))
    assert (result.yes_area, result.participating_area) == (Decimal(300), Decimal(400))
    assert (result.yes_heads, result.participating_heads) == (3, 4)
    assert result.passed is True
    assert result.approval.as_dict() == {"share": "3/4", "inclusive": True}


@pytest.mark.parametrize("item", SPECIAL_ITEMS)
def test_just_under_three_quarters_of_the_area_fails_items_six_to_eight(item):
    owners = [("a", "100"), ("b", "100"), ("c", "99.99"), ("d", "100.01")]
    result = tally(make_matter(item, owners, {"a": "yes", "b": "yes", "c": "yes", "d": "no"}))
    assert (result.approval_heads_met, result.approval_area_met, result.passed) == (True, False, False)


@pytest.mark.parametrize("item", SPECIAL_ITEMS)
def test_two_thirds_yes_is_not_enough_for_items_six_to_eight(item):
    owners = [("a", "100"), ("b", "100"), ("c", "100")]
    result = tally(make_matter(item, owners, {"a": "yes", "b": "yes", "c": "no"}))
    assert result.quorum_met is True
    assert result.passed is False


@pytest.mark.parametrize("item", ORDINARY_ITEMS)
def test_exactly_half_does_not_pass_an_ordinary_item(item):
    result = tally(make_matter(item, FOUR_EQUAL, {"a": "yes", "b": "yes", "c": "no", "d": "no"}))
    assert result.quorum_met is True
    assert (result.approval_area_met, result.approval_heads_met, result.passed) == (False, False, False)
    assert result.approval.as_dict() == {"share": "1/2", "inclusive": False}


@pytest.mark.parametrize("item", ORDINARY_ITEMS)
def test_just_over_half_of_each_passes_an_ordinary_item(item):
    owners = [("a", "83.34"), ("b", "83.34"), ("c", "83.33"), ("d", "125"), ("e", "124.99")]
    ballots = {"a": "yes", "b": "yes", "c": "yes", "d": "no", "e": "no"}
    result = tally(make_matter(item, owners, ballots))
    assert (result.yes_area, result.participating_area) == (Decimal("250.01"), Decimal(500))
    assert result.passed is True


def test_half_the_area_with_a_majority_of_heads_fails_both_dimensions_needed():
    owners = [("a", "83.34"), ("b", "83.33"), ("c", "83.33"), ("d", "125"), ("e", "125")]
    result = tally(make_matter(5, owners, {"a": "yes", "b": "yes", "c": "yes", "d": "no", "e": "no"}))
    assert (result.approval_heads_met, result.approval_area_met, result.passed) == (True, False, False)


def test_a_majority_of_area_with_half_the_heads_fails():
    owners = [("a", "300"), ("b", "100"), ("c", "100"), ("d", "100")]
    result = tally(make_matter(5, owners, {"a": "yes", "b": "yes", "c": "no", "d": "no"}))
    assert (result.approval_area_met, result.approval_heads_met, result.passed) == (True, False, False)


def test_the_developers_unsold_units_count_as_one_owner_with_all_their_area():
    owners = [("dev", "100"), ("dev", "100"), ("dev-2", "100"), ("a", "90"), ("b", "110")]
    result = tally(make_matter(5, owners, {"dev": "yes"}, developer=("dev", "dev-2")))
    assert (result.total_heads, result.total_area) == (3, Decimal(500))
    assert (result.participating_heads, result.participating_area) == (1, Decimal(300))
    assert (result.yes_heads, result.yes_area) == (1, Decimal(300))
    # 300 of 500 m² (< 2/3) and 1 of 3 owners: the developer alone is no quorum.
    assert result.quorum_met is False


def test_an_owner_of_several_units_counts_once_by_head_with_all_their_area():
    owners = [("a", "80"), ("a", "120"), ("b", "100"), ("c", "100")]
    result = tally(make_matter(1, owners, {"a": "yes", "b": "no"}))
    assert (result.total_heads, result.total_area) == (3, Decimal(400))
    assert (result.participating_heads, result.participating_area) == (2, Decimal(300))
    assert (result.yes_heads, result.yes_area) == (1, Decimal(200))
    # 200 of 300 m² is more than half, but 1 of 2 owners is not: not passed.
    assert (result.quorum_met, result.approval_area_met, result.passed) == (True, True, False)


def test_an_abstention_takes_part_but_does_not_approve():
    owners = [("a", "100"), ("b", "100"), ("c", "100")]
    result = tally(make_matter(1, owners, {"a": "yes", "b": "abstain", "c": "abstain"}))
    assert (result.participating_heads, result.participating_area) == (3, Decimal(300))
    assert (result.yes_heads, result.abstain_heads) == (1, 2)
    assert (result.quorum_met, result.passed) == (True, False)


def test_abstentions_make_the_quorum_that_yes_votes_alone_would_not():
    owners = [("a", "100"), ("b", "100"), ("c", "100")]
    alone = tally(make_matter(1, owners, {"a": "yes"}))
    with_abstention = tally(make_matter(1, owners, {"a": "yes", "b": "abstain"}))
    assert alone.quorum_met is False
    assert with_abstention.quorum_met is True
    assert with_abstention.passed is False


def test_no_ballots_is_no_quorum_and_not_passed():
    result = tally(make_matter(5, FOUR_EQUAL, {}))
    assert (result.participating_heads, result.yes_heads, result.quorum_met, result.passed) == (
        0,
        0,
        False,
        False,
    )
    assert result.approval_area_met is False
    assert result.arithmetic["en"][-1] == "Result: the quorum is not met, so the matter is not passed"


def test_all_yes_without_a_quorum_is_not_passed():
    result = tally(make_matter(6, FOUR_EQUAL, {"a": "yes", "b": "yes"}))
    assert (result.approval_area_met, result.approval_heads_met) == (True, True)
    assert (result.quorum_met, result.passed) == (False, False)


def test_the_json_form_and_the_published_arithmetic():
    matter = parse_matter(
        contract_json(6, [("a", "89.5"), ("b", "100.25"), ("c", "60")], {"a": "yes", "b": "no"})
    )
    result = tally(matter).as_dict()
    assert {key: result[key] for key in ("total_area", "participating_area", "yes_area")} == {
        "total_area": 249.75,
        "participating_area": 189.75,
        "yes_area": 89.5,
    }
    assert (result["total_heads"], result["participating_heads"], result["yes_heads"]) == (3, 2, 1)
    assert (result["quorum_met"], result["passed"]) == (True, False)
    assert result["thresholds"] == {
        "quorum": {"share": "2/3", "inclusive": True},
        "approval": {"share": "3/4", "inclusive": True},
    }
    zh, en = result["arithmetic"]["zh-Hans"], result["arithmetic"]["en"]
    assert (
        zh[1] == "参与表决的专有部分面积 189.75/249.75 m²（75.98%）≥ 2/3："
        "满足（189.75 × 3 = 569.25 ≥ 249.75 × 2 = 499.5）"
    )
    assert en[2] == "Owners taking part 2/3 (66.67%) ≥ 2/3: met (2 × 3 = 6 ≥ 3 × 2 = 6)"
    assert en[3].startswith(
        "Exclusive area voting yes (of the area taking part) 89.5/189.75 m² (47.17%) ≥ 3/4: not met"
    )
    assert (zh[-1], en[-1]) == ("结果：未通过", "Result: not passed")


GOOD = {
    "item": 5,
    "owners": [
        {"owner": "a", "unit": "1-101", "area": 89.5, "developer_unsold": False},
        {"owner": "b", "unit": "1-102", "area": 100},
        {"owner": "dev", "unit": "1-201", "area": 120, "developer_unsold": True},
    ],
    "ballots": [{"owner": "a", "choice": "yes"}, {"owner": "b", "choice": "no"}],
}


def test_the_good_example_parses():
    assert tally(parse_matter(GOOD)).passed is False  # 1 of 2 owners: not more than half


def _with(path: tuple, value) -> dict:
    data = copy.deepcopy(GOOD)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def _without(path: tuple) -> dict:
    data = copy.deepcopy(GOOD)
    target = data
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return data


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (_with(("ballots", 1, "owner"), "stranger"), "ballots[1].owner", "owns no unit"),
        (
            _with(("ballots", 1, "owner"), "a"),
            "ballots[1].owner",
            "second ballot of 'a' (the first is ballots[0])",
        ),
        (_with(("owners", 1, "area"), -3), "owners[1].area", "a number above 0"),
        (_with(("owners", 1, "area"), 0), "owners[1].area", "a number above 0"),
        (_with(("owners", 1, "area"), "89.5"), "owners[1].area", "is not a number"),
        (_with(("owners", 1, "area"), True), "owners[1].area", "is not a number"),
        (_with(("owners", 1, "area"), float("nan")), "owners[1].area", "a number above 0"),
        (_with(("item",), 10), "item", "from 1 to 9"),
        (_with(("item",), 0), "item", "from 1 to 9"),
        (_with(("item",), "6"), "item", "from 1 to 9"),
        (_with(("item",), True), "item", "from 1 to 9"),
        (_with(("ballots", 0, "choice"), "maybe"), "ballots[0].choice", "one of yes, no, abstain"),
        (_with(("ballots", 0, "choice"), ["yes"]), "ballots[0].choice", "one of yes, no, abstain"),
        (_with(("owners", 1, "unit"), "1-101"), "owners[1].unit", "'1-101' is listed twice (also owners[0])"),
        (_with(("owners", 1, "developer_unsold"), "no"), "owners[1].developer_unsold", "true or false"),
        (
            _with(("owners", 1, "owner"), "dev"),
            "owners[2].developer_unsold",
            "developer_unsold true and false",
        ),
        (_with(("owners", 1, "owner"), ""), "owners[1].owner", "non-empty string"),
        (_with(("owners", 1, "colour"), "red"), "owners[1].colour", "accepted are owner, unit, area"),
        (_with(("owners",), []), "owners", "no owners"),
        (_with(("owners",), {"a": 1}), "owners", "not a list"),
        (_with(("ballots", 0), "a:yes"), "ballots[0]", "is not an object"),
        (_without(("item",)), "item", "has no 'item'"),
        (_without(("owners",)), "owners", "has no 'owners'"),
        (_without(("ballots",)), "ballots", "has no 'ballots'"),
        (_without(("owners", 0, "area")), "owners[0].area", "has no 'area'"),
        (_without(("owners", 0, "unit")), "owners[0].unit", "has no 'unit'"),
        (_without(("ballots", 0, "choice")), "ballots[0].choice", "has no 'choice'"),
        (_without(("ballots", 0, "owner")), "ballots[0].owner", "has no 'owner'"),
    ],
)
def test_bad_input_is_refused_naming_it(data, field, words):
    with pytest.raises(InvalidInput) as refused:
        parse_matter(data)
    assert refused.value.field == field
    assert words in refused.value.message


def test_a_second_ballot_for_the_developers_units_is_refused():
    data = _with(("owners", 1), {"owner": "dev-2", "unit": "1-202", "area": 50, "developer_unsold": True})
    data["ballots"] = [{"owner": "dev", "choice": "yes"}, {"owner": "dev-2", "choice": "no"}]
    with pytest.raises(InvalidInput) as refused:
        parse_matter(data)
    assert refused.value.field == "ballots[1].owner"
    assert "the developer's unsold units, which count as one owner" in refused.value.message


def test_a_matter_built_in_code_is_checked_too():
    with pytest.raises(InvalidInput) as refused:
        tally(make_matter(12, FOUR_EQUAL, {}))
    assert refused.value.field == "item"
