from __future__ import annotations

import datetime as dt
import io

import pytest

from banyan.core import clock

NOW = dt.datetime(2026, 7, 1, 9, 0, tzinfo=dt.UTC)


def jpeg_with_gps(size=(64, 48)) -> bytes:
    from PIL import ExifTags, Image

    image = Image.new("RGB", size, (200, 30, 30))
    exif = image.getexif()
    exif[ExifTags.Base.Make] = "TestCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (30.0, 18.0, 5.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (120.0, 18.0, 1.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def now():
    with clock.use(clock.SimulatedClock(NOW)) as simulated:
        yield simulated


def responder_at(user, organisation, node, *, skills=(), capacity=3, on_duty=True):
    """A responder standing at a walking-graph node, on duty around NOW (or not)."""
    from banyan.response.models import Responder, Shift

    responder = Responder.objects.create(
        user=user,
        organisation=organisation,
        skills=list(skills),
        capacity=capacity,
        latitude=node.latitude,
        longitude=node.longitude,
        position_at=NOW,
    )
    if on_duty:
        Shift.objects.create(
            responder=responder, starts_at=NOW - dt.timedelta(hours=4), ends_at=NOW + dt.timedelta(hours=8)
        )
    return responder


@pytest.fixture
def site(db, users, now):
    """The demo community's first grid with a matrix row for flooding and three grid-worker responders
    at increasing walking distances from the first building."""
    from banyan.people.models import Organisation, User
    from banyan.places.models import Building, PathNode, Region
    from banyan.response.models import Category, Responder, Responsibility

    # A world of the test's own: not the seeded matrix and responders.
    Responsibility.objects.all().delete()
    Responder.objects.all().delete()

    grid = Region.objects.filter(kind="grid").order_by("code").first()
    building = Building.objects.filter(grid=grid).order_by("code").first()
    committee = Organisation.objects.get(code="ORG-COMMITTEE")
    street = Organisation.objects.get(code="ORG-STREET")
    flooding = Category.objects.get(code="flooding")
    cell = Responsibility.objects.create(
        category=flooding,
        region=grid.parent,  # the community
        accountable=committee,
        accountable_role="grid_worker",
        escalation=[
            {"organisation": "ORG-COMMITTEE", "role": "community_director"},
            {"organisation": "ORG-STREET"},
        ],
        updated_at=NOW,
    )
    door = PathNode.objects.get(building=building)
    others = sorted(
        PathNode.objects.filter(community=grid.parent).exclude(pk=door.pk),
        key=lambda n: (n.latitude - door.latitude) ** 2 + (n.longitude - door.longitude) ** 2,
    )
    workers = list(User.objects.filter(role="grid_worker").order_by("username")[:3])
    assert len(workers) == 3
    near = responder_at(workers[0], committee, others[0], skills=["flooding"])
    middle = responder_at(workers[1], committee, others[len(others) // 2], skills=["flooding"])
    far = responder_at(workers[2], committee, others[-1], skills=["flooding"])
    return {
        "grid": grid,
        "building": building,
        "committee": committee,
        "street": street,
        "flooding": flooding,
        "cell": cell,
        "responders": [near, middle, far],
    }
