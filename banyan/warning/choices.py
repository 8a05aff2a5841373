from django.db import models
from django.db.models import Case, IntegerField, Value, When
from django.utils.translation import gettext_lazy as _

from banyan.warning.engine import GRADES, RULE_KINDS
from banyan.warning.engine import Grade as Level

# China's four warning colours (Emergency Response Law Art. 63), defined once: their order is the
# engine's ``Grade`` (blue IV < yellow III < orange II < red I); this module gives them their labels,
# the database choices, the API pattern, the ranking for ordering querysets and the list served to
# the pages' scripts (worst first).
_LABELS = {
    Level.BLUE: _("Blue (level IV)"),
    Level.YELLOW: _("Yellow (level III)"),
    Level.ORANGE: _("Orange (level II)"),
    Level.RED: _("Red (level I)"),
}
# django-stubs types only the class form of TextChoices, not the functional one used here and below.
Grade = models.TextChoices(  # type: ignore[call-overload]
    "Grade", [(level.name, (level.code, _LABELS[level])) for level in Level]
)
Grade.__doc__ = "A warning grade as stored and spoken: ``blue`` … ``red`` with its label."

GRADES_WORST_FIRST: tuple[str, ...] = tuple(level.code for level in sorted(Level, reverse=True))
GRADE_PATTERN = "^(" + "|".join(level.code for level in Level) + ")$"
URGENT_GRADES = frozenset(level.code for level in Level if level >= Level.ORANGE)


def severity(grade: str) -> int:
    """1 for blue … 4 for red; 0 for anything else (an unknown grade sorts last)."""
    level = GRADES.get(grade)
    return int(level) if level is not None else 0


def severity_expression(field: str = "grade") -> Case:
    """The same severity in SQL (4 for red … 1 for blue, 0 otherwise), to order a queryset worst
    first: ``.annotate(severity=severity_expression()).order_by("-severity")``."""
    return Case(
        *(When(**{field: level.code}, then=Value(int(level))) for level in Level),
        default=Value(0),
        output_field=IntegerField(),
    )


RuleKind = models.TextChoices("RuleKind", [(kind.upper(), kind) for kind in RULE_KINDS])  # type: ignore[call-overload]


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")
    CLEARED = "cleared", _("Cleared automatically")


# An alert is active (the one per rule × subject) while open or acknowledged.
ACTIVE_STATUSES = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)
