"""How the processes join the apps: the pieces one app hands another at start-up.

``banyan ingest`` is where sensing meets warning (ADR 0005): each stored batch of readings goes
through the community's rules in the same transaction. Sensing knows only a ``rules_factory``;
this module gives it warning's :class:`~banyan.warning.pipeline.RulePipeline`.
"""

from __future__ import annotations

from banyan.places.choices import RegionKind
from banyan.places.models import Region
from banyan.warning.pipeline import RulePipeline


def rule_pipeline(community_code: str | None) -> RulePipeline:
    """The rules of ``community_code`` (all communities' when None) for one ingest writer."""
    community = Region.objects.get(kind=RegionKind.COMMUNITY, code=community_code) if community_code else None
    return RulePipeline(community)
