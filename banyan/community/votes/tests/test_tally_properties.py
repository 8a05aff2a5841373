"""Invariants of the count over generated matters (hypothesis): whatever the owners and ballots,
the figures stay consistent and a yes ballot never hurts a matter."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from banyan.community.votes.tally import DEVELOPER, Ballot, Choice, Holding, Matter, head_of, tally

PROPERTIES = settings(max_examples=200, deadline=None)
OWNER_IDS = [f"owner-{index}" for index in range(8)]


@st.composite
def matters(draw) -> Matter:
    developers = draw(st.sets(st.sampled_from(OWNER_IDS), max_size=2))
    units = draw(
        st.lists(
            st.tuples(st.sampled_from(OWNER_IDS), st.integers(min_value=1, max_value=50_000)),
            min_size=1,
            max_size=12,
        )
    )
    holdings = tuple(
        Holding(
            owner=owner, unit=f"u{index}", area=Decimal(cents) / 100, developer_unsold=owner in developers
        )
        for index, (owner, cents) in enumerate(units)
    )
    ballots = []
    voters_by_head: dict[str, list[str]] = {}
    for holding in holdings:
        voters_by_head.setdefault(head_of(holding), []).append(holding.owner)
    for voters in voters_by_head.values():
        choice = draw(st.none() | st.sampled_from(list(Choice)))
        if choice is not None:
            ballots.append(Ballot(owner=draw(st.sampled_from(voters)), choice=choice))
    return Matter(item=draw(st.integers(min_value=1, max_value=9)), holdings=holdings, ballots=tuple(ballots))


@PROPERTIES
@given(matters())
def test_figures_nest(matter):
    result = tally(matter)
    assert 0 <= result.yes_area <= result.participating_area <= result.total_area
    assert 0 <= result.yes_heads <= result.participating_heads <= result.total_heads
    assert result.yes_heads + result.no_heads + result.abstain_heads == result.participating_heads
    assert result.participating_heads == len(matter.ballots)


@PROPERTIES
@given(matters())
def test_totals_are_every_unit_and_one_head_per_owner_and_one_for_the_developer(matter):
    result = tally(matter)
    assert result.total_area == sum((holding.area for holding in matter.holdings), Decimal(0))
    ordinary = {holding.owner for holding in matter.holdings if not holding.developer_unsold}
    has_developer = any(holding.developer_unsold for holding in matter.holdings)
    assert result.total_heads == len(ordinary) + has_developer
    assert DEVELOPER not in ordinary


@PROPERTIES
@given(matters())
def test_no_quorum_means_not_passed(matter):
    result = tally(matter)
    if not result.quorum_met:
        assert result.passed is False
    assert result.passed == (result.quorum_met and result.approval_area_met and result.approval_heads_met)


@PROPERTIES
@given(matters())
def test_the_decision_agrees_with_the_law_in_fractions(matter):
    result = tally(matter)
    quorum = Fraction(result.participating_area) / Fraction(result.total_area) >= Fraction(2, 3) and Fraction(
        result.participating_heads, result.total_heads
    ) >= Fraction(2, 3)
    assert result.quorum_met == quorum
    if result.participating_heads:
        area_share = Fraction(result.yes_area) / Fraction(result.participating_area)
        head_share = Fraction(result.yes_heads, result.participating_heads)
        if matter.item in (6, 7, 8):
            approved = area_share >= Fraction(3, 4) and head_share >= Fraction(3, 4)
        else:
            approved = area_share > Fraction(1, 2) and head_share > Fraction(1, 2)
        assert result.passed == (quorum and approved)


@PROPERTIES
@given(matters(), st.data())
def test_the_result_does_not_depend_on_the_order_of_owners_or_ballots(matter, data):
    shuffled = dataclasses.replace(
        matter,
        holdings=tuple(data.draw(st.permutations(matter.holdings))),
        ballots=tuple(data.draw(st.permutations(matter.ballots))),
    )
    assert tally(shuffled).as_dict() == tally(matter).as_dict()


@PROPERTIES
@given(matters(), st.data())
def test_a_yes_ballot_never_turns_passed_into_failed(matter, data):
    before = tally(matter)
    voted = {
        head_of(holding) for holding in matter.holdings if holding.owner in {b.owner for b in matter.ballots}
    }
    silent = [holding for holding in matter.holdings if head_of(holding) not in voted]
    changeable = [ballot for ballot in matter.ballots if ballot.choice is not Choice.YES]
    if silent and (not changeable or data.draw(st.booleans())):
        newcomer = data.draw(st.sampled_from(silent)).owner
        after = tally(dataclasses.replace(matter, ballots=(*matter.ballots, Ballot(newcomer, Choice.YES))))
    elif changeable:
        turned = data.draw(st.sampled_from(changeable))
        ballots = tuple(Ballot(b.owner, Choice.YES) if b == turned else b for b in matter.ballots)
        after = tally(dataclasses.replace(matter, ballots=ballots))
    else:
        return  # everyone voted yes already
    assert after.yes_heads == before.yes_heads + 1
    if before.passed:
        assert after.passed
    assert after.quorum_met >= before.quorum_met
