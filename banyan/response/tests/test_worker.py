"""Alerts whose rule names a category open incidents; ``banyan worker --once`` runs the jobs."""

from __future__ import annotations

import io

from django.core.management import call_command

from banyan.response.models import Incident
from banyan.response.services import open_incidents_for_alerts


def _water_alert(site, category="flooding"):
    from banyan.sensing.models import Device
    from banyan.warning import services as warning
    from banyan.warning.engine import Grade, Raised
    from banyan.warning.models import Rule

    device = Device.objects.filter(kind="water_level").order_by("code").first()
    device.building, device.unit, device.facility = site["building"], None, None
    device.save(update_fields=["building", "unit", "facility"])
    rule = Rule.objects.filter(kind="threshold", params__metric="water_level_cm").first()
    rule.incident_category = category
    rule.save()
    event = Raised(
        rule_id=str(rule.pk),
        subject=device.code,
        grade=Grade.parse("orange"),
        value=62.0,
        reading_ts=site["cell"].updated_at,
        at=site["cell"].updated_at,
        count=1,
        place="",
    )
    [alert] = warning.apply_events([event])
    return alert


def test_an_alert_opens_one_incident_routed_and_dispatched(site, users):
    alert = _water_alert(site)
    [incident] = open_incidents_for_alerts()
    assert (incident.alert, incident.source, incident.category.code, incident.grade) == (
        alert,
        "alert",
        "flooding",
        "orange",
    )
    assert incident.building == site["building"] and incident.assignee_id == site["responders"][0].user_id
    assert open_incidents_for_alerts() == []  # once per alert
    assert Incident.objects.filter(alert=alert).count() == 1


def test_a_rule_names_only_known_categories(site):
    import pytest
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as error:
        _water_alert(site, category="volcano")
    assert "incident_category" in error.value.message_dict


def test_worker_once_runs_every_job(site, users):
    _water_alert(site)
    out = io.StringIO()
    call_command("worker", "--once", stdout=out)
    assert "'opened': 1" in out.getvalue()
    assert Incident.objects.filter(source="alert").count() == 1
