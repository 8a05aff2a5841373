"""How the processes join the apps: the pieces one app hands another at start-up.

``banyan ingest`` is where sensing meets warning (ADR 0005): each stored batch of readings goes
through the community's rules in the same transaction. Sensing knows only a ``rules_factory``;
this module gives it warning's :class:`~banyan.warning.pipeline.RulePipeline`, told which devices
serve a resident who withdrew care-monitoring consent (:mod:`banyan.sensing.consent`): no rule
fires for those, not even the time-driven ones (offline, no data, inactivity) their silence would.
"""

from __future__ import annotations

from banyan.places.choices import RegionKind
from banyan.places.models import Region
from banyan.sensing.consent import ConsentGate
from banyan.warning.pipeline import RulePipeline


class ConsentAwarePipeline(RulePipeline):
    """A rule pipeline that writes no event about a device whose resident withdrew consent."""

    gate: ConsentGate | None = None

    def bind_consent(self, gate: ConsentGate) -> None:
        self.gate = gate

    def _commit(self, events: list, *, save_state: bool = False):
        if self.gate is not None and self.gate.blocked_codes and events:
            blocked = self.gate.blocked_codes
            events = [event for event in events if event.subject not in blocked]
        return super()._commit(events, save_state=save_state)


def rule_pipeline(community_code: str | None) -> RulePipeline:
    """The rules of ``community_code`` (all communities' when None) for one ingest writer."""
    community = Region.objects.get(kind=RegionKind.COMMUNITY, code=community_code) if community_code else None
    return ConsentAwarePipeline(community)
