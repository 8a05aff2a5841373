"""Forms of the people pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from banyan.core.access import REVEALABLE_FIELDS

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
        self.fields["field"].choices = [
            (name, FIELD_LABELS[name]) for name in REVEALABLE_FIELDS if name in allowed
        ]

    def add_service_error(self, exc) -> None:
        """Put a service's ``InvalidInput`` next to the field it names (``fields`` is our ``field``)."""
        name = {"fields": "field", "purpose": "purpose"}.get(exc.field or "")
        self.add_error(name, exc.message)
