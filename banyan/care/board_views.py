"""The care board (``/care/today/``): today's check-ins of the vulnerable residents in the caller's scope,
the share confirmed well per grid, and the overdue list with one click to send someone."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from banyan.care import services
from banyan.care.board import STATES, care_board
from banyan.care.visits import may_send_someone, send_someone
from banyan.core.access import Action
from banyan.core.errors import InvalidInput
from banyan.core.views import private, service_errors
from banyan.people.models import AuthenticatedHttpRequest
from banyan.places.models import Region

STATE_LABELS = {
    "visiting": gettext_lazy("Someone is on the way"),
    "overdue": gettext_lazy("Overdue"),
    "need_help": gettext_lazy("Said they need help"),
    "waiting": gettext_lazy("Not yet due"),
    "confirmed": gettext_lazy("Confirmed well"),
}


def _board_only(user) -> None:
    if not may_send_someone(user):
        raise DjangoPermissionDenied(_("Your role cannot see the care board."))


@login_required
@require_GET
@service_errors
def board(request: AuthenticatedHttpRequest):
    """Today's care: the shares per grid, those overdue first ("send someone"), then everyone."""
    user = request.user
    _board_only(user)
    grids = Region.objects.restrict(user, Action.VIEW_PEOPLE).filter(kind="grid").order_by("code")
    grid = None
    code = request.GET.get("grid", "")
    if code:
        grid = grids.filter(code=code).first()
        if grid is None:
            messages.error(request, _("That grid is not in your area: showing all of them."))
    state = request.GET.get("state", "")
    today = care_board(user, grid=grid)
    rows = [row for row in today.rows if row.state == state] if state in STATES else today.rows
    context = {
        "board": today,
        "rows": rows,
        "grid": grid,
        "state": state if state in STATES else "",
        "states": [(key, str(STATE_LABELS[key]), today.count(key)) for key in STATES],
        "nav": "care",
    }
    return private(render(request, "care/board.html", context))


@login_required
@require_POST
@service_errors
def send(request: AuthenticatedHttpRequest, pk: int):
    """ "Send someone": a wellness visit for the resident now, dispatched on foot; back to the board."""
    user = request.user
    _board_only(user)
    resident = services.get_resident_for(user, pk)
    try:
        follow_up = send_someone(actor=user, resident=resident)
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        incident = follow_up.incident
        assignee = incident.assignee if incident is not None else None
        if assignee is not None:
            messages.success(
                request,
                _("Sent: %(name)s is on the way (incident %(number)s).")
                % {"name": assignee.display_name, "number": follow_up.incident_id},
            )
        else:
            messages.warning(
                request,
                _("Incident %(number)s opened: nobody could be assigned yet; it will escalate.")
                % {"number": follow_up.incident_id},
            )
    back = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()})
    if not safe or not back.startswith("/"):
        back = reverse("care:board")
    return redirect(back)
