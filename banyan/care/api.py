"""Check-ins over the API: ``POST /care/checkins`` and ``GET /care/checkins?resident=ID``."""

from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from banyan.care import services
from banyan.care.schemas import CheckInFilter, CheckInIn, CheckInList, CheckInOut
from banyan.core.access import Action
from banyan.core.api import ErrorOut, page, require
from banyan.core.errors import PermissionDenied
from banyan.people.models import AuthenticatedHttpRequest

router = Router(tags=["care"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut}


@router.get("/care/checkins", response={200: CheckInList, **ERRORS})
def list_checkins(request: AuthenticatedHttpRequest, filters: Query[CheckInFilter]):
    """Check-ins of residents in your scope, newest first (roles that may see care only)."""
    require(request.user, Action.VIEW_PEOPLE)
    resident = None
    if filters.resident is not None:
        resident = services.get_resident_for(request.user, filters.resident)
    count, items = page(services.checkins_for(request.user, resident), filters.limit, filters.offset)
    return {"count": count, "items": items}


@router.post("/care/checkins", response={201: CheckInOut, **ERRORS})
def create_checkin(request: AuthenticatedHttpRequest, payload: CheckInIn):
    """Record a check-in: a resident for themselves (channel ``app``); staff or a carer for a resident in
    their scope (``staff``, ``carer``, ``sms``, ``voice``), recorded as the one who acted; a family carer
    whose consent names check_in, for the one they look after (``carer``; both people recorded). ``need_help``
    opens a wellness-check incident at once."""
    require(request.user, Action.VIEW_PEOPLE)
    if not services.may_record_checkins(request.user):
        raise PermissionDenied(_("Your role cannot record check-ins."))
    resident = services.get_resident_for_checkin(request.user, payload.resident)
    checkin = services.record_checkin(
        actor=request.user,
        resident=resident,
        outcome=payload.outcome,
        channel=payload.channel,
        note=payload.note,
    )
    return Status(201, checkin)
