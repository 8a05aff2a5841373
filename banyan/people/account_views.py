"""The account's pages: signing in (password, then the second factor), recovery codes, and home."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import get_language, gettext
from django.views.decorators.http import require_http_methods, require_POST

from banyan.audit.actions import AuditAction
from banyan.audit.services import record_one
from banyan.core.choices import Role
from banyan.core.context_processors import is_elder_mode
from banyan.core.views import private
from banyan.people import login as login_services
from banyan.people import otp, stepup
from banyan.people.account_forms import OtpCodeForm, RecoveryCodeForm
from banyan.people.models import may_see_care
from banyan.people.services import community_overview
from banyan.places.choices import RegionKind
from banyan.places.models import Region


class LoginView(auth_views.LoginView):
    """The password. Throttling and lockout are django-axes' (``banyan.people.login``); a session that
    needs a second factor is then sent to it by ``banyan.people.otp.SecondFactorMiddleware``."""

    template_name = "account/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        login_services.record_sign_in(self.request, form.get_user())
        return response


def _next_url(request, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or default
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return default
    return target


@login_required
@require_http_methods(["GET", "POST"])
def otp_verify(request):
    """Enter the 6-digit code (or a recovery code): after the password, and again for a step-up."""
    user = request.user
    next_url = _next_url(request)
    if not otp.has_device(user):
        return HttpResponseRedirect(f"{reverse('account:otp-setup')}?{urlencode({'next': next_url})}")
    step_up = otp.is_verified(request)
    code_form, recovery_form, throttled = OtpCodeForm(), RecoveryCodeForm(), False
    if request.method == "POST":
        use_recovery = "recovery_code" in request.POST
        form = RecoveryCodeForm(request.POST) if use_recovery else OtpCodeForm(request.POST)
        if use_recovery:
            recovery_form = form
        else:
            code_form = form
        if form.is_valid():
            token = form.cleaned_data["recovery_code" if use_recovery else "code"]
            throttled = otp.throttled(user)  # still waiting after earlier wrong codes: refused unchecked
            if otp.verify(request, token=token, step_up=step_up):
                return HttpResponseRedirect(next_url)
            field = "recovery_code" if use_recovery else "code"
            form.add_error(
                field,
                gettext("Too many wrong codes: wait a moment, then enter the newest code.")
                if throttled
                else gettext("That code is not right. Enter the code your app shows now."),
            )
    context = {
        "code_form": code_form,
        "recovery_form": recovery_form,
        "next": next_url,
        "step_up": step_up or request.GET.get("step_up") == "1",
    }
    return private(render(request, "account/otp_verify.html", context))


@login_required
@require_http_methods(["GET", "POST"])
def otp_setup(request):
    """Set up the second factor: the QR code and the key, confirmed with a code; then the recovery codes."""
    user = request.user
    next_url = _next_url(request)
    if otp.has_device(user):
        return HttpResponseRedirect(f"{reverse('account:otp-verify')}?{urlencode({'next': next_url})}")
    device = otp.enrolment_device(user)
    form = OtpCodeForm()
    if request.method == "POST":
        form = OtpCodeForm(request.POST)
        if form.is_valid():
            codes = otp.confirm_enrolment(request, device=device, token=form.cleaned_data["code"])
            if codes is not None:
                context = {"codes": codes, "next": next_url}
                return private(render(request, "account/otp_recovery_codes.html", context))
            form.add_error("code", gettext("That code is not right. Enter the code your app shows now."))
    context = {
        "form": form,
        "qr_data_uri": otp.qr_data_uri(device),
        "key": otp.key_text(device),
        "next": next_url,
        "required": user.role in otp.required_roles(),
    }
    return private(render(request, "account/otp_setup.html", context))


@login_required
@require_POST
def otp_recovery_codes(request):
    """New recovery codes (the old ones stop working); only right after entering a code (step-up)."""
    if not otp.has_device(request.user):
        return HttpResponseRedirect(reverse("account:otp-setup"))
    refused = stepup.refusal(request, back=reverse("account:home"))
    if refused is not None:
        return refused
    codes = otp.replace_recovery_codes(request.user)

    record_one(
        actor=request.user,
        action=AuditAction.OTP_RECOVERY_CODES,
        subject_type="user",
        subject_id=request.user.pk,
        details={"recovery_codes": len(codes)},
    )
    return private(render(request, "account/otp_recovery_codes.html", {"codes": codes, "next": "/"}))


# --- home ------------------------------------------------------------------------------------------
# Apps above people show blocks on the home page (a resident's warnings, say) without people importing
# them: each registers a function of the request, in its AppConfig.ready, that answers the block's
# template and context, or None to leave the block out. A block with ``"top": True`` sits above a
# resident's large buttons (care's "I'm fine"), the others below them.
HomeSection = Callable[[HttpRequest], "dict[str, Any] | None"]
HOME_SECTIONS: list[HomeSection] = []


def add_home_section(section: HomeSection) -> None:
    """Show ``section``'s block on the home page (once, however often the app registers it)."""
    if section not in HOME_SECTIONS:
        HOME_SECTIONS.append(section)


def _sections(request: HttpRequest) -> list[dict[str, Any]]:
    return [block for block in (section(request) for section in HOME_SECTIONS) if block]


def _grid_of(user) -> Region | None:
    """The grid of a resident's household."""
    resident = getattr(user, "resident", None)
    household = getattr(resident, "household", None) if resident is not None else None
    return household.grid if household is not None else None


def _greeting_name(user) -> str:
    """The person's name as they are addressed: family name first in Chinese ("刘桂香")."""
    language = get_language() or ""
    if language.startswith("zh") and user.last_name:
        return f"{user.last_name}{user.first_name}"
    return user.display_name


@login_required
def home(request):
    """The home page. A resident's starts with a few large buttons (get help, report a problem, my
    reports, contact my grid worker) and the warnings that concern her area; in elder mode that is all
    it shows. Staff see the overview of the places they are responsible for."""
    user = request.user
    context: dict[str, Any] = {"nav": "home", "sections": _sections(request)}
    resident_home = user.role == Role.RESIDENT
    elder = is_elder_mode(request)
    context.update(resident_home=resident_home, elder_home=resident_home and elder)
    if resident_home:
        context.update(greeting_name=_greeting_name(user), home_grid=_grid_of(user))
    if not (resident_home and elder):
        grids = Region.objects.restrict(user).filter(kind=RegionKind.GRID).order_by("code")
        context.update(overview=community_overview(user), grids=list(grids), care_shown=may_see_care(user))
    return render(request, "account/home.html", context)
