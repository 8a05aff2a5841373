"""Forms of the people pages."""

from __future__ import annotations

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from banyan.core.access import REVEALABLE_FIELDS, revealable_fields
from banyan.people.choices import CorrectableField
from banyan.people.ledgers import LEDGER_REVEALABLE

FIELD_LABELS = {
    "id_number": _("ID number"),
    "phone": _("Phone"),
    "care_details": _("Care details"),
}


class RevealForm(forms.Form):
    """Which personal fields to show in clear, and why. The purpose goes to the audit log only."""

    field = forms.MultipleChoiceField(
        label=_("Fields to reveal"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one field to reveal.")},
    )
    purpose = forms.CharField(
        label=_("Purpose"),
        help_text=_("Why you need the clear value, e.g. “phone call for the weekly welfare check”."),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("State the purpose of revealing.")},
    )

    def __init__(self, *args, allowed: frozenset[str] | set[str], **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["field"]).choices = [
            (name, FIELD_LABELS[name]) for name in REVEALABLE_FIELDS if name in allowed
        ]

    def add_service_error(self, exc) -> None:
        """Put a service's ``InvalidInput`` next to the field it names (``fields`` is our ``field``)."""
        name = {"fields": "field", "purpose": "purpose"}.get(exc.field or "")
        self.add_error(name, exc.message)


class LedgerExportForm(RevealForm):
    """Which of a ledger's masked columns to export in clear, and why (audited per resident)."""

    def __init__(self, *args, allowed: frozenset[str] | set[str], **kwargs):
        super().__init__(*args, allowed=set(allowed) & set(LEDGER_REVEALABLE), **kwargs)
        self.fields["field"].label = _("Columns in clear")
        self.fields["field"].error_messages["required"] = _("Choose at least one column to export in clear.")
        self.fields["purpose"].help_text = _(
            "Why you need the clear values in a file, e.g. “list for the elderly care subsidy application”."
        )

    @staticmethod
    def allowed_for(user) -> frozenset[str]:
        """The ledger columns ``user``'s role may export in clear (none: no form)."""
        return revealable_fields(user) & frozenset(LEDGER_REVEALABLE)


class LedgerImportForm(forms.Form):
    """A ledger file and whether to check it only (``dry_run``, the default) or import it.

    The file is read in the request and not kept: a real run needs the file chosen again.
    ``checked`` carries a keyed digest of the file that passed the check, so that a real run of
    another file is only checked, not imported unseen.
    """

    file = forms.FileField(
        label=_("Ledger file (.csv or .xlsx)"),
        widget=forms.FileInput(attrs={"accept": ".csv,.xlsx"}),
        error_messages={
            "required": _("Choose a ledger file."),
            "empty": _("The file is empty; the first row must name the columns."),
        },
    )
    dry_run = forms.TypedChoiceField(
        choices=[("1", "1"), ("0", "0")],
        coerce=lambda value: value != "0",
        empty_value=True,  # type: ignore[arg-type]  # any value, says Django; the stubs allow str | None
        required=False,
        widget=forms.HiddenInput,
        error_messages={
            "invalid_choice": _("The form came back damaged (its step is unknown); check the file again.")
        },
    )
    checked = forms.CharField(
        required=False,
        max_length=64,
        widget=forms.HiddenInput,
        error_messages={
            "max_length": _(
                "The form came back damaged (its check of the file is unknown); check the file again."
            )
        },
    )

    def add_service_error(self, exc) -> None:
        """A service's ``InvalidInput`` goes next to the file: every file-level problem is about it."""
        self.add_error("file", exc.message)


OWN_FIELD_LABELS = {
    "id_number": _("ID number"),
    "phone": _("Phone"),
    "registered_address": _("Registered address"),
    "care_details": _("Care details"),
}


class OwnRevealForm(forms.Form):
    """Which of my own fields to show in clear (no purpose: they are mine; the reveal is recorded)."""

    field = forms.MultipleChoiceField(
        label=_("Show in clear"),
        widget=forms.CheckboxSelectMultiple,
        choices=list(OWN_FIELD_LABELS.items()),
        error_messages={"required": _("Choose at least one field to reveal.")},
    )


class CorrectionForm(forms.Form):
    """ "This is wrong, it should be …": the field, the right value and a note for staff."""

    field = forms.ChoiceField(label=_("What is wrong"), choices=CorrectableField.choices)
    proposed_value = forms.CharField(
        label=_("What it should be"),
        max_length=500,
        error_messages={"required": _("Write what it should be.")},
    )
    note = forms.CharField(
        label=_("Note for staff"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional, e.g. “I changed my number last month”."),
    )

    def add_service_error(self, exc) -> None:
        name = exc.field if exc.field in self.fields else None
        self.add_error(name, exc.message)


class CorrectionRejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason, for the resident"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Tell the resident why.")},
    )

    def add_service_error(self, exc) -> None:
        self.add_error("reason" if exc.field == "reason" else None, exc.message)
