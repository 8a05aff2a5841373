"""Telling a resident's family carers when something happens to them.

The hook (stable; the missed-check-in escalation, the care app and the alert and incident paths call it)::

    from banyan.notify.carers import tell_carers

    tell_carers(resident, "checkin.missed", params={"time": "9:00"}, reference=("resident", resident.pk))

``event`` is one of :data:`EVENTS`: ``checkin.missed`` (no check-in by the end of the grace period),
``alert.raised`` (an alert at their home: a device serving them or in their unit; ``params["what"]``
names it) and ``incident.opened`` (an incident opened for them; ``params["number"]``). The carers told
are those of the resident's active care profiles registered with consent: a carer consent in force
(:mod:`banyan.people.carers`), or the resident's standing consent to share with named carers. A carer
who signs in is told on the channels of their preference (in-app first); one without an account by SMS
to their phone in the vault. Phones are never logged (see :mod:`banyan.notify.services`).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from banyan.notify.choices import Urgency
from banyan.notify.models import Message
from banyan.notify.services import Contact, notify
from banyan.people.carers import consented_carers
from banyan.people.models import Resident

# event → (subject, body); every text names the resident as %(name)s.
EVENTS: dict[str, tuple[Any, Any]] = {
    "checkin.missed": (
        _("%(name)s has not checked in today"),
        _("%(name)s did not check in by %(time)s. Please call them; the community has been told too."),
    ),
    "alert.raised": (
        _("An alert at %(name)s's home"),
        _("%(what)s at the home of %(name)s. The community has been told and is responding."),
    ),
    "incident.opened": (
        _("Help is on its way to %(name)s"),
        _("Incident %(number)s was opened for %(name)s; the community is responding."),
    ),
}
DEFAULT_PARAMS = {"time": "", "what": _("An alert"), "number": ""}


def tell_carers(
    resident: Resident,
    event: str,
    *,
    params: dict[str, Any] | None = None,
    reference: tuple[str, Any] | None = None,
    skip=None,
) -> list[Message]:
    """Tell ``resident``'s consenting carers about ``event`` (urgent) — all but ``skip``, the account
    that acted, if one of them did; returns the messages written, in the caller's transaction (nothing
    is sent if it rolls back)."""
    if event not in EVENTS:
        raise ValueError(f"unknown carer event {event!r}: one of {', '.join(EVENTS)}")
    recipients: list = []
    for carer in consented_carers(resident):
        if carer.user is not None:
            if carer.user.is_active and (skip is None or carer.user.pk != skip.pk):
                recipients.append(carer.user)
        elif carer.phone:
            recipients.append(Contact(phone=carer.phone))
    if not recipients:
        return []
    subject, body = EVENTS[event]
    return notify(
        recipients,
        f"carer.{event}",
        subject,
        body,
        params={**DEFAULT_PARAMS, **(params or {}), "name": resident.name},
        reference=reference or ("resident", resident.pk),
        urgency=Urgency.URGENT,
    )
