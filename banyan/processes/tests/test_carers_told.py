"""The worker's round tells the carers of a resident at whose home an alert was raised, once."""

from __future__ import annotations

import datetime as dt

from banyan.conftest import make_resident
from banyan.core import clock
from banyan.notify.models import Message
from banyan.people import carers
from banyan.people.models import CareProfile, Carer, Household
from banyan.processes.management.commands.worker import run_once
from banyan.sensing.tests.conftest import make_device
from banyan.warning import services
from banyan.warning.tests.conftest import NOW, event, make_rule


def test_a_round_tells_the_carers_of_an_alert_at_home_once(users):
    with clock.use(clock.SimulatedClock(NOW)):
        household = Household.objects.filter(grid=users["grid01"].region).order_by("id").first()
        elder = make_resident(household, name="刘桂香", birth_date=dt.date(1943, 1, 5))
        profile = CareProfile.objects.create(resident=elder, kind="elderly_alone", since=dt.date(2025, 1, 1))
        carer = Carer.objects.create(care_profile=profile, kind="family", name="女儿")
        carers.link_account(actor=users["grid01"], carer=carer, username="resident01")
        carers.grant(actor=users["grid01"], carer=carer, given_by="self", scopes=["report"])
        device = make_device(unit=household.unit, kind="sos_button", resident=elder)
        rule = make_rule(
            community=device.community, name="紧急呼叫", metric="sos", raise_at=1, clear_below=1, grade="red"
        )
        services.apply_events([event("Raised", rule, device.code, value=1.0, grade="red")])
        assert run_once()["told"] == 1
        assert run_once()["told"] == 0
        assert Message.objects.filter(kind="carer.alert.raised", recipient=users["resident01"]).count() == 1
