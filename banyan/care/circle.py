"""The carer circle's part in care: the family carers of a resident are told when an alert is raised at
their home — a device serving them, or one in their unit (:func:`tell_carers_of_alerts`, a sweep the
worker may run each round; idempotent: an alert's carers are told once) — and when an incident is opened
for them (a check-in's "need help": :func:`banyan.care.services.record_checkin`). Who is told, and
how, is :func:`banyan.notify.carers.tell_carers`."""

from __future__ import annotations

import datetime as dt

from banyan.core import clock
from banyan.notify.carers import tell_carers
from banyan.notify.models import Message
from banyan.people.models import Resident
from banyan.warning.choices import ACTIVE_STATUSES
from banyan.warning.models import Alert

KIND = "carer.alert.raised"
# Alerts raised this long ago or less are looked at by the sweep (older ones were handled or are stale).
RECENT = dt.timedelta(minutes=30)


def home_residents(alert: Alert) -> list[Resident]:
    """The residents in care at the home of ``alert``'s device: the one it serves, else those of its unit."""
    device = alert.device
    if device is None:
        return []
    residents = Resident.objects.filter(care_profiles__is_active=True).distinct()
    if device.resident_id is not None:
        return list(residents.filter(pk=device.resident_id))
    if device.unit_id is not None:
        return list(residents.filter(household__unit_id=device.unit_id).order_by("id"))
    return []


def tell_carers_of_alert(alert: Alert) -> list[Message]:
    """Tell the carers of the residents at the alert's home, once per alert."""
    if Message.objects.filter(kind=KIND, subject_type="alert", subject_id=str(alert.pk)).exists():
        return []
    messages: list[Message] = []
    for resident in home_residents(alert):
        messages += tell_carers(
            resident, "alert.raised", params={"what": alert.rule.name}, reference=("alert", alert.pk)
        )
    return messages


def tell_carers_of_alerts(now: dt.datetime | None = None) -> int:
    """The sweep: the carers of residents at the homes of active alerts raised lately are told (each
    alert once). Returns how many messages were written."""
    now = now or clock.now()
    recent = (
        Alert.objects.filter(status__in=ACTIVE_STATUSES, raised_at__gte=now - RECENT, device__isnull=False)
        .exclude(device__resident__isnull=True, device__unit__isnull=True)
        .select_related("rule", "device")
        .order_by("id")
    )
    alerts = list(recent)
    told = set(
        Message.objects.filter(
            kind=KIND, subject_type="alert", subject_id__in=[str(alert.pk) for alert in alerts]
        ).values_list("subject_id", flat=True)
    )
    return sum(len(tell_carers_of_alert(alert)) for alert in alerts if str(alert.pk) not in told)
