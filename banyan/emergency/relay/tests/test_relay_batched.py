"""A warning relayed to a whole community reads the carers of everyone in care at once, and tells the
same carers as asking resident by resident would."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from banyan.core import clock
from banyan.emergency.relay import services
from banyan.emergency.relay.models import Recipient
from banyan.emergency.relay.tests.conftest import import_warning
from banyan.people.carers import consented_carers, consented_carers_of
from banyan.people.models import CareProfile, Carer, Resident


def test_the_carers_of_everyone_in_care_are_read_in_one_query(users, sim, community):
    in_care = list(
        Resident.objects.filter(pk__in=CareProfile.objects.filter(is_active=True).values("resident_id"))
        .filter(account__isnull=True)
        .order_by("pk")
    )
    assert len(in_care) > 5
    sharing, consenting, neither = in_care[:3]
    now = clock.now()
    for resident in (sharing, consenting, neither):
        profile = resident.care_profiles.filter(is_active=True).first()
        for name in ("女儿", "儿子"):
            Carer.objects.create(care_profile=profile, kind="family", name=name, phone="13812345678")
    sharing.consents.create(
        scope="share_with_carers", given_by="self", granted_at=now, recorded_by=users["director"]
    )
    son = Carer.objects.get(care_profile__resident=consenting, name="儿子")
    son.consents.create(
        given_by="self", scopes=["report"], valid_from=now, recorded_at=now, recorded_by=users["director"]
    )
    with CaptureQueriesContext(connection) as queries:
        found = consented_carers_of(in_care)
    assert len(queries) == 1
    assert {c.name for c in found[sharing.pk]} >= {"女儿", "儿子"}, "the resident shares with them all"
    assert son in found[consenting.pk] and "女儿" not in {c.name for c in found[consenting.pk]}
    assert neither.pk not in found or not {c.name for c in found[neither.pk]} & {"女儿", "儿子"}
    for resident in in_care:
        assert [c.pk for c in found.get(resident.pk, [])] == [c.pk for c in consented_carers(resident)]

    Resident.objects.filter(pk=sharing.pk).update(phone="", phone_index="")  # reached through the carers
    warning = import_warning("HZ-CARERS-AT-ONCE", region=community)
    with CaptureQueriesContext(connection) as queries:
        services.relay_new_warnings()
    carer_reads = [q["sql"] for q in queries.captured_queries if 'FROM "people_carer"' in q["sql"]]
    assert len(carer_reads) == 1
    row = Recipient.objects.get(warning=warning, resident=sharing)
    assert row.channels == ["carer"] and row.messages.filter(kind="relay.warning.carer").exists()
