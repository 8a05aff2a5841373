"""The plan's call-up (``call_up: {"hours": N}``): when an emergency is activated, the community's
volunteers (楼栋长, party members on call, the social organisations' volunteers — every active responder
with the volunteer role whose body serves the community) are put on duty for ``N`` hours, and told so.

A shift is made for each (a :class:`~banyan.emergency.models.CallUp` remembers it), so dispatch sees them
as it sees anyone on duty: the roll call's door-knocks (``wellness_check``, on foot) go to the nearest
grid worker *or volunteer*, and with a leader in each building the nearest is usually one floor away.
At the stand-down the shifts still running end then. Volunteers already on duty keep their own shift.
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext_lazy

from banyan.core.choices import Role
from banyan.emergency.models import CallUp, Emergency, Plan
from banyan.notify.choices import Urgency
from banyan.notify.services import notify
from banyan.response.models import Shift
from banyan.response.services import responders_serving

KIND = "emergency.call_up"
SUBJECT = gettext_lazy("You are called up: %(title)s")
BODY = gettext_lazy(
    "The community has activated its emergency plan (%(title)s). You are on duty for the next %(hours)s "
    "hours: tasks near you, such as knocking on a neighbour's door, come to your phone. Accept them if "
    "you can go, decline if you cannot."
)


def call_up(emergency: Emergency, plan: Plan, now: dt.datetime) -> int:
    """Put the community's volunteers on duty for the plan's ``call_up.hours`` from ``now`` (in the
    caller's transaction); returns how many. Nothing when the plan calls nobody up."""
    hours = (plan.body.get("call_up") or {}).get("hours")
    if not hours:
        return 0
    until = now + dt.timedelta(hours=hours)
    volunteers = list(
        responders_serving(emergency.community)
        .filter(user__role=Role.VOLUNTEER)
        .exclude(shifts__starts_at__lte=now, shifts__ends_at__gte=until)
        .order_by("pk")
    )
    shifts = Shift.objects.bulk_create([Shift(responder=r, starts_at=now, ends_at=until) for r in volunteers])
    if not shifts:
        return 0
    if shifts[0].pk is None:  # a database that does not return ids from a bulk insert
        shifts = list(Shift.objects.filter(responder__in=volunteers, starts_at=now, ends_at=until))
    CallUp.objects.bulk_create([CallUp(emergency=emergency, shift=shift) for shift in shifts])
    notify(
        [r.user for r in volunteers],
        KIND,
        SUBJECT,
        BODY,
        reference=("emergency", emergency.pk),
        urgency=Urgency.URGENT,
        params={"title": emergency.title, "hours": hours},
    )
    return len(shifts)


def release(emergency: Emergency, now: dt.datetime) -> int:
    """End the emergency's call-up shifts still running (at the stand-down); returns how many."""
    return Shift.objects.filter(pk__in=emergency.call_ups.values("shift_id"), ends_at__gt=now).update(
        ends_at=now
    )
