"""The carer circle: a carer linked to an account acts for the resident only within a consent in force;
withdrawal stops it at once; every grant and withdrawal is audited."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.audit.models import AuditEntry
from banyan.core import clock
from banyan.core.errors import InvalidInput, NotFound, PermissionDenied
from banyan.people import carers
from banyan.people.choices import ProxyScope
from banyan.people.models import CareProfile, Carer, Resident, User


@pytest.fixture
def elder(users):
    """A resident grid01 may change, who is not resident01 nor in their household."""
    me = users["resident01"].resident
    return (
        Resident.objects.restrict(users["grid01"])
        .exclude(household=me.household)
        .filter(care_profiles__isnull=True)
        .order_by("id")
        .first()
    )


@pytest.fixture
def carer(elder):
    profile = CareProfile.objects.create(resident=elder, kind="elderly_alone", since=dt.date(2025, 1, 1))
    return Carer.objects.create(care_profile=profile, kind="family", name="女儿", phone="13900000001")


def test_no_scope_without_a_consent(users, elder, carer):
    carers.link_account(actor=users["grid01"], carer=carer, username="resident01")
    assert carers.proxy_scope(users["resident01"], elder) == frozenset()
    assert not carers.residents_cared_for(users["resident01"]).exists()


def test_a_consent_gives_its_scopes_until_withdrawn(users, elder, carer):
    carers.link_account(actor=users["grid01"], carer=carer, username="resident01")
    consent = carers.grant(actor=users["grid01"], carer=carer, given_by="self", scopes=["check_in", "report"])
    me = users["resident01"]
    assert carers.proxy_scope(me, elder) == {"check_in", "report"}
    assert carers.proxy_carer(me, elder, "check_in") == carer
    assert carers.proxy_carer(me, elder, "vote") is None
    assert list(carers.residents_cared_for(me, "check_in")) == [elder]
    assert carers.proxy_scope(users["volunteer01"], elder) == frozenset()
    carers.withdraw(actor=users["grid01"], consent=consent)
    assert carers.proxy_scope(me, elder) == frozenset()
    with pytest.raises(NotFound):
        carers.get_proxied_resident(me, elder.pk, "check_in")
    actions = list(
        AuditEntry.objects.filter(subject_id=str(elder.pk)).order_by("id").values_list("action", flat=True)
    )
    assert actions[-3:] == ["carer.link", "proxy.grant", "proxy.withdraw"]


def test_a_consent_runs_from_and_until(users, elder, carer):
    carers.link_account(actor=users["grid01"], carer=carer, username="resident01")
    now = clock.now()
    carers.grant(
        actor=users["grid01"],
        carer=carer,
        given_by="guardian",
        scopes=["check_in"],
        valid_from=now + dt.timedelta(days=1),
        valid_until=now + dt.timedelta(days=2),
    )
    assert carers.proxy_scope(users["resident01"], elder) == frozenset()
    carers.grant(
        actor=users["grid01"],
        carer=carer,
        given_by="self",
        scopes=["vote"],
        valid_from=now - dt.timedelta(days=2),
        valid_until=now - dt.timedelta(days=1),
    )
    assert carers.proxy_scope(users["resident01"], elder) == frozenset()


def test_bad_grants_name_the_field(users, elder, carer):
    with pytest.raises(InvalidInput) as unlinked:
        carers.grant(actor=users["grid01"], carer=carer, given_by="self", scopes=["check_in"])
    assert unlinked.value.field == "carer"
    carers.link_account(actor=users["grid01"], carer=carer, username="resident01")
    with pytest.raises(InvalidInput) as bad_scope:
        carers.grant(actor=users["grid01"], carer=carer, given_by="self", scopes=["spend"])
    assert bad_scope.value.field == "scopes"
    with pytest.raises(InvalidInput) as bad_giver:
        carers.grant(actor=users["grid01"], carer=carer, given_by="neighbour", scopes=["report"])
    assert bad_giver.value.field == "given_by"
    with pytest.raises(InvalidInput) as no_account:
        carers.link_account(actor=users["grid01"], carer=carer, username="nobody-here")
    assert no_account.value.field == "username"


def test_only_staff_who_manage_carers_grant(users, carer):
    for username in ("resident01", "auditor", "volunteer01", "property01"):
        with pytest.raises(PermissionDenied):
            carers.link_account(actor=users[username], carer=carer, username="resident01")
    assert Carer.objects.get(pk=carer.pk).user_id is None


def test_staff_outside_the_residents_scope_do_not_find_the_carer(users, outside):
    profile = outside["sibling"]["care_profile"]
    carer = Carer.objects.create(care_profile=profile, kind="family", name="儿子")
    with pytest.raises(NotFound):
        carers.get_carer_for(users["grid01"], carer.pk)


def test_the_resident_withdraws_their_own_consent_and_no_one_else_may(users, elder, carer):
    elder_account = User.objects.create(username="elder-account", role="resident", resident=elder)
    carers.link_account(actor=users["grid01"], carer=carer, username="resident01")
    consent = carers.grant(actor=users["grid01"], carer=carer, given_by="self", scopes=["check_in"])
    with pytest.raises(PermissionDenied):
        carers.withdraw(actor=users["resident01"], consent=consent)
    assert carers.proxy_scope(users["resident01"], elder) == {"check_in"}
    carers.withdraw(actor=elder_account, consent=consent)
    assert carers.proxy_scope(users["resident01"], elder) == frozenset()


@pytest.mark.parametrize(
    "username", ["admin", "street01", "director", "grid01", "property01", "volunteer01", "auditor"]
)
def test_no_role_acts_for_a_resident_without_being_their_carer(users, elder, carer, username):
    """Role × scope: staff rights do not make anyone a proxy; only a carer's consent does."""
    carers.link_account(actor=users["grid01"], carer=carer, username="resident01")
    carers.grant(actor=users["grid01"], carer=carer, given_by="self", scopes=list(ProxyScope.values))
    assert carers.proxy_scope(users[username], elder) == frozenset()
    assert not carers.residents_cared_for(users[username]).exists()


def test_a_volunteer_linked_as_carer_gets_the_consents_scopes(users, elder, carer):
    carers.link_account(actor=users["grid01"], carer=carer, username="volunteer01")
    carers.grant(actor=users["grid01"], carer=carer, given_by="self", scopes=["sign_up", "vote"])
    assert carers.proxy_scope(users["volunteer01"], elder) == {"sign_up", "vote"}
    assert carers.proxy_scope(users["resident01"], elder) == frozenset()
