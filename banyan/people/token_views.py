"""The signed-in person's API tokens: list them, make one (shown once), revoke one.

Administrators manage other people's tokens with the API or ``banyan token``; this page is
everyone's own. The page that shows a new token is marked ``no-store`` and the token is never put
in a URL, a redirect or a message.
"""

from __future__ import annotations

from typing import cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from banyan.core.access import Action, can
from banyan.core.errors import InvalidInput, NotFound
from banyan.core.views import private, service_errors
from banyan.people import tokens as services
from banyan.people.auth import DEFAULT_DAYS, MAX_DAYS, TokenScope

SCOPE_LABELS = {
    TokenScope.READ: _("Read: look things up (GET only)"),
    TokenScope.WRITE: _("Write: everything your role allows"),
    TokenScope.READINGS_WRITE: _("Readings: a gateway sending device readings, nothing else"),
}


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=services.MAX_NAME,
        required=False,
        help_text=_("To recognise the token later, e.g. “laptop” or “gateway B3”."),
    )
    scopes = forms.MultipleChoiceField(
        label=_("What the token may do"), widget=forms.CheckboxSelectMultiple, initial=[TokenScope.READ]
    )
    days = forms.IntegerField(
        label=_("Valid for (days)"),
        min_value=1,
        max_value=MAX_DAYS,
        initial=DEFAULT_DAYS,
        help_text=_("From 1 to %(max)d days; the token stops working after that.") % {"max": MAX_DAYS},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        scopes = [TokenScope.READ, TokenScope.WRITE]
        if can(user, Action.SEND_READINGS):
            scopes.append(TokenScope.READINGS_WRITE)
        cast(forms.ChoiceField, self.fields["scopes"]).choices = [(str(s), SCOPE_LABELS[s]) for s in scopes]


def _page(request, form, *, new_token=None):
    tokens = services.tokens_for(request.user).filter(user=request.user)
    response = render(
        request,
        "people/tokens.html",
        {"form": form, "tokens": tokens, "new_token": new_token, "nav": "tokens"},
    )
    return private(response)


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    """Your tokens, and a form for a new one; the new token is shown on the answer to the form only."""
    if request.method == "GET":
        return _page(request, TokenForm(user=request.user))
    form = TokenForm(request.POST, user=request.user)
    if not form.is_valid():
        return _page(request, form)
    try:
        issued = services.issue_token(
            actor=request.user,
            user=request.user,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            days=form.cleaned_data["days"],
        )
    except InvalidInput as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return _page(request, form)
    return _page(request, TokenForm(user=request.user), new_token=issued)


@login_required
@require_POST
@service_errors
def token_revoke(request, pk: int):
    token = services.get_token_for(request.user, pk)
    if token.user_id != request.user.pk:  # this page is for one's own tokens
        raise NotFound(gettext("No such token."))
    services.revoke_token(actor=request.user, token=token)
    messages.success(request, gettext("The token %(prefix)s… is revoked.") % {"prefix": token.prefix})
    return redirect("people:token-list")
