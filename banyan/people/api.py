from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from banyan.core.access import Action
from banyan.core.api import ErrorOut, page, require
from banyan.core.errors import InvalidInput
from banyan.core.schemas import PageQuery
from banyan.people import rights, services, throttles
from banyan.people.caching import no_store
from banyan.people.models import CareProfile, Household, Organisation, Resident, Vehicle
from banyan.people.pdf import render_own_data
from banyan.people.schemas import (
    CareProfileFilter,
    CareProfileIn,
    CareProfileList,
    CareProfileOut,
    CareProfilePatch,
    ConsentIn,
    ConsentOut,
    CorrectionFilter,
    CorrectionIn,
    CorrectionList,
    CorrectionOut,
    CorrectionRejectIn,
    HouseholdFilter,
    HouseholdIn,
    HouseholdList,
    HouseholdOut,
    HouseholdPatch,
    LookupIn,
    OrganisationList,
    OwnExportIn,
    OwnRevealIn,
    RateLimitedOut,
    ResidentFilter,
    ResidentIn,
    ResidentList,
    ResidentOut,
    ResidentPatch,
    RevealIn,
    VehicleFilter,
    VehicleList,
)
from banyan.places.models import Region
from banyan.places.services import get_unit_for

router = Router(tags=["people"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut}


def _residents(user, action=Action.VIEW_PEOPLE):
    return (
        Resident.objects.restrict(user, action)
        .select_related("household__grid", "household__unit__building")
        .prefetch_related(
            Prefetch(
                "care_profiles", queryset=CareProfile.objects.only("id", "kind", "is_active", "resident_id")
            )
        )
    )


@router.get("/residents", response={200: ResidentList, **ERRORS})
def list_residents(request: HttpRequest, filters: Query[ResidentFilter]):
    """Residents in your scope, personal fields masked."""
    require(request.user, Action.VIEW_PEOPLE)
    residents = _residents(request.user)
    if filters.grid:
        residents = residents.filter(household__grid__code=filters.grid)
    if filters.building:
        residents = residents.filter(household__unit__building__code=filters.building)
    if filters.household is not None:
        residents = residents.filter(household_id=filters.household)
    if filters.tag:
        residents = (
            residents.filter(tags__contains=filters.tag)
            if _json_contains()
            else residents.filter(tags__icontains=f'"{filters.tag}"')
        )
    if filters.care:
        residents = residents.filter(
            care_profiles__kind=filters.care, care_profiles__is_active=True
        ).distinct()
    if filters.living_alone is not None:
        residents = residents.filter(is_living_alone=filters.living_alone)
    count, items = page(residents.order_by("id"), filters.limit, filters.offset)
    return {"count": count, "items": items}


def _json_contains() -> bool:
    from django.db import connection

    return connection.features.supports_json_field_contains


@router.post("/residents/lookup", response={200: ResidentList, 429: RateLimitedOut, **ERRORS})
def lookup_residents(request: HttpRequest, payload: LookupIn, response: HttpResponse):
    """Exact lookup by ID number or phone through the blind index (values in the body, never the URL).

    Only roles that may reveal the field looked up (else 403); staff state a ``purpose``; each
    account may look up 10 times a minute and 100 times a day (429 with ``Retry-After``); every
    lookup is audited with the field, the purpose and the number of matches, never the value.
    """
    require(request.user, Action.VIEW_PEOPLE)
    if payload.id_number:
        field, value = "id_number", payload.id_number
    elif payload.phone:
        field, value = "phone", payload.phone
    else:
        raise InvalidInput(_("Give id_number or phone."), field="id_number")
    services.check_lookup_allowed(request.user, field)
    limited = throttles.check_lookup_rate(request)
    if limited is not None:
        response["Retry-After"] = str(limited.retry_after)
        return Status(429, limited.body())
    found = services.lookup_residents(actor=request.user, field=field, value=value, purpose=payload.purpose)
    items = list(_residents(request.user).filter(pk__in=[r.pk for r in found]).order_by("id"))
    return {"count": len(items), "items": items}


@router.get("/residents/{int:resident_id}", response={200: ResidentOut, **ERRORS})
def get_resident(request: HttpRequest, resident_id: int):
    require(request.user, Action.VIEW_PEOPLE)
    resident = _residents(request.user).filter(pk=resident_id).first()
    if resident is None:
        return services.get_resident_for(request.user, resident_id)  # raises the standard 404
    return resident


@router.post("/residents", response={201: ResidentOut, **ERRORS})
def create_resident(request: HttpRequest, payload: ResidentIn):
    require(request.user, Action.CHANGE_PEOPLE)
    household = services.get_household_for(request.user, payload.household, Action.CHANGE_PEOPLE)
    data = payload.dict(exclude={"household"})
    resident = services.create_resident(actor=request.user, household=household, data=data)
    return Status(201, _residents(request.user).get(pk=resident.pk))


@router.patch("/residents/{int:resident_id}", response={200: ResidentOut, **ERRORS})
def update_resident(request: HttpRequest, resident_id: int, payload: ResidentPatch):
    require(request.user, Action.CHANGE_PEOPLE)
    resident = services.get_resident_for(request.user, resident_id, Action.CHANGE_PEOPLE)
    data = payload.dict(exclude_unset=True)
    if "household" in data:
        data["household_id"] = data.pop("household")
    services.update_resident(actor=request.user, resident=resident, data=data)
    return _residents(request.user).get(pk=resident.pk)


@router.post("/residents/{int:resident_id}/reveal", response={200: dict, **ERRORS})
def reveal_resident(request: HttpRequest, resident_id: int, payload: RevealIn, response: HttpResponse):
    """Clear values of the named fields, for a stated purpose; one audit entry per field.

    The answer is never stored by a browser or proxy (``Cache-Control: no-store``, ``Pragma: no-cache``).
    """
    no_store(response)
    resident = services.get_resident_for(request.user, resident_id)
    return services.reveal_resident(
        actor=request.user, resident=resident, fields=payload.fields, purpose=payload.purpose
    )


@router.get("/residents/{int:resident_id}/consents", response={200: list[ConsentOut], **ERRORS})
def list_consents(request: HttpRequest, resident_id: int):
    resident = services.get_resident_for(request.user, resident_id)
    return list(resident.consents.all())


@router.post("/residents/{int:resident_id}/consents", response={201: ConsentOut, **ERRORS})
def record_consent(request: HttpRequest, resident_id: int, payload: ConsentIn):
    require(request.user, Action.CHANGE_PEOPLE)
    resident = services.get_resident_for(request.user, resident_id, Action.CHANGE_PEOPLE)
    consent = services.record_consent(
        actor=request.user, resident=resident, scope=payload.scope, given_by=payload.given_by
    )
    return Status(201, consent)


@router.post(
    "/residents/{int:resident_id}/consents/{int:consent_id}/withdraw", response={200: ConsentOut, **ERRORS}
)
def withdraw_consent(request: HttpRequest, resident_id: int, consent_id: int):
    """Withdraw a consent; withdrawing health-data consent erases the stored care details."""
    consent = services.get_consent_for(request.user, resident_id, consent_id)
    return services.withdraw_consent(actor=request.user, consent=consent)


def _households(user, action=Action.VIEW_PEOPLE):
    # A subquery, not Count("members"): restrict() may itself filter on members.
    members = Resident.objects.filter(household=OuterRef("pk")).order_by().values("household")
    return (
        Household.objects.restrict(user, action)
        .select_related("grid", "unit__building")
        .annotate(member_count=Coalesce(Subquery(members.annotate(n=Count("id")).values("n")), 0))
    )


@router.get("/households", response={200: HouseholdList, **ERRORS})
def list_households(request: HttpRequest, filters: Query[HouseholdFilter]):
    require(request.user, Action.VIEW_PEOPLE)
    households = _households(request.user)
    if filters.grid:
        households = households.filter(grid__code=filters.grid)
    if filters.building:
        households = households.filter(unit__building__code=filters.building)
    if filters.unit is not None:
        households = households.filter(unit_id=filters.unit)
    count, items = page(households.order_by("code"), filters.limit, filters.offset)
    return {"count": count, "items": items}


@router.get("/households/{int:household_id}", response={200: HouseholdOut, **ERRORS})
def get_household(request: HttpRequest, household_id: int):
    require(request.user, Action.VIEW_PEOPLE)
    household = _households(request.user).filter(pk=household_id).first()
    return household or services.get_household_for(request.user, household_id)


@router.patch("/households/{int:household_id}", response={200: HouseholdOut, **ERRORS})
def update_household(request: HttpRequest, household_id: int, payload: HouseholdPatch):
    require(request.user, Action.CHANGE_PEOPLE)
    household = services.get_household_for(request.user, household_id, Action.CHANGE_PEOPLE)
    unit = get_unit_for(request.user, payload.unit) if payload.unit is not None else None
    services.update_household(
        actor=request.user, household=household, unit=unit, is_owner_occupied=payload.is_owner_occupied
    )
    return _households(request.user).get(pk=household.pk)


@router.post("/households", response={201: HouseholdOut, **ERRORS})
def create_household(request: HttpRequest, payload: HouseholdIn):
    require(request.user, Action.CHANGE_PEOPLE)
    unit = get_unit_for(request.user, payload.unit)
    household = services.create_household(
        actor=request.user, unit=unit, code=payload.code, is_owner_occupied=payload.is_owner_occupied
    )
    return Status(201, _households(request.user).get(pk=household.pk))


def _care_profiles(user, action=Action.VIEW_PEOPLE):
    return CareProfile.objects.restrict(user, action).select_related("resident").prefetch_related("carers")


@router.get("/care-profiles", response={200: CareProfileList, **ERRORS})
def list_care_profiles(request: HttpRequest, filters: Query[CareProfileFilter]):
    require(request.user, Action.VIEW_PEOPLE)
    profiles = _care_profiles(request.user)
    if filters.resident is not None:
        profiles = profiles.filter(resident_id=filters.resident)
    if filters.kind:
        profiles = profiles.filter(kind=filters.kind)
    if filters.grid:
        profiles = profiles.filter(resident__household__grid__code=filters.grid)
    count, items = page(profiles.order_by("id"), filters.limit, filters.offset)
    return {"count": count, "items": items}


@router.get("/care-profiles/{int:profile_id}", response={200: CareProfileOut, **ERRORS})
def get_care_profile(request: HttpRequest, profile_id: int):
    require(request.user, Action.VIEW_PEOPLE)
    profile = _care_profiles(request.user).filter(pk=profile_id).first()
    return profile or services.get_care_profile_for(request.user, profile_id)


@router.post("/care-profiles", response={201: CareProfileOut, **ERRORS})
def create_care_profile(request: HttpRequest, payload: CareProfileIn):
    require(request.user, Action.CHANGE_PEOPLE)
    resident = services.get_resident_for(request.user, payload.resident, Action.CHANGE_PEOPLE)
    data = payload.dict(exclude={"resident"})
    profile = services.create_care_profile(actor=request.user, resident=resident, data=data)
    return Status(201, _care_profiles(request.user).get(pk=profile.pk))


@router.patch("/care-profiles/{int:profile_id}", response={200: CareProfileOut, **ERRORS})
def update_care_profile(request: HttpRequest, profile_id: int, payload: CareProfilePatch):
    require(request.user, Action.CHANGE_PEOPLE)
    profile = services.get_care_profile_for(request.user, profile_id, Action.CHANGE_PEOPLE)
    services.update_care_profile(actor=request.user, profile=profile, data=payload.dict(exclude_unset=True))
    return _care_profiles(request.user).get(pk=profile.pk)


@router.get("/organisations", response={200: OrganisationList, **ERRORS})
def list_organisations(request: HttpRequest, filters: Query[PageQuery]):
    """Bodies serving regions in your scope or above it."""
    require(request.user, Action.VIEW_PLACES)

    visible = Region.objects.restrict(request.user)
    user = request.user
    condition = Q(regions__in=visible)
    if user.region_id:
        condition |= Q(regions__path__in=user.region.ancestor_paths(include_self=True))
    organisations = (
        Organisation.objects.filter(condition).distinct().prefetch_related("regions", "memberships__user")
    )
    count, items = page(organisations.order_by("code"), filters.limit, filters.offset)
    return {"count": count, "items": items}


@router.get("/vehicles", response={200: VehicleList, **ERRORS})
def list_vehicles(request: HttpRequest, filters: Query[VehicleFilter]):
    require(request.user, Action.VIEW_PEOPLE)
    vehicles = Vehicle.objects.restrict(request.user)
    if filters.grid:
        vehicles = vehicles.filter(household__grid__code=filters.grid)
    if filters.building:
        vehicles = vehicles.filter(household__unit__building__code=filters.building)
    if filters.household is not None:
        vehicles = vehicles.filter(household_id=filters.household)
    count, items = page(vehicles.order_by("id"), filters.limit, filters.offset)
    return {"count": count, "items": items}


# --- residents' own rights (PIPL Art. 44–47) ----------------------------------------------------


@router.get("/me/data", response={200: dict, **ERRORS}, tags=["my data"])
def my_data(request: HttpRequest):
    """What Banyan holds about the signed-in person (masked), and who viewed it and why."""
    return rights.held_about(request.user)


@router.post("/me/data/reveal", response={200: dict, **ERRORS}, tags=["my data"])
def reveal_my_data(request: HttpRequest, payload: OwnRevealIn, response: HttpResponse):
    """Clear values of one's own fields (audited as a reveal); never stored by a cache."""
    no_store(response)
    return rights.reveal_own(actor=request.user, fields=payload.fields)


@router.post("/me/data/export", response={200: dict, **ERRORS}, tags=["my data"])
def export_my_data(request: HttpRequest, payload: OwnExportIn, response: HttpResponse):
    """A copy of everything held about me, in clear: JSON, or ``{"format": "pdf"}`` for a PDF file."""
    export = rights.export_own_data(actor=request.user, file_format=payload.format)
    if payload.format == "pdf":
        return no_store(pdf_response(export))
    no_store(response)
    return export.data


def pdf_response(export) -> HttpResponse:
    answer = HttpResponse(render_own_data(export.data), content_type="application/pdf")
    answer["Content-Disposition"] = 'attachment; filename="banyan-my-data.pdf"'
    return answer


@router.get("/me/corrections", response={200: CorrectionList, **ERRORS}, tags=["my data"])
def list_my_corrections(request: HttpRequest, response: HttpResponse):
    resident = rights.get_own_resident(request.user)
    no_store(response)
    items = [
        rights.correction_summary(c) for c in resident.correction_requests.order_by("-requested_at", "-id")
    ]
    return {"count": len(items), "items": items}


@router.post("/me/corrections", response={201: CorrectionOut, **ERRORS}, tags=["my data"])
def request_my_correction(request: HttpRequest, payload: CorrectionIn, response: HttpResponse):
    """Ask for a correction of one's own registry entry: the field, what it should be, a note."""
    correction = rights.request_correction(
        actor=request.user, field=payload.field, proposed_value=payload.proposed_value, note=payload.note
    )
    no_store(response)
    return Status(201, rights.correction_summary(correction))


@router.get("/corrections", response={200: CorrectionList, **ERRORS}, tags=["my data"])
def list_corrections(request: HttpRequest, filters: Query[CorrectionFilter], response: HttpResponse):
    """The queue: correction requests of residents in scope (staff who may change people)."""
    require(request.user, Action.CHANGE_PEOPLE)
    no_store(response)
    count, items = page(rights.corrections_for(request.user, filters.status), filters.limit, filters.offset)
    return {"count": count, "items": [rights.correction_summary(c) for c in items]}


@router.get("/corrections/{int:correction_id}", response={200: CorrectionOut, **ERRORS}, tags=["my data"])
def get_correction(request: HttpRequest, correction_id: int, response: HttpResponse):
    no_store(response)
    return rights.correction_summary(rights.get_correction_for(request.user, correction_id))


@router.post(
    "/corrections/{int:correction_id}/accept",
    response={200: CorrectionOut, 409: ErrorOut, **ERRORS},
    tags=["my data"],
)
def accept_correction(request: HttpRequest, correction_id: int, response: HttpResponse):
    """Accept: the registry entry takes the proposed value (audited); a request answered already → 409."""
    require(request.user, Action.CHANGE_PEOPLE)
    correction = rights.get_correction_for(request.user, correction_id, Action.CHANGE_PEOPLE)
    no_store(response)
    return rights.correction_summary(rights.accept_correction(actor=request.user, correction=correction))


@router.post(
    "/corrections/{int:correction_id}/reject",
    response={200: CorrectionOut, 409: ErrorOut, **ERRORS},
    tags=["my data"],
)
def reject_correction(
    request: HttpRequest, correction_id: int, payload: CorrectionRejectIn, response: HttpResponse
):
    """Reject with a reason the resident reads."""
    require(request.user, Action.CHANGE_PEOPLE)
    correction = rights.get_correction_for(request.user, correction_id, Action.CHANGE_PEOPLE)
    no_store(response)
    return rights.correction_summary(
        rights.reject_correction(actor=request.user, correction=correction, reason=payload.reason)
    )
