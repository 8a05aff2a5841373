"""The synthetic community: a pure planner (``plan_community``) and a bulk writer (``write_plan``)."""

from banyan.sim.seed.plan import CommunityPlan
from banyan.sim.seed.planner import plan_community

__all__ = ["CommunityPlan", "plan_community"]
