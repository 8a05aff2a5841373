"""Care pages: the resident's "I'm fine" button on the home page, a staff member's check-in for a
resident, and the list of plans missing or overdue with one click to make a plan from its template."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from banyan.care import services
from banyan.care.choices import Channel, Outcome
from banyan.care.forms import PlanForm, StaffCheckInForm
from banyan.care.models import CarePlan, Visit
from banyan.core.access import Action
from banyan.core.choices import Role
from banyan.core.errors import InvalidInput
from banyan.core.views import private, service_errors
from banyan.people.choices import CareKind
from banyan.people.models import AuthenticatedHttpRequest, User

RECENT = 10


def home_checkin(request: HttpRequest) -> dict | None:
    """The home page's "I'm fine" button, for a resident with a record of their own."""
    user = request.user
    resident = getattr(user, "resident", None)
    if getattr(user, "role", None) != Role.RESIDENT or resident is None:
        return None
    last = services.last_checkin_today(resident)
    local = timezone.localtime(last.at) if last else None
    return {
        "template": "care/_home_checkin.html",
        "top": True,  # above the home page's large buttons
        "last": last,
        "time": f"{local.hour}:{local.minute:02d}" if local else "",  # 9:05
        "need_help": last is not None and last.outcome == Outcome.NEED_HELP,
    }


def home_care_plans(request: HttpRequest) -> dict | None:
    """The staff home page's line on care plans missing or overdue, leading to their list."""
    user = request.user
    if not isinstance(user, User) or not services.may_change_plans(user):
        return None
    missing, overdue = services.plans_needing_attention(user, with_last=False)
    return {"template": "care/_home_plans.html", "missing": len(missing), "overdue": len(overdue)}


@login_required
@require_POST
@service_errors
def checkin_self(request: AuthenticatedHttpRequest):
    """The resident's tap: "I'm fine" today, recorded through the app; back to the home page."""
    user = request.user
    if user.role != Role.RESIDENT or not user.resident_id:
        raise DjangoPermissionDenied(_("Only a resident checks in for themselves here."))
    resident = services.get_resident_for(user, user.resident_id)
    if request.POST.get("outcome") != Outcome.FINE:
        messages.error(request, _("Press the button “I'm fine today” to check in."))
        return redirect("account:home")
    try:
        services.record_checkin(actor=user, resident=resident, outcome=Outcome.FINE, channel=Channel.APP)
    except InvalidInput as exc:
        messages.error(request, exc.message)
    return redirect("account:home")


def _staff_only(user) -> None:
    if user.role == Role.RESIDENT or not services.may_record_checkins(user):
        raise DjangoPermissionDenied(_("Your role cannot record check-ins."))


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def resident_checkin(request: AuthenticatedHttpRequest, pk: int):
    """A staff member or carer records a check-in for a resident in their scope, with who and how."""
    user = request.user
    _staff_only(user)
    resident = services.get_resident_for(user, pk)
    form = StaffCheckInForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            checkin = services.record_checkin(
                actor=user,
                resident=resident,
                outcome=form.cleaned_data["outcome"],
                channel=form.cleaned_data["channel"],
                note=form.cleaned_data["note"],
            )
        except InvalidInput as exc:
            form.add_service_error(exc)
        else:
            if checkin.incident_id:
                messages.warning(request, _("Check-in recorded. An incident was opened to send help."))
            else:
                messages.success(request, _("Check-in recorded."))
            return redirect("care:resident-checkin", resident.pk)
    plan = CarePlan.objects.restrict(user).filter(resident=resident).first()
    context = {
        "resident": resident,
        "form": form,
        "plan": plan,
        "may_change_plan": services.may_change_plans(user),
        "checkins": list(services.checkins_for(user, resident)[:RECENT]),
        "visits": list(
            Visit.objects.restrict(user)
            .filter(resident=resident)
            .defer("photo")
            .select_related("by")[:RECENT]
        ),
    }
    return private(render(request, "care/resident_checkin.html", context))


def _planners_only(user) -> None:
    if not services.may_change_plans(user):
        raise DjangoPermissionDenied(_("Your role cannot make care plans."))


@login_required
@require_http_methods(["GET"])
@service_errors
def attention(request: AuthenticatedHttpRequest):
    """Residents in care without a plan, and plans whose check-in today is overdue past its grace."""
    user = request.user
    _planners_only(user)
    missing, overdue = services.plans_needing_attention(user)
    return private(
        render(request, "care/attention.html", {"missing": missing, "overdue": overdue, "nav": "care"})
    )


@login_required
@require_POST
@service_errors
def plan_create(request: AuthenticatedHttpRequest, pk: int):
    """Make a resident's care plan from the template of their care kind."""
    user = request.user
    _planners_only(user)
    resident = services.get_resident_for(user, pk)
    care_kind = request.POST.get("care_kind", "")
    try:
        if care_kind not in CareKind.values:
            raise InvalidInput(_("Choose the template to start the plan from."), field="care_kind")
        services.create_plan(actor=user, resident=resident, care_kind=care_kind)
    except InvalidInput as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Care plan made from its template."))
    return redirect(reverse("care:attention"))


@login_required
@require_POST
@service_errors
def plan_create_all(request: AuthenticatedHttpRequest):
    """Make every missing plan in the caller's scope from its template, in one click. The form says how
    many it showed (``count``): when that is no longer how many are missing, nothing is made and the
    list is shown again."""
    user = request.user
    _planners_only(user)
    missing, _overdue = services.plans_needing_attention(user, with_last=False)
    if request.POST.get("count", "") != str(len(missing)):
        messages.error(
            request, _("The list of residents without a plan has changed: check it and try again.")
        )
        return redirect(reverse("care:attention"))
    made = services.create_missing_plans(actor=user)
    messages.success(
        request,
        ngettext(
            "%(count)d care plan made from its template.",
            "%(count)d care plans made from their templates.",
            made,
        )
        % {"count": made},
    )
    return redirect(reverse("care:attention"))


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def plan_edit(request: AuthenticatedHttpRequest, pk: int):
    """A care plan: its timing, channels and escalation, as its template set them and staff changed them."""
    user = request.user
    _planners_only(user)
    plan = services.get_plan_for(user, pk, Action.CHANGE_PEOPLE)
    initial = {name: getattr(plan, name) for name in services.PLAN_FIELDS}
    form = PlanForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_plan(actor=user, plan=plan, data=form.cleaned_data)
        except InvalidInput as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("Care plan saved."))
            return redirect("care:plan-edit", plan.pk)
    context = {"plan": plan, "resident": plan.resident, "form": form}
    return private(render(request, "care/plan_edit.html", context))
