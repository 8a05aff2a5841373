"""The pure core: the state machine, SLA clocks, dispatch ranking."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.response import flow
from banyan.response.flow import Candidate, Move, Status

T0 = dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC)


def test_the_happy_path_and_its_stamps():
    status = Status.NEW
    for move, expected in [
        (Move.ASSIGN, Status.ASSIGNED),
        (Move.ACCEPT, Status.ACCEPTED),
        (Move.ON_SCENE, Status.ON_SCENE),
        (Move.RESOLVE, Status.RESOLVED),
        (Move.CLOSE, Status.CLOSED),
        (Move.REOPEN, Status.ASSIGNED),
    ]:
        status = flow.next_status(status, move)
        assert status == expected


@pytest.mark.parametrize(
    "status,move",
    [
        (Status.NEW, Move.ACCEPT),  # nobody was asked
        (Status.ACCEPTED, Move.ACCEPT),  # the second of two responders accepting at once
        (Status.CLOSED, Move.RESOLVE),
        (Status.CANCELLED, Move.REOPEN),
        (Status.RESOLVED, Move.CANCEL),
        (Status.DUPLICATE, Move.ASSIGN),
    ],
)
def test_moves_a_state_does_not_allow(status, move):
    with pytest.raises(flow.TransitionError, match=f"cannot {move.value}"):
        flow.next_status(status, move)


def test_clocks_run_are_met_late_or_missed():
    deadlines = flow.DEFAULT_DEADLINES["red"]
    acknowledge, arrive, resolve = flow.clocks(
        T0, deadlines, {"acknowledge": T0 + dt.timedelta(seconds=20), "arrive": T0 + dt.timedelta(minutes=12)}
    )
    at = T0 + dt.timedelta(minutes=15)
    assert (acknowledge.state(at), arrive.state(at), resolve.state(at)) == ("met", "late", "running")
    assert acknowledge.due == T0 + dt.timedelta(seconds=30) and arrive.due == T0 + dt.timedelta(minutes=10)
    assert resolve.remaining_s(at) == pytest.approx(4 * 3600 - 15 * 60)
    assert flow.clocks(T0, deadlines, {})[0].state(T0 + dt.timedelta(seconds=31)) == "missed"


def candidate(key, node, **kw):
    return Candidate(
        key=key,
        node=node,
        on_duty=kw.get("on_duty", True),
        load=kw.get("load", 0),
        capacity=kw.get("capacity", 2),
        skills=frozenset(kw.get("skills", {"flooding"})),
    )


def test_rank_by_walking_time_and_say_why_others_are_skipped():
    distances = {"a": 300.0, "b": 120.0, "c": 60.0, "d": 10.0, "e": 5.0}
    ranking = flow.rank(
        [
            candidate(1, "a"),
            candidate(2, "b"),
            candidate(3, "c", on_duty=False),
            candidate(4, "d", load=2),
            candidate(5, "e", skills=set()),
            candidate(6, None),
            candidate(7, "c"),
        ],
        target="t",
        distances_m=distances,
        walking_speed_mps=1.2,
        skill="flooding",
        excluded={7},
    )
    assert [(r.key, r.eligible, r.reason) for r in ranking] == [
        (2, True, "walking time"),
        (1, True, "walking time"),
        (6, True, "position unknown"),
        (3, False, "off duty"),
        (4, False, "at capacity"),
        (5, False, "lacks skill flooding"),
        (7, False, "declined or timed out"),
    ]
    assert ranking[0].walk_s == pytest.approx(100.0)


def test_visits_on_foot_count_the_ones_already_in_hand():
    """A neighbour 100 s further with nothing in hand is at the door before the nearest, who has two
    visits to do first; without ``per_load_s`` the nearest is asked, as for any other incident."""
    distances = {"near": 60.0, "further": 180.0}
    people = [candidate(1, "near", load=2, capacity=3), candidate(2, "further")]
    plain = flow.rank(people, target="t", distances_m=distances, walking_speed_mps=1.2)
    assert [r.key for r in plain] == [1, 2]
    on_foot = flow.rank(people, target="t", distances_m=distances, walking_speed_mps=1.2, per_load_s=300.0)
    assert [r.key for r in on_foot] == [2, 1]
    assert [r.walk_s for r in on_foot] == [pytest.approx(150.0), pytest.approx(50.0)]  # the walk as it is
