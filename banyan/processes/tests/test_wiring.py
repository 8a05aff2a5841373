"""The ingest writer's rule pipeline fires no rule, not even a timed one, for a device whose resident
withdrew care-monitoring consent."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from banyan.core import clock
from banyan.people.choices import ConsentGivenBy, ConsentScope
from banyan.people.models import Consent
from banyan.processes.wiring import rule_pipeline
from banyan.sensing.ingest.writer import BatchWriter
from banyan.sensing.tests.conftest import NOW, make_device
from banyan.warning.models import Alert, Rule
from banyan.warning.tests.conftest import make_rule


@pytest.fixture
def now():
    with clock.use(clock.SimulatedClock(NOW)) as simulated:
        yield simulated


@pytest.fixture
def two_doors(db, now):
    """Door contacts of two residents with care-monitoring consent, watched by an offline rule."""
    from banyan.people.models import Resident

    Rule.objects.update(is_active=False)  # only this test's rule
    doors = []
    for resident in Resident.objects.filter(household__isnull=False).select_related("household__unit")[:2]:
        resident.consents.all().delete()
        Consent.objects.create(
            resident=resident,
            scope=ConsentScope.CARE_MONITORING,
            given_by=ConsentGivenBy.SELF,
            granted_at=NOW,
        )
        doors.append(make_device(unit=resident.household.unit, kind="door_contact", resident=resident))
    rule = make_rule(
        doors[0].community,
        kind="offline",
        interval_s=60,
        missed=3,
        grade="blue",
        device_codes=[d.code for d in doors],
    )
    return doors, rule


def send(writer, device, value):
    topic = f"banyan/{device.community.code}/devices/{device.code}/readings"
    payload = {"metric": "door_open", "value": value, "ts": clock.now().isoformat()}
    return writer.write([(topic, json.dumps(payload).encode())])


def test_timed_rules_stay_silent_for_a_device_whose_resident_withdrew_consent(two_doors, now):
    (kept, withdrawn), rule = two_doors
    writer = BatchWriter(community=kept.community.code, rules_factory=rule_pipeline)
    writer.tick()
    for door in (kept, withdrawn):
        assert send(writer, door, 1).accepted == 1
    Consent.objects.filter(resident=withdrawn.resident).update(withdrawn_at=clock.now())
    writer.consent._next = 0.0  # a refresh interval passed
    now.advance(dt.timedelta(minutes=10))  # both silent for 3 × 60 s and more
    writer.tick()
    assert list(Alert.objects.filter(rule=rule).values_list("subject", flat=True)) == [kept.code]
    assert send(writer, withdrawn, 0).dropped == 1
