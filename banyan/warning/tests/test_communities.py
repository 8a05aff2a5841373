"""Rules stay in their community (issue 10, finding 9): a rule names only its own community's devices,
and the engine never applies a community's rule to another community's device, even when one ingest
process (an unpartitioned pipeline) serves several communities."""

from __future__ import annotations

import datetime as dt

import pytest

from banyan.sensing.parsing import ReadingIn
from banyan.sensing.services import store_readings
from banyan.sensing.tests.conftest import make_device
from banyan.warning import services
from banyan.warning.engine import Engine, Raised, Reading, parse_rule, rule_fingerprint
from banyan.warning.models import Alert, Rule
from banyan.warning.pipeline import RulePipeline
from banyan.warning.tests.conftest import NOW, event, make_rule, seeded_device

T0 = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)


# --- the pure engine -------------------------------------------------------------------------------


def _reading(device, community, value=60.0, seconds=0, kind="water_level", metric="water_level_cm"):
    return Reading(device, kind, "u1", metric, value, T0 + dt.timedelta(seconds=seconds), None, community)


@pytest.mark.parametrize(
    "selector",
    [
        {"device_kinds": ["water_level"]},  # a per-kind rule
        {},  # a rule with no selector: every device reporting the metric
        {"places": ["u1"]},  # a per-place rule
    ],
)
def test_the_engine_applies_a_communitys_rule_only_to_its_own_devices(selector):
    rule = parse_rule(
        {
            "id": "1",
            "name": "water",
            "kind": "threshold",
            "metric": "water_level_cm",
            "raise_at": 50,
            "grade": "orange",
            "community": "C1",
            **selector,
        }
    )
    engine = Engine([rule])
    assert engine.evaluate(_reading("C2-WL-1", "C2")) == []  # the neighbour's device: nothing
    assert engine.evaluate(_reading("C2-WL-1", "")) == []  # a device of no known community: nothing
    [raised] = engine.evaluate(_reading("WL-1", "C1"))
    assert isinstance(raised, Raised) and raised.subject == "WL-1"
    assert engine.open_subjects("1") == ["WL-1"]


def test_a_rule_without_community_still_applies_everywhere_and_keeps_its_fingerprint():
    spec = {"id": "1", "name": "w", "kind": "threshold", "metric": "water_level_cm", "raise_at": 50}
    rule = parse_rule({**spec, "grade": "red"})
    assert "community" not in rule_fingerprint(rule)  # checkpoints of such rules stay valid
    assert Engine([rule]).evaluate(_reading("X", "C2"))
    with_community = parse_rule({**spec, "grade": "red", "community": "C1"})
    assert rule_fingerprint(with_community)["community"] == "C1"
    with pytest.raises(Exception) as refused:
        parse_rule({**spec, "grade": "red", "community": ""})
    assert refused.value.field == "community"


def test_the_engines_memory_of_routes_tells_communities_apart():
    """The route cache is keyed by community too: a device code seen first in one community does not
    carry that community's rules to a reading tagged with another."""
    rules = [
        parse_rule({"id": "a", "name": "a", "kind": "threshold", "metric": "m", "raise_at": 1,
                    "grade": "red", "community": "C1", "device_kinds": ["k"]}),
        parse_rule({"id": "b", "name": "b", "kind": "threshold", "metric": "m", "raise_at": 1,
                    "grade": "red", "community": "C2", "device_kinds": ["k"]}),
    ]  # fmt: skip
    engine = Engine(rules)
    first = engine.evaluate(_reading("D", "C1", 5, 0, kind="k", metric="m"))
    second = engine.evaluate(_reading("D", "C2", 5, 1, kind="k", metric="m"))
    assert [e.rule_id for e in first] == ["a"] and [e.rule_id for e in second] == ["b"]


# --- the API -----------------------------------------------------------------------------------------

RULE = {"name": "Water", "kind": "threshold", "metric": "water_level_cm", "raise_at": 50, "grade": "orange"}


def test_a_rule_names_only_devices_of_its_own_community(api, outside, now):
    theirs = make_device(unit=outside["sibling"]["unit"], kind="water_level")
    ours = seeded_device("water_level")
    director = api("director")
    before = Rule.objects.count()
    for codes in ([theirs.code], [ours.code, theirs.code], ["NO-SUCH-DEVICE"]):
        response = director.post("rules", {**RULE, "device_codes": codes})
        assert response.status_code in (400, 422), response.data
        assert response.data["field"] == "device_codes"
        assert Rule.objects.count() == before  # nothing half-written
    # Missing and another community's answer alike: no oracle of other communities' codes.
    missing = director.post("rules", {**RULE, "device_codes": ["NO-SUCH-DEVICE"]}).data["detail"]
    other = director.post("rules", {**RULE, "device_codes": [theirs.code]}).data["detail"]
    assert missing.replace("NO-SUCH-DEVICE", "X") == other.replace(theirs.code, "X")

    created = director.post("rules", {**RULE, "device_codes": [ours.code]})
    assert created.status_code == 201, created.data
    rule_id = created.data["id"]
    patched = director.patch(f"rules/{rule_id}", {"device_codes": [ours.code, theirs.code]})
    assert patched.status_code in (400, 422) and patched.data["field"] == "device_codes"
    assert Rule.objects.get(pk=rule_id).params["device_codes"] == [ours.code]
    assert (
        director.patch(f"rules/{rule_id}", {"community": outside["sibling"]["community"].code}).status_code
        == 200
    )
    assert Rule.objects.get(pk=rule_id).community_id == ours.community_id  # a rule never moves community


def test_the_street_officer_may_not_cross_communities_either(api, outside, now):
    """A street officer reaches both communities, but each rule stays within the one it is for."""
    theirs = make_device(unit=outside["sibling"]["unit"], kind="water_level")
    ours = seeded_device("water_level")
    street = api("street01")
    response = street.post(
        "rules", {**RULE, "community": ours.community.code, "device_codes": [ours.code, theirs.code]}
    )
    assert response.status_code in (400, 422) and response.data["field"] == "device_codes"
    response = street.post(
        "rules", {**RULE, "community": outside["sibling"]["community"].code, "device_codes": [theirs.code]}
    )
    assert response.status_code == 201, response.data


# --- one ingest process for several communities ----------------------------------------------------


def test_an_unpartitioned_pipeline_never_fires_a_communitys_rule_on_a_neighbours_device(db, outside, now):
    Rule.objects.update(is_active=False)  # only this test's rule
    ours = seeded_device("water_level")
    theirs = make_device(unit=outside["sibling"]["unit"], kind="water_level")
    rule = make_rule(ours.community, device_kinds=["water_level"])  # per kind, no device codes
    pipeline = RulePipeline()  # every community, as `banyan ingest` without --community

    def feed(device, value, minutes):
        reading = ReadingIn("water_level_cm", value, NOW + dt.timedelta(minutes=minutes), seq=None)
        report = store_readings([(device, [reading])])
        return pipeline.process(report.new, report.ids)

    assert feed(theirs, 80, 1) == []
    assert not Alert.objects.filter(rule=rule).exists()
    [alert] = feed(ours, 80, 2)
    assert alert.subject == ours.code
    # An alert's community always matches its device's grid.
    for alert in Alert.objects.select_related("device__grid", "community").filter(device__isnull=False):
        assert alert.device.grid.parent_id == alert.community_id, alert.pk


def test_an_old_rule_naming_a_neighbours_device_raises_nothing_there(db, outside, now):
    """A rule stored before device codes were checked (or whose device moved): even if an event for it
    reached the alert writer, no alert is written whose community differs from its device's."""
    theirs = make_device(unit=outside["sibling"]["unit"], kind="water_level")
    rule = make_rule(device_codes=[theirs.code])
    assert rule.community_id != theirs.community_id
    assert services.apply_events([event("Raised", rule, theirs.code, value=80)]) == []
    assert not Alert.objects.filter(rule=rule).exists()
