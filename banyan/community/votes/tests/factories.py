"""Matters built by hand for the tally's tests: owners as (owner, area) pairs, one unit each unless an
owner is named twice, and ballots as {owner: choice}."""

from __future__ import annotations

from decimal import Decimal

from banyan.community.votes.tally import Ballot, Choice, Holding, Matter


def make_matter(
    item: int,
    owners: list[tuple[str, str]],
    ballots: dict[str, str],
    *,
    developer: tuple[str, ...] = (),
) -> Matter:
    """``owners`` are (owner id, area as a decimal string); unit ids are ``u0``, ``u1`` …; owners named
    in ``developer`` hold the developer's unsold units."""
    holdings = tuple(
        Holding(owner=owner, unit=f"u{index}", area=Decimal(area), developer_unsold=owner in developer)
        for index, (owner, area) in enumerate(owners)
    )
    return Matter(
        item=item,
        holdings=holdings,
        ballots=tuple(Ballot(owner=owner, choice=Choice(choice)) for owner, choice in ballots.items()),
    )


def contract_json(item: int, owners: list[tuple[str, str]], ballots: dict[str, str]) -> dict:
    """The same matter as the contract's JSON (areas as floats, as a file holds them)."""
    return {
        "item": item,
        "owners": [
            {"owner": owner, "unit": f"u{index}", "area": float(area), "developer_unsold": False}
            for index, (owner, area) in enumerate(owners)
        ],
        "ballots": [{"owner": owner, "choice": choice} for owner, choice in ballots.items()],
    }
