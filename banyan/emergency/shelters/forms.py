from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ResidentSearchForm(forms.Form):
    """A name to look for among the residents in the caller's scope. Sent by POST, so that no name
    stands in an address (server logs, browser history)."""

    q = forms.CharField(label=_("Name"), max_length=64)

    def clean_q(self) -> str:
        value = self.cleaned_data["q"].strip()
        if "\x00" in value:
            raise forms.ValidationError(_("The text contains a character that cannot be stored."))
        return value
