"""The audit page's filters (a GET form): which action, who, on what, which days, which purpose."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from banyan.audit.actions import AuditAction
from banyan.audit.choices import ACTION_LABELS, SUBJECT_LABELS
from banyan.audit.services import EntryFilters


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class AuditFilterForm(forms.Form):
    """Which entries the audit page (and its export) shows. A value that is not accepted is reported next
    to its field and that filter is left out, so the page still shows the log."""

    action = forms.ChoiceField(
        label=_("Action"),
        required=False,
        choices=[("", _("Any action")), *((a.value, ACTION_LABELS.get(a, a.value)) for a in AuditAction)],
    )
    actor = forms.CharField(
        label=_("Who"),
        required=False,
        max_length=150,
        help_text=_("A name or an account's username."),
        error_messages={"max_length": _("Keep it to at most %(limit_value)d characters.")},
    )
    subject_type = forms.ChoiceField(
        label=_("On what"), required=False, choices=[("", _("Anything")), *SUBJECT_LABELS.items()]
    )
    subject_id = forms.CharField(
        label=_("Its number"),
        required=False,
        max_length=64,
        help_text=_("E.g. the resident's or the incident's number."),
        error_messages={"max_length": _("Keep it to at most %(limit_value)d characters.")},
    )
    since = forms.DateField(
        label=_("From"),
        required=False,
        widget=DateInput(),
        error_messages={"invalid": _("Enter a date as year-month-day, e.g. 2026-03-01.")},
    )
    until = forms.DateField(
        label=_("To"),
        required=False,
        widget=DateInput(),
        error_messages={"invalid": _("Enter a date as year-month-day, e.g. 2026-03-31.")},
    )
    purpose = forms.CharField(
        label=_("Purpose contains"),
        required=False,
        max_length=100,
        error_messages={"max_length": _("Keep it to at most %(limit_value)d characters.")},
    )

    def clean(self):
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", _("The last day is before the first day (%(since)s).") % {"since": since})
        return data

    def filters(self) -> EntryFilters:
        """The valid filters; a field with an error is left out."""
        self.is_valid()  # cleaned_data keeps only the fields that passed
        data = self.cleaned_data
        return EntryFilters(
            action=data.get("action") or "",
            actor=(data.get("actor") or "").strip(),
            subject_type=data.get("subject_type") or "",
            subject_id=(data.get("subject_id") or "").strip(),
            since=data.get("since"),
            until=data.get("until"),
            purpose=(data.get("purpose") or "").strip(),
        )
