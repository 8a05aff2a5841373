"""The seeded community can respond from the first alert: no matrix gaps, responders on duty."""

from __future__ import annotations

from banyan.places.models import Region
from banyan.response import services
from banyan.response.models import Responder, Shift


def test_no_gaps_and_everyone_on_duty(db):
    community = Region.objects.filter(kind="community").order_by("code").first()
    assert services.matrix_gaps(community) == []
    responders = Responder.objects.filter(organisation__regions=community).select_related("user")
    assert {r.user.role for r in responders} == {"grid_worker", "property_staff", "volunteer"}
    assert all(r.latitude is not None for r in responders)
    # everyone on duty around the clock but the building leaders, whom an emergency plan calls up
    leaders = responders.filter(user__memberships__title__in=["楼栋长", "社区志愿者"])
    assert leaders.exists() and not Shift.objects.filter(responder__in=leaders).exists()
    staff = responders.exclude(pk__in=leaders)
    assert Shift.objects.filter(responder__in=staff).count() == 8 * staff.count()


def test_a_seeded_flood_goes_to_the_property_company(db, users):
    import datetime as dt

    from banyan.core import clock
    from banyan.places.models import Building

    building = Building.objects.order_by("code").first()
    inside_the_shifts = Shift.objects.order_by("starts_at").first().starts_at + dt.timedelta(hours=30)
    with clock.use(clock.SimulatedClock(inside_the_shifts)):
        incident = services.open_incident(
            actor=users["director"], category="flooding", source="staff", building=building
        )
    assert incident.accountable.code == "ORG-PROPERTY" and incident.assignee.role == "property_staff"
