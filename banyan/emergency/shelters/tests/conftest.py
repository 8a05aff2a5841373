from __future__ import annotations

import pytest
from django.utils import translation

from banyan.core import clock
from banyan.emergency.choices import EmergencyStatus, HazardKind, Trigger
from banyan.emergency.models import Emergency
from banyan.emergency.shelters import services
from banyan.emergency.shelters.models import Shelter, Stock
from banyan.places.choices import FacilityKind
from banyan.places.models import Region


@pytest.fixture(autouse=True)
def _in_english():
    """The services' messages in English (the site's default language is Chinese)."""
    with translation.override("en"):
        yield


@pytest.fixture
def community(db):
    return Region.objects.filter(kind="community").order_by("id").first()


@pytest.fixture
def installed(community):
    return services.install_shelters(community)


@pytest.fixture
def emergency(community, users):
    now = clock.now()
    return Emergency.objects.create(
        community=community,
        hazard=HazardKind.TYPHOON,
        level=2,
        status=EmergencyStatus.ACTIVE,
        title="台风“海葵”II级应急响应",
        trigger=Trigger.MANUAL,
        activated_at=now,
        activated_by=users["director"],
        created_at=now,
    )


@pytest.fixture
def centre(installed, community) -> Shelter:
    return Shelter.objects.get(community=community, facility__kind=FacilityKind.COMMUNITY_CENTRE)


@pytest.fixture
def open_centre(centre, emergency, users) -> Shelter:
    return services.open_shelter(actor=users["director"], shelter=centre, emergency=emergency)


@pytest.fixture
def water(installed, community) -> Stock:
    return Stock.objects.get(community=community, place__kind=FacilityKind.COMMUNITY_CENTRE, kind="water")
