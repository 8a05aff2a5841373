"""An alert at a resident's home tells their consenting carers once; a need-help check-in by the carer
does not tell the carer themselves."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.care.circle import tell_carers_of_alert, tell_carers_of_alerts
from banyan.conftest import make_resident
from banyan.core import clock
from banyan.notify.models import Message
from banyan.people import carers
from banyan.people.models import CareProfile, Carer, Household
from banyan.sensing.tests.conftest import make_device
from banyan.warning import services
from banyan.warning.tests.conftest import NOW, event, make_rule


@pytest.fixture
def now():
    with clock.use(clock.SimulatedClock(NOW)) as simulated:
        yield simulated


@pytest.fixture
def elder(users, now):
    grid = users["grid01"].region
    household = Household.objects.filter(grid=grid).order_by("id").first()
    resident = make_resident(household, name="刘桂香", birth_date=dt.date(1943, 1, 5), is_living_alone=True)
    profile = CareProfile.objects.create(resident=resident, kind="elderly_alone", since=dt.date(2025, 1, 1))
    carer = Carer.objects.create(care_profile=profile, kind="family", name="女儿", is_primary=True)
    carers.link_account(actor=users["grid01"], carer=carer, username="resident01")
    carers.grant(actor=users["grid01"], carer=carer, given_by="self", scopes=["check_in"])
    return resident


def raise_alert(device, metric="sos", name="紧急呼叫按钮被按下"):
    rule = make_rule(
        community=device.community, name=name, metric=metric, raise_at=1, clear_below=1, grade="red"
    )
    [alert] = services.apply_events([event("Raised", rule, device.code, value=1.0, grade="red")])
    return alert


def test_an_alert_of_a_device_serving_her_tells_her_carer_once(users, elder):
    device = make_device(unit=elder.household.unit, kind="sos_button", resident=elder)
    alert = raise_alert(device)
    assert tell_carers_of_alerts() == 1
    [message] = Message.objects.filter(kind="carer.alert.raised")
    assert message.recipient == users["resident01"]
    assert "紧急呼叫按钮被按下" in message.body and elder.name in message.subject
    assert (message.subject_type, message.subject_id) == ("alert", str(alert.pk))
    assert tell_carers_of_alerts() == 0
    assert tell_carers_of_alert(alert) == []


def test_an_alert_in_her_unit_tells_her_carer(users, elder):
    device = make_device(unit=elder.household.unit, kind="sos_button")
    raise_alert(device)
    assert tell_carers_of_alerts() == 1


def test_an_alert_elsewhere_tells_no_carer(users, elder):
    device = make_device(grid=users["grid01"].region, kind="water_level")
    raise_alert(device, metric="water_level", name="水位")
    assert tell_carers_of_alerts() == 0
    assert not Message.objects.filter(kind="carer.alert.raised").exists()


def test_the_carers_own_need_help_does_not_tell_the_carer(api, users, elder):
    response = api("resident01").post(
        "care/checkins", {"resident": elder.pk, "outcome": "need_help", "channel": "carer"}
    )
    assert response.status_code == 201, response.data
    assert not Message.objects.filter(kind="carer.incident.opened").exists()
