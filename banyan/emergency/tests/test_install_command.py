"""`banyan emergency install`: a community's register, plans, shelters and supplies, once."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from banyan.emergency.models import Hazard, Plan
from banyan.emergency.shelters.models import Shelter, Stock
from banyan.places.models import Region


def _install(code: str) -> str:
    out = io.StringIO()
    call_command("emergency", "install", "--community", code, stdout=out)
    return out.getvalue().strip()


def test_install_makes_what_is_missing_once(db):
    community = Region.objects.filter(kind="community").order_by("code").first()
    assert Hazard.objects.filter(community=community).count() == 11, "the seed made the register"
    first = _install(community.code)
    shelters = Shelter.objects.filter(facility__region__path__startswith=community.path).count()
    assert shelters > 0 and Stock.objects.exists()
    stocks = Stock.objects.count()
    assert (
        first == f"{community.code}: 0 hazards, 0 plans, {shelters} shelters and {stocks} supply stocks made"
    )
    assert (
        _install(community.code)
        == f"{community.code}: 0 hazards, 0 plans, 0 shelters and 0 supply stocks made"
    )
    assert Plan.objects.filter(community=community, is_current=True).count() == 44


def test_an_unknown_community_is_named(db):
    with pytest.raises(CommandError, match="NOPE"):
        _install("NOPE")
