"""The hazard register: what each hazard exposes, computed from the places and people registered; the
register made with its defaults (idempotent), changed and reviewed by those who manage emergencies, each
change audited; its pages by role."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.audit.models import AuditEntry
from banyan.core import clock
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.emergency import hazards
from banyan.emergency.choices import HazardKind
from banyan.emergency.models import Hazard
from banyan.places.models import Facility, Region, Unit

NOW = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def demo(db):
    return Region.objects.filter(kind="community").order_by("id").first()


@pytest.fixture
def sibling(outside):
    """A small community: one 6-floor building of unknown lift, one ground-floor flat, one resident in
    care (born 1980), one clinic."""
    return outside["sibling"]


def test_flooding_exposes_garages_and_the_buildings_with_flats_below_or_on_the_ground_floor(sibling):
    community, building = sibling["community"], sibling["building"]
    assert hazards.exposure(community, HazardKind.FLOOD) == {
        "facilities": [],
        "buildings": [
            {
                "id": building.pk,
                "code": building.code,
                "floors": 6,
                "lift": None,
                "basement_units": 0,
                "ground_floor_units": 1,
                "residents_in_care": 1,
            }
        ],
        "residents_in_care": 1,
    }
    garage = Facility.objects.create(
        region=sibling["grid"],
        code="T-SIB-P1",
        kind="parking",
        name_zh="地下车库",
        latitude=30.3,
        longitude=120.3,
    )
    Unit.objects.create(building=building, number="B-01", floor=-1, exclusive_area_m2=20)
    data = hazards.exposure(community, HazardKind.FLOOD)
    assert data["facilities"] == [{"id": garage.pk, "kind": "parking"}]
    assert data["buildings"][0]["basement_units"] == 1 and data["buildings"][0]["ground_floor_units"] == 1
    # A clinic is no garage, and a fire does not flood.
    assert hazards.exposure(community, HazardKind.FIRE)["facilities"] == []


@pytest.mark.parametrize(
    ("lift", "floors", "exposed"),
    [(None, 6, True), (True, 6, False), (None, 8, False), (False, 8, True), (False, 1, False)],
)
def test_evacuation_exposes_buildings_without_a_lift(sibling, lift, floors, exposed):
    building = sibling["building"]
    building.lift, building.floors = lift, floors
    building.save(update_fields=["lift", "floors"])
    for kind in (HazardKind.FIRE, HazardKind.EARTHQUAKE, HazardKind.COLLAPSE):
        data = hazards.exposure(sibling["community"], kind)
        assert [row["id"] for row in data["buildings"]] == ([building.pk] if exposed else [])
        assert data["residents_in_care"] == (1 if exposed else 0)
    assert hazards.exposure(sibling["community"], HazardKind.EPIDEMIC)["buildings"] == []


def test_heat_and_cold_count_residents_in_care_aged_65_and_over(sibling):
    community, resident = sibling["community"], sibling["resident"]
    with clock.use(clock.SimulatedClock(NOW)):
        assert hazards.exposure(community, HazardKind.HEAT_WAVE)["residents_in_care_65"] == 0
        resident.birth_date = dt.date(1961, 12, 7)  # 65 today
        resident.is_living_alone = True
        resident.save(update_fields=["birth_date", "is_living_alone"])
        for kind in (HazardKind.HEAT_WAVE, HazardKind.COLD_WAVE):
            data = hazards.exposure(community, kind)
            assert data["residents_in_care"] == 1
            assert data["residents_in_care_65"] == 1 and data["residents_65_alone"] == 1
        resident.birth_date = dt.date(1961, 12, 8)  # 65 tomorrow
        resident.save(update_fields=["birth_date"])
        assert hazards.exposure(community, HazardKind.HEAT_WAVE)["residents_in_care_65"] == 0
        sibling["care_profile"].is_active = False
        sibling["care_profile"].save(update_fields=["is_active"])
        assert hazards.exposure(community, HazardKind.HEAT_WAVE)["residents_in_care"] == 0


def test_a_crowd_incident_exposes_the_places_where_many_gather(sibling):
    plaza = Facility.objects.create(
        region=sibling["grid"], code="T-SIB-PL", kind="plaza", name_zh="广场", latitude=30.3, longitude=120.3
    )
    assert hazards.exposure(sibling["community"], HazardKind.CROWD)["facilities"] == [
        {"id": plaza.pk, "kind": "plaza"}
    ]


def test_install_register_makes_every_hazard_once_with_its_defaults(sibling):
    community = sibling["community"]
    assert hazards.install_register(community) == 11
    register = {hazard.kind: hazard for hazard in Hazard.objects.filter(community=community)}
    assert set(register) == set(HazardKind.values)
    assert (register["typhoon"].likelihood, register["typhoon"].impact) == (4, 4)
    assert register["earthquake"].risk == 5 and register["heat_wave"].risk == 15
    assert register["flood"].exposure["buildings"][0]["ground_floor_units"] == 1
    entries = AuditEntry.objects.filter(action="hazard.install", subject_id=str(community.pk))
    assert entries.count() == 1 and entries.get().details == {"hazards": 11}
    # Again: nothing made, scores kept, the exposure recomputed.
    Hazard.objects.filter(pk=register["flood"].pk).update(likelihood=5, exposure={})
    assert hazards.install_register(community) == 0
    flood = Hazard.objects.get(pk=register["flood"].pk)
    assert flood.likelihood == 5 and flood.exposure["buildings"]
    assert entries.count() == 1


def test_the_seeded_community_has_its_register(demo):
    register = Hazard.objects.filter(community=demo)
    assert register.count() == 11
    flood = register.get(kind="flood")
    assert flood.exposure["buildings"] and flood.exposure["residents_in_care"] > 0


def test_a_director_changes_a_hazard_audited(users, demo):
    hazard = Hazard.objects.get(community=demo, kind="fire")
    changed = hazards.update_hazard(
        actor=users["director"], hazard=hazard, likelihood=4, impact=5, notes=" 老旧小区 "
    )
    hazard.refresh_from_db()
    assert (hazard.likelihood, hazard.impact, hazard.notes, hazard.risk) == (4, 5, "老旧小区", 20)
    assert changed.pk == hazard.pk
    entry = AuditEntry.objects.get(action="hazard.update", subject_id=str(hazard.pk))
    assert entry.details == {"likelihood": 4, "impact": 5} and entry.actor_id == users["director"].pk


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"likelihood": 0, "impact": 3}, "likelihood"),
        ({"likelihood": 3, "impact": 6}, "impact"),
        ({"likelihood": "3", "impact": 3}, "likelihood"),
        ({"likelihood": 3, "impact": 3, "notes": "x" * 2001}, "notes"),
        ({"likelihood": 3, "impact": 3, "notes": "a\x00b"}, "notes"),
    ],
)
def test_a_bad_score_or_note_is_refused_at_its_field(users, demo, values, field):
    hazard = Hazard.objects.get(community=demo, kind="fire")
    with pytest.raises(InvalidInput) as caught:
        hazards.update_hazard(actor=users["director"], hazard=hazard, **values)
    assert caught.value.field == field
    assert not AuditEntry.objects.filter(action="hazard.update").exists()


def test_only_managers_in_scope_change_or_review(users, demo, sibling):
    hazard = Hazard.objects.get(community=demo, kind="fire")
    for username in ("grid01", "auditor", "volunteer01"):
        with pytest.raises(PermissionDenied):
            hazards.update_hazard(actor=users[username], hazard=hazard, likelihood=1, impact=1)
        with pytest.raises(PermissionDenied):
            hazards.review_hazard(actor=users[username], hazard=hazard)
    hazards.install_register(sibling["community"])
    elsewhere = Hazard.objects.get(community=sibling["community"], kind="fire")
    with pytest.raises(NotFound):
        hazards.update_hazard(actor=users["director"], hazard=elsewhere, likelihood=1, impact=1)
    with pytest.raises(NotFound):
        hazards.get_hazard_for(users["director"], elsewhere.pk)
    assert hazards.get_hazard_for(users["street01"], elsewhere.pk) == elsewhere  # same street
    assert Hazard.objects.get(pk=hazard.pk).likelihood == 3


def test_a_review_is_due_a_year_after_the_last(users, demo):
    hazard = Hazard.objects.get(community=demo, kind="typhoon")
    assert hazards.review_due(hazard, NOW)  # never reviewed
    with clock.use(clock.SimulatedClock(NOW)):
        reviewed = hazards.review_hazard(actor=users["director"], hazard=hazard)
    assert reviewed.reviewed_at == NOW and reviewed.reviewed_by == users["director"]
    assert not hazards.review_due(reviewed, NOW + dt.timedelta(days=364))
    assert hazards.review_due(reviewed, NOW + dt.timedelta(days=365))
    entry = AuditEntry.objects.get(action="hazard.review", subject_id=str(hazard.pk))
    assert entry.details == {"risk": 16}


# --- pages -----------------------------------------------------------------------------------------


def test_the_register_page_by_role(signed_in, demo):
    for username in ("director", "grid01", "volunteer01", "auditor"):
        page = signed_in(username).get("/emergency/hazards/")
        assert page.status_code == 200, username
        assert page.content.count(b"data-hazard=") == 11
    assert signed_in("resident01").get("/emergency/hazards/").status_code == 403
    page = signed_in("director", "zh-hans").get("/emergency/hazards/")
    text = page.content.decode()
    assert "<h1>风险登记册</h1>" in text and "台风" in text
    # Riskiest first: the heat wave (5 × 3) and the typhoon (4 × 4) come before the earthquake (1 × 5).
    assert text.index('data-hazard="typhoon"') < text.index('data-hazard="earthquake"')


def test_a_director_edits_and_reviews_a_hazard_on_its_page(signed_in, demo):
    hazard = Hazard.objects.get(community=demo, kind="flood")
    client = signed_in("director")
    page = client.get(f"/emergency/hazards/{hazard.pk}/")
    assert page.status_code == 200 and b'name="likelihood"' in page.content and b"data-review" in page.content
    refused = client.post(f"/emergency/hazards/{hazard.pk}/", {"likelihood": "9", "impact": "3"})
    assert refused.status_code == 200 and b"field--invalid" in refused.content
    saved = client.post(
        f"/emergency/hazards/{hazard.pk}/", {"likelihood": "5", "impact": "4", "notes": "梅雨季"}
    )
    assert saved.status_code == 302
    hazard.refresh_from_db()
    assert (hazard.likelihood, hazard.impact, hazard.notes) == (5, 4, "梅雨季")
    hazard.refresh_from_db()
    stale = client.post(f"/emergency/hazards/{hazard.pk}/review", {"seen": "2020-01-01T00:00:00+00:00"})
    assert stale.status_code == 409 and b"changed since the page was opened" in stale.content
    assert (
        client.post(
            f"/emergency/hazards/{hazard.pk}/review", {"seen": hazard.updated_at.isoformat()}
        ).status_code
        == 302
    )
    hazard.refresh_from_db()
    assert hazard.reviewed_at is not None


def test_viewers_read_a_hazard_without_the_form(signed_in, demo):
    hazard = Hazard.objects.get(community=demo, kind="flood")
    for username in ("grid01", "property01", "volunteer01", "auditor"):
        client = signed_in(username)
        page = client.get(f"/emergency/hazards/{hazard.pk}/")
        assert page.status_code == 200 and b'name="likelihood"' not in page.content, username
        assert (
            client.post(f"/emergency/hazards/{hazard.pk}/", {"likelihood": "1", "impact": "1"}).status_code
            == 403
        )
        seen = {"seen": hazard.updated_at.isoformat()}
        assert client.post(f"/emergency/hazards/{hazard.pk}/review", seen).status_code == 403
    hazard.refresh_from_db()
    assert hazard.likelihood == 4 and hazard.reviewed_at is None


def test_counts_of_residents_in_care_per_building_only_to_those_who_see_care(signed_in, demo):
    hazard = Hazard.objects.get(community=demo, kind="flood")
    assert (
        b'<th scope="col">Residents in care</th>'
        in signed_in("director").get(f"/emergency/hazards/{hazard.pk}/").content
    )
    assert (
        b'<th scope="col">Residents in care</th>'
        not in signed_in("auditor").get(f"/emergency/hazards/{hazard.pk}/").content
    )
