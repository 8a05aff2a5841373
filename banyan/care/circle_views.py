"""The carer's side of the circle: "the people I look after" on their home page, each with their last
check-in and a button to check in for them (within a consent naming check_in)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest
from django.shortcuts import redirect
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from banyan.care import services
from banyan.care.choices import Channel, Outcome
from banyan.care.models import CheckIn
from banyan.core import clock
from banyan.core.errors import InvalidInput
from banyan.core.views import service_errors
from banyan.people import carers
from banyan.people.choices import ProxyScope
from banyan.people.models import AuthenticatedHttpRequest, User


def _when(checkin: CheckIn | None) -> str:
    if checkin is None:
        return ""
    local = timezone.localtime(checkin.at)
    clock_time = f"{local.hour}:{local.minute:02d}"
    if local.date() == timezone.localtime(clock.now()).date():
        return _("today at %(time)s") % {"time": clock_time}
    return f"{formats.date_format(local, 'SHORT_DATE_FORMAT')} {clock_time}"


def home_cared_for(request: HttpRequest) -> dict | None:
    """The home page's "The people I look after", for an account with a carer consent in force."""
    user = request.user
    if not isinstance(user, User):
        return None
    people = []
    for resident in carers.residents_cared_for(user):
        last = CheckIn.objects.filter(resident=resident).order_by("-at", "-id").first()
        people.append(
            {
                "resident": resident,
                "last": last,
                "when": _when(last),
                "need_help": last is not None and last.outcome == Outcome.NEED_HELP,
                "may_check_in": ProxyScope.CHECK_IN in carers.proxy_scope(user, resident),
                "her": resident.sex == "F",
            }
        )
    if not people:
        return None
    return {"template": "care/_home_cared_for.html", "people": people}


@login_required
@require_POST
@service_errors
def proxy_checkin(request: AuthenticatedHttpRequest, pk: int):
    """A carer's tap: the one they look after is fine, recorded as a carer's check-in for them."""
    user = request.user
    resident = carers.get_proxied_resident(user, pk, ProxyScope.CHECK_IN)
    if request.POST.get("outcome") != Outcome.FINE:
        messages.error(request, _("Press the button to check in for them."))
        return redirect("account:home")
    try:
        services.record_checkin(actor=user, resident=resident, outcome=Outcome.FINE, channel=Channel.CARER)
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Checked in for %(name)s.") % {"name": resident.name})
    return redirect("account:home")
