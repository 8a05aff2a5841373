"""The accounts pages under ``/people/users/``: the accounts of one's area with their roles, an account's
page, and what an administrator does to accounts (``banyan.people.accounts``, which holds the rights
and writes the audit entries).

Platform administrators list, make and change every account. Street officers and community directors
see the accounts of their area and help those below them sign in (remove a lost phone's second factor,
end a lockout), as ``banyan auth --as`` lets them. Every other role: 403. A person's name is written as
it is said (a Chinese name family name first); a region by its name; a role by its label.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q, Value
from django.db.models.functions import Concat
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from banyan.core.errors import InvalidInput, NotFound
from banyan.core.views import private, service_errors
from banyan.people import accounts, otp
from banyan.people.admin_forms import (
    ACTIVE,
    INACTIVE,
    AccountActiveForm,
    AccountFilterForm,
    AccountForm,
    ConfirmForm,
    region_choices,
)
from banyan.people.models import AuthenticatedHttpRequest, User
from banyan.places.choices import RegionKind
from banyan.places.models import Region
from banyan.places.words import region_words

PAGE_SIZE = 50
PASSWORD, SECOND_FACTOR, UNLOCK, ACTIVE_PREFIX = "password", "second-factor", "unlock", "active"


def _require_view(user) -> None:
    if not accounts.may_view_accounts(user):
        raise DjangoPermissionDenied


def _require_change(user) -> None:
    if not accounts.may_change_accounts(user):
        raise DjangoPermissionDenied


def _language() -> str:
    return get_language() or ""


def _region_label(region: Region | None) -> str:
    if region is None:
        return _("Every region")
    return dict(region_choices([region]))[str(region.pk)]


def _filter_regions(user):
    """The regions the list filters by: those the viewer's accounts may serve."""
    kinds = (RegionKind.STREET, RegionKind.COMMUNITY, RegionKind.GRID)
    return Region.objects.restrict(user).filter(kind__in=kinds).order_by("path")


# --- the list ----------------------------------------------------------------------------------------


@login_required
@require_GET
@service_errors
def user_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The accounts of one's area, by role, region, state, or a name."""
    user = request.user
    _require_view(user)
    regions = list(_filter_regions(user))
    form = AccountFilterForm(request.GET, regions=regions)
    filters = form.filters()
    found = accounts.accounts_for(user).annotate(
        enrolled=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
        full_name=Concat("last_name", "first_name"),
        spaced_name=Concat("first_name", Value(" "), "last_name"),
    )
    if filters["q"]:
        words = filters["q"]
        found = found.filter(
            Q(username__icontains=words) | Q(full_name__icontains=words) | Q(spaced_name__icontains=words)
        )
    if filters["role"]:
        found = found.filter(role=filters["role"])
    if filters["region"]:
        region = next(r for r in regions if str(r.pk) == filters["region"])
        found = found.filter(region__path__startswith=region.path)
    if filters["state"] == ACTIVE:
        found = found.filter(is_active=True)
    elif filters["state"] == INACTIVE:
        found = found.filter(is_active=False)
    page = Paginator(found.order_by("-is_active", "region__path", "role", "username"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    language = _language()
    served = dict(region_choices(Region.objects.filter(pk__in={a.region_id for a in page.object_list})))
    rows = [
        {
            "account": account,
            "name": accounts.person_name(account, language),
            "region": served.get(str(account.region_id), _("Every region")),
        }
        for account in page.object_list
    ]
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "can_change": accounts.may_change_accounts(user),
        "nav": "users",
    }
    return render(request, "people/users/user_list.html", context)


# --- one account -------------------------------------------------------------------------------------


def _confirm_forms(account: User, data=None, *, only: str = "") -> dict:
    """The confirmations of the account's page, each with its own prefix (one page, several forms);
    ``data`` binds the one named ``only``."""
    labels = {
        PASSWORD: _(
            "Give this account a new password: the old one stops working, and I will hand the new one "
            "to the person myself."
        ),
        SECOND_FACTOR: _(
            "Remove this account's authenticator (a lost or new phone): the person sets one up again at "
            "the next sign-in."
        ),
        UNLOCK: _("End the lockout: the person may try their password again now."),
    }
    return {
        name: ConfirmForm(data if name == only else None, prefix=name, label=label)
        for name, label in labels.items()
    }


def _active_form(account: User, data=None) -> AccountActiveForm:
    if account.is_active:
        label = _("Deactivate this account: it can no longer sign in, and its API tokens stop working.")
    else:
        label = _("Reactivate this account: it can sign in again.")
    return AccountActiveForm(
        data, prefix=ACTIVE_PREFIX, label=label, initial={"active": "0" if account.is_active else "1"}
    )


def _render_account(
    request: AuthenticatedHttpRequest,
    account: User,
    *,
    edit_form: AccountForm | None = None,
    active_form: AccountActiveForm | None = None,
    confirm_forms: dict | None = None,
    new_password: str = "",
) -> HttpResponse:
    user = request.user
    can_change = accounts.may_change_accounts(user)
    can_help = accounts.may_help_sign_in(user, account)
    confirm = confirm_forms or _confirm_forms(account)
    context = {
        "account": account,
        "name": accounts.person_name(account, _language()),
        "region": _region_label(account.region),
        "region_name": region_words(account.region) if account.region else "",
        "enrolled": otp.has_device(account),
        "locked": accounts.is_locked(account),
        "can_change": can_change,
        "can_help": can_help,
        "edit_form": (edit_form or AccountForm(regions=accounts.regions_for_accounts(user), account=account))
        if can_change
        else None,
        "active_form": (active_form or _active_form(account))
        if can_change and account.pk != user.pk
        else None,
        "password_form": confirm[PASSWORD] if can_change and account.pk != user.pk else None,
        "second_factor_form": confirm[SECOND_FACTOR] if can_help else None,
        "unlock_form": confirm[UNLOCK] if can_help else None,
        "new_password": new_password,
        "nav": "users",
    }
    return private(render(request, "people/users/user_detail.html", context))


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def user_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """An account's page; an administrator's POST changes its name, role and region."""
    user = request.user
    _require_view(user)
    if request.method == "POST":
        _require_change(user)
        account = accounts.get_account_for(user, pk)
        form = AccountForm(request.POST, regions=accounts.regions_for_accounts(user), account=account)
        if form.is_valid():
            try:
                accounts.update_account(actor=user, account=account, **form.service_data())
            except (InvalidInput, NotFound) as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("The account is saved."))
                return redirect("people:accounts:user-detail", pk=account.pk)
        return _render_account(request, account, edit_form=form)
    return _render_account(request, accounts.get_account_for(user, pk))


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def user_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Make a staff account; its initial password is shown once, on the account's page."""
    user = request.user
    _require_change(user)
    regions = accounts.regions_for_accounts(user)
    if request.method == "POST":
        form = AccountForm(request.POST, regions=regions)
        if form.is_valid():
            try:
                made = accounts.create_account(actor=user, **form.service_data())
            except (InvalidInput, NotFound) as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("The account is made."))
                return _render_account(
                    request, accounts.get_account_for(user, made.account.pk), new_password=made.password
                )
    else:
        form = AccountForm(regions=regions)
    return render(request, "people/users/user_new.html", {"form": form, "nav": "users"})


@login_required
@require_POST
@service_errors
def user_active(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Deactivate or reactivate an account (administrators), confirmed."""
    user = request.user
    _require_change(user)
    account = accounts.get_account_for(user, pk)
    form = _active_form(account, request.POST)
    if form.is_valid():
        try:
            accounts.set_active(actor=user, account=account, active=form.cleaned_data["active"])
        except InvalidInput as exc:
            form.add_service_error(exc)
        else:
            if form.cleaned_data["active"]:
                messages.success(request, _("The account is active again."))
            else:
                messages.success(request, _("The account is deactivated."))
            return redirect("people:accounts:user-detail", pk=account.pk)
    return _render_account(request, account, active_form=form)


@login_required
@require_POST
@service_errors
def user_password(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Give an account a new password (administrators), confirmed; it is shown once."""
    user = request.user
    _require_change(user)
    account = accounts.get_account_for(user, pk)
    forms = _confirm_forms(account, request.POST, only=PASSWORD)
    if forms[PASSWORD].is_valid():
        try:
            made = accounts.give_new_password(actor=user, account=account)
        except InvalidInput as exc:
            forms[PASSWORD].add_error(None, exc.message)
        else:
            return _render_account(request, made.account, new_password=made.password)
    return _render_account(request, account, confirm_forms=forms)


def _sign_in_help(request: AuthenticatedHttpRequest, pk: int, step: str) -> HttpResponse:
    user = request.user
    _require_view(user)
    account = accounts.get_account_for(user, pk)
    if not accounts.may_help_sign_in(user, account):
        raise DjangoPermissionDenied
    forms = _confirm_forms(account, request.POST, only=step)
    if not forms[step].is_valid():
        return _render_account(request, account, confirm_forms=forms)
    if step == SECOND_FACTOR:
        accounts.reset_second_factor(actor=user, account=account)
        messages.success(
            request, _("The authenticator is removed: the person sets one up at the next sign-in.")
        )
    else:
        accounts.unlock(actor=user, account=account)
        messages.success(request, _("The lockout has ended: the person may sign in again."))
    return redirect("people:accounts:user-detail", pk=account.pk)


@login_required
@require_POST
@service_errors
def user_second_factor(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Remove an account's second factor (a lost phone), confirmed."""
    return _sign_in_help(request, pk, SECOND_FACTOR)


@login_required
@require_POST
@service_errors
def user_unlock(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """End an account's lockout after too many wrong passwords, confirmed."""
    return _sign_in_help(request, pk, UNLOCK)
