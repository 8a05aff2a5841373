"""The rule engine: plain Python, no Django, so it can be tested and benchmarked alone.

``parse_rule`` turns a stored rule dict into a frozen rule; ``Engine(rules)`` evaluates readings
(``evaluate``) and the passing of time (``tick``) into ``Raised`` / ``Updated`` / ``Cleared`` events,
and checkpoints its state per rule × subject. See ``docs/adr/0005-rule-engine.md``.
"""

from .engine import CHECKPOINT_VERSION, Cleared, Engine, Event, Raised, Reading, Updated
from .rules import (
    GRADES,
    RULE_KINDS,
    CompositeRule,
    Condition,
    CountWindowRule,
    CrowdDensityRule,
    Grade,
    NoDataRule,
    OfflineRule,
    RateOfChangeRule,
    Rule,
    RuleError,
    SustainedRule,
    ThresholdRule,
    cap_severity,
    parse_rule,
    rule_fingerprint,
)

__all__ = [
    "CHECKPOINT_VERSION",
    "GRADES",
    "RULE_KINDS",
    "Cleared",
    "CompositeRule",
    "Condition",
    "CountWindowRule",
    "CrowdDensityRule",
    "Engine",
    "Event",
    "Grade",
    "NoDataRule",
    "OfflineRule",
    "Raised",
    "RateOfChangeRule",
    "Reading",
    "Rule",
    "RuleError",
    "SustainedRule",
    "ThresholdRule",
    "Updated",
    "cap_severity",
    "parse_rule",
    "rule_fingerprint",
]
