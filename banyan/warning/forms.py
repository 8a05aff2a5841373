"""Forms of the alert pages: the list's filters (a GET form) and resolving an alert with a note."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from banyan.warning.choices import AlertStatus, Grade

# "active" (open or acknowledged) is the list's default: the alerts someone still has to act on.
ACTIVE = "active"
ANY = "any"
NOTE_MAX_LENGTH = 2000


class AlertFilterForm(forms.Form):
    """Which alerts the list shows. A value that is not a choice is reported next to its field and
    that filter is left out, so the list still shows something sensible."""

    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[(ACTIVE, _("Open or acknowledged")), (ANY, _("Any status")), *AlertStatus.choices],
    )
    grade = forms.ChoiceField(
        label=_("Grade"),
        required=False,
        choices=[("", _("Any grade")), *reversed(Grade.choices)],
    )

    def filters(self) -> dict[str, str]:
        """The valid filters: ``status`` (``active`` unless chosen otherwise) and ``grade`` (or empty)."""
        self.is_valid()  # cleaned_data keeps only the fields that passed
        data = self.cleaned_data
        return {"status": data.get("status") or ACTIVE, "grade": data.get("grade") or ""}


class ResolveForm(forms.Form):
    """Closing an alert: what was found and done is required and goes to the alert and its CAP. When
    the alert has an open incident (``with_incident``) it asks what becomes of it: resolved too, or
    kept open with a reason."""

    note = forms.CharField(
        label=_("What was found and done"),
        help_text=_("Required. E.g. “Pump restarted; water below 10 cm at 09:40; no one hurt.”"),
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": _("Say what was found and done: the note is required to resolve an alert."),
            "max_length": _("Keep the note to at most %(limit_value)d characters (it has %(show_value)d)."),
        },
    )

    incident = forms.ChoiceField(
        label=_("Its incident"),
        widget=forms.RadioSelect,
        choices=[
            ("resolve", _("Resolve the incident too")),
            ("keep", _("Keep the incident open")),
        ],
        error_messages={
            "required": _("Say what becomes of the alert's incident: resolve it too, or keep it open."),
            "invalid_choice": _("Choose “resolve the incident too” or “keep the incident open”."),
        },
    )
    incident_reason = forms.CharField(
        label=_("Why the incident stays open"),
        help_text=_("Needed to keep it open, e.g. “The pump is fixed but the garage is still flooded.”"),
        required=False,
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, with_incident: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not with_incident:
            del self.fields["incident"], self.fields["incident_reason"]

    def add_service_error(self, exc) -> None:
        """Put a service's ``InvalidInput`` next to the field it names."""
        self.add_error(exc.field if exc.field in self.fields else None, exc.message)


class CallForm(forms.Form):
    """Revealing the phones of a fall or SOS alert's person and emergency contact, to call them: the
    purpose goes to the audit log (proposed, and editable)."""

    purpose = forms.CharField(
        label=_("Purpose"),
        help_text=_("Why you reveal the numbers; kept in the audit log. Never write a phone number here."),
        max_length=500,
        error_messages={"required": _("State the purpose of revealing the numbers.")},
    )

    def add_service_error(self, exc) -> None:
        self.add_error("purpose" if exc.field == "purpose" else None, exc.message)
