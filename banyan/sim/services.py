"""Seeding a deterministic synthetic community (the demo, tests, benchmarks and drills).

``seed_community`` plans the community in plain Python from the seed (see
:mod:`banyan.sim.seed`) and writes it in one transaction, refusing a database that already
holds regions. Same ``residents`` and ``seed`` on the same day → the same people.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from banyan.core import clock
from banyan.core.errors import InvalidInput
from banyan.places.models import Region
from banyan.sim.seed.planner import MAXIMUM_RESIDENTS, MINIMUM_RESIDENTS, plan_community
from banyan.sim.seed.writer import write_plan


@dataclass(frozen=True)
class SeedAccount:
    username: str
    role: str
    region_code: str


@dataclass(frozen=True)
class SeedReport:
    """What ``seed_community`` created."""

    community_code: str
    regions: int
    grids: int
    buildings: int
    units: int
    households: int
    residents: int
    care_profiles: int
    carers: int
    consents: int
    vehicles: int
    facilities: int
    organisations: int
    path_nodes: int
    path_edges: int
    users: int
    devices: int = 0
    accounts: tuple[SeedAccount, ...] = ()


def database_is_empty() -> bool:
    """True when no region exists yet, i.e. nothing has been seeded or imported."""
    return not Region.objects.exists()


def seed_community(
    *,
    residents: int,
    seed: int,
    demo_password: str,
    progress: Callable[[str], None] | None = None,
) -> SeedReport:
    """Create a synthetic community of ``residents`` people; all accounts get ``demo_password``."""
    say = progress or (lambda message: None)
    if not MINIMUM_RESIDENTS <= residents <= MAXIMUM_RESIDENTS:
        raise InvalidInput(
            _("The number of residents must be between %(low)d and %(high)d, not %(n)d.")
            % {"low": MINIMUM_RESIDENTS, "high": MAXIMUM_RESIDENTS, "n": residents},
            field="residents",
        )
    if not demo_password:
        raise InvalidInput(_("The demo password cannot be empty."), field="demo_password")
    _refuse_unless_empty()
    plan = plan_community(residents=residents, seed=seed, today=clock.today(), progress=say)
    with transaction.atomic(durable=True):
        _refuse_unless_empty()
        counts = write_plan(plan, demo_password=demo_password, progress=say)
    accounts = tuple(SeedAccount(a.username, a.role, a.region_code or "") for a in plan.accounts)
    return SeedReport(community_code=plan.community.code, accounts=accounts, **counts)


def _refuse_unless_empty() -> None:
    if not database_is_empty():
        raise InvalidInput(
            _("The database already holds regions; a community can only be seeded into an empty database."),
            code="not_empty",
        )
