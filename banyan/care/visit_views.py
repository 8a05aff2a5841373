"""The wellness visit (探视) from the responder's phone: what they found, a short note, an optional photo.
Linked from their task list and the incident's page while the visit is theirs and open."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from banyan.care import visits
from banyan.care.choices import VisitOutcome
from banyan.care.services import NOTE_MAX
from banyan.core.errors import InvalidInput
from banyan.core.views import private, service_errors
from banyan.people.models import AuthenticatedHttpRequest
from banyan.response.forms import PHOTO_MAX_BYTES, ServiceErrorsMixin
from banyan.response.photos import photo_response
from banyan.response.services import get_incident_for

PHOTO_TYPES = "image/jpeg,image/png,image/webp"


class VisitForm(ServiceErrorsMixin, forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("What did you find?"), choices=VisitOutcome.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Optional, short. No health details: they belong in the care profile."),
    )
    photo = forms.FileField(
        label=gettext_lazy("Photo (optional)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": PHOTO_TYPES}),
        help_text=gettext_lazy("A JPEG, PNG or WebP picture of at most 5 MB. Its location data is removed."),
    )

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if photo and photo.size > PHOTO_MAX_BYTES:
            raise forms.ValidationError(
                _("The photo is larger than %(max)d MB.") % {"max": PHOTO_MAX_BYTES // (1024 * 1024)}
            )
        return photo


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def visit(request: AuthenticatedHttpRequest, pk: int):
    """The one sent on a wellness visit records it; "not at home" may be recorded again on a later try."""
    user = request.user
    incident = get_incident_for(user, pk)
    follow_up = visits.follow_up_of(incident)
    if follow_up is None:
        messages.info(
            request,
            _(
                "This wellness check is not about a resident with a care plan: "
                "record it on the incident's page."
            ),
        )
        return redirect("response:incident-detail", incident.pk)
    if not visits.may_record_visit(user, incident):
        raise DjangoPermissionDenied(_("Only the one sent on this visit records it, while it is open."))
    posted = request.method == "POST"
    form = VisitForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        photo = form.cleaned_data.get("photo")
        try:
            recorded = visits.record_visit(
                actor=user,
                incident=incident,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
                photo=photo.read() if photo else None,
            )
        except InvalidInput as exc:
            form.add_service_error(exc)
        else:
            if recorded.outcome == VisitOutcome.NOT_HOME:
                follow_up.refresh_from_db()
                messages.warning(
                    request,
                    _("Recorded: not at home (%(tries)d of %(max)d tries).")
                    % {"tries": follow_up.not_home, "max": visits.not_home_tries()},
                )
            else:
                messages.success(request, _("Visit recorded."))
            return redirect("response:task-list")
    context = {
        "incident": incident,
        "resident": follow_up.resident,
        "form": form,
        "earlier": list(follow_up.visits.defer("photo").select_related("by").order_by("-at")[:10]),
        "nav": "tasks",
    }
    return private(render(request, "care/visit.html", context))


@login_required
@require_GET
@service_errors
def visit_photo(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The photo taken on a wellness visit, for those who may see the resident's care (or took it)."""
    found = visits.visit_with_photo(request.user, pk)
    return photo_response(found.photo or b"", found.photo_type, f"visit-{found.pk}")
