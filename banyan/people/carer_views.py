"""The carer circle of a resident, for staff who may change people and see care: link a carer to the
account they sign in with, record the resident's (or guardian's) consent and its scopes, withdraw it."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from banyan.core import clock
from banyan.core.access import Action
from banyan.core.errors import InvalidInput, NotFound
from banyan.core.views import private, service_errors
from banyan.people import carers
from banyan.people.choices import ConsentGivenBy, ProxyScope
from banyan.people.models import Resident


class _ServiceErrors:
    def add_service_error(self, exc) -> None:
        name = exc.field if exc.field in self.fields else None  # type: ignore[attr-defined]
        self.add_error(name, exc.message)  # type: ignore[attr-defined]


class LinkForm(_ServiceErrors, forms.Form):
    username = forms.CharField(
        label=gettext_lazy("Their user name"),
        max_length=150,
        help_text=gettext_lazy("The account the carer signs in with (a resident's or a volunteer's)."),
    )

    def clean_username(self) -> str:
        value = self.cleaned_data["username"]
        if "\x00" in value:
            raise forms.ValidationError(_("The user name contains a character that cannot be stored."))
        return value


class GrantForm(_ServiceErrors, forms.Form):
    given_by = forms.ChoiceField(
        label=gettext_lazy("Consent given by"), choices=ConsentGivenBy.choices, widget=forms.RadioSelect
    )
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("May act for them to"),
        choices=ProxyScope.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    valid_until = forms.DateField(
        label=gettext_lazy("Until (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class WithdrawForm(forms.Form):
    consent = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**63 - 1)


def _manager(user) -> None:
    if not carers.may_manage(user):
        raise PermissionDenied(_("Your role cannot manage carers."))


def _resident_for(user, pk) -> Resident:
    resident = (
        Resident.objects.restrict(user, Action.CHANGE_PEOPLE)
        .filter(pk=pk)
        .select_related("household")
        .first()
    )
    if resident is None:
        raise NotFound(_("Resident not found."))
    return resident


def _render(request, resident: Resident, *, link=None, grant=None, carer_pk=None, withdraw=None):
    circle = []
    now = clock.now()
    for carer in carers.carers_of(resident).order_by("-is_primary", "id"):
        consents = []
        for consent in carer.consents.all():
            if consent.withdrawn_at is not None:
                state = _("withdrawn %(date)s") % {"date": timezone.localtime(consent.withdrawn_at).date()}
            elif consent.valid_until is not None and consent.valid_until <= now:
                state = _("ran out")
            elif consent.valid_from > now:
                state = _("not yet in force")
            else:
                state = ""
            consents.append(
                {
                    "consent": consent,
                    "scopes": [ProxyScope(s).label for s in consent.scopes if s in ProxyScope.values],
                    "state": state,
                    "active": not state,
                }
            )
        link_form = link if carer.pk == carer_pk and link is not None else LinkForm()
        grant_form = grant if carer.pk == carer_pk and grant is not None else GrantForm()
        # One pair of forms per carer on the page: each with ids of its own.
        link_form.auto_id = f"id_link{carer.pk}_%s"
        grant_form.auto_id = f"id_grant{carer.pk}_%s"
        circle.append({"carer": carer, "consents": consents, "link": link_form, "grant": grant_form})
    context = {"resident": resident, "circle": circle, "withdraw_form": withdraw, "nav": "places"}
    return private(render(request, "people/carer_circle.html", context))


@login_required
@require_GET
@service_errors
def carer_circle(request, pk: int):
    _manager(request.user)
    return _render(request, _resident_for(request.user, pk))


@login_required
@require_POST
@service_errors
def carer_link(request, pk: int):
    _manager(request.user)
    carer = carers.get_carer_for(request.user, pk)
    resident = carer.care_profile.resident
    form = LinkForm(request.POST)
    if form.is_valid():
        try:
            carers.link_account(actor=request.user, carer=carer, username=form.cleaned_data["username"])
        except InvalidInput as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("The carer is linked to the account."))
            return redirect("people:carer-circle", resident.pk)
    return _render(request, resident, link=form, carer_pk=carer.pk)


@login_required
@require_POST
@service_errors
def carer_grant(request, pk: int):
    _manager(request.user)
    carer = carers.get_carer_for(request.user, pk)
    resident = carer.care_profile.resident
    form = GrantForm(request.POST)
    if form.is_valid():
        until = form.cleaned_data["valid_until"]
        valid_until = (
            timezone.make_aware(dt.datetime.combine(until + dt.timedelta(days=1), dt.time()))
            if until
            else None
        )
        try:
            carers.grant(
                actor=request.user,
                carer=carer,
                given_by=form.cleaned_data["given_by"],
                scopes=form.cleaned_data["scopes"],
                valid_until=valid_until,
            )
        except InvalidInput as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, _("The consent is recorded."))
            return redirect("people:carer-circle", resident.pk)
    return _render(request, resident, grant=form, carer_pk=carer.pk)


@login_required
@require_POST
@service_errors
def carer_withdraw(request, pk: int):
    _manager(request.user)
    consent = carers.get_carer_consent_for(request.user, pk)
    resident = consent.carer.care_profile.resident
    form = WithdrawForm(request.POST)
    if not form.is_valid() or form.cleaned_data["consent"] != consent.pk:
        form.add_error(None, _("Press “Withdraw” beside the consent to withdraw it."))
        return _render(request, resident, withdraw=form)
    try:
        carers.withdraw(actor=request.user, consent=consent)
    except InvalidInput as exc:
        form.add_error(None, exc.message)
        return _render(request, resident, withdraw=form)
    messages.success(request, _("The consent is withdrawn: the carer can no longer act for them."))
    return redirect("people:carer-circle", resident.pk)
