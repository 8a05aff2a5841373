"""Models: a rule is validated by the engine when saved; one active alert per rule × subject;
an official warning is stored once; the seeded default rule set is sound."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from banyan.places.geo import polygon_area_m2
from banyan.places.models import Facility
from banyan.warning.engine import Engine, ThresholdRule
from banyan.warning.models import Alert, OfficialWarning, Rule
from banyan.warning.tests.conftest import NOW, make_rule


def test_engine_spec_and_rule(db):
    rule = make_rule(device_codes=["WL-0001"])
    assert rule.engine_spec() == {
        "id": str(rule.pk),
        "name": "地下室积水",
        "kind": "threshold",
        "auto_clear": True,
        "grade": "orange",
        "metric": "water_level_cm",
        "raise_at": 50,
        "clear_below": 40,
        "device_codes": ["WL-0001"],
        "community": rule.community.code,  # the engine applies the rule to this community's devices only
    }
    built = rule.engine_rule()
    assert isinstance(built, ThresholdRule) and built.id == str(rule.pk) and built.clear_at == 40
    assert built.community == rule.community.code


@pytest.mark.parametrize(
    "spec,field",
    [
        ({"clear_below": 70}, "clear_below"),
        ({"window_s": 5}, "window_s"),
        ({"grade": "pink"}, "grade"),
        ({"kind": "threshold", "metric": ""}, "metric"),
        ({"id": "x"}, "id"),
    ],
)
def test_a_rule_the_engine_refuses_is_never_saved(db, spec, field):
    before = Rule.objects.count()
    with pytest.raises(ValidationError) as error:
        make_rule(**spec)
    assert field in error.value.message_dict
    assert Rule.objects.count() == before


def test_one_active_alert_per_rule_and_subject(db):
    rule = make_rule()
    fields = dict(
        rule=rule, subject="WL-X", community=rule.community, grade="orange", raised_at=NOW, updated_at=NOW
    )
    Alert.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(**fields)
    Alert.objects.filter(rule=rule).update(status="resolved")
    Alert.objects.create(**fields)  # a new one once the first is closed
    Alert.objects.create(**{**fields, "subject": "WL-Y"})
    assert Alert.objects.filter(rule=rule).active().count() == 2


def test_an_official_warning_is_stored_once(db):
    fields = dict(
        identifier="A1", sender="s@example.gov", sent=NOW, status="Actual", msg_type="Alert", scope="Public",
        raw="<alert/>", imported_at=NOW,
    )  # fmt: skip
    OfficialWarning.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        OfficialWarning.objects.create(**fields)


def test_the_seeded_default_rule_set(db):
    rules = list(Rule.objects.filter(created_by=None).exclude(community__code__startswith="T-"))
    engine = Engine([rule.engine_rule() for rule in rules])
    kinds = {rule.kind for rule in engine.rules}
    assert kinds == {"threshold", "no_data", "count_window", "sustained", "offline", "crowd_density"}
    by_metric = {(r.kind, r.params.get("metric")): r for r in rules}
    water = by_metric[("threshold", "water_level_cm")]
    assert (water.grade, water.params["raise_at"], water.params["clear_below"]) == ("orange", 50, 40)
    assert by_metric[("threshold", "smoke_alarm")].grade == "red"
    assert by_metric[("threshold", "gas_lel")].params["raise_at"] == 25
    assert by_metric[("threshold", "sos")].auto_clear is False
    meter = by_metric[("no_data", "water_m3")]
    assert meter.params == {
        "device_kinds": ["water_meter"], "metric": "water_m3", "measure": "delta", "below": 0.01,
        "window_s": 43200,
    }  # fmt: skip
    assert by_metric[("no_data", "door_open")].params["window_s"] == 86400
    assert by_metric[("count_window", "fall")].params["count"] == 2
    assert by_metric[("sustained", "heart_rate")].params["value"] == 130
    crowd = by_metric[("crowd_density", "person_count")]
    plazas = Facility.objects.filter(kind__in=["plaza", "sports_field"]).exclude(area=None)
    assert set(crowd.params["areas_m2"]) == {f.code for f in plazas}
    for facility in plazas:
        assert crowd.params["areas_m2"][facility.code] == pytest.approx(
            polygon_area_m2(facility.area), abs=0.1
        )
    offline = [r for r in rules if r.kind == "offline"]
    assert {r.params["device_kinds"][0] for r in offline} >= {"smoke", "water_level", "wearable_band"}
