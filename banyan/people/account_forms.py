"""Forms of the sign-in pages: the second factor's code."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class OtpCodeForm(forms.Form):
    """The 6-digit code of the authenticator app: a large field for a phone's number pad."""

    code = forms.CharField(
        label=_("6-digit code from your authenticator app"),
        max_length=12,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9 ]*",
                "autocapitalize": "off",
                "spellcheck": "false",
                "class": "otp-code",
                "size": "8",
            }
        ),
        error_messages={"required": _("Enter the 6-digit code.")},
    )

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if not (len(code) == 6 and code.isdigit()):
            raise forms.ValidationError(_("The code has 6 digits, for example 123456."), code="invalid")
        return code


class RecoveryCodeForm(forms.Form):
    """One of the recovery codes shown when the second factor was set up (each works once)."""

    recovery_code = forms.CharField(
        label=_("Recovery code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "off", "spellcheck": "false", "class": "otp-code"}
        ),
        error_messages={"required": _("Enter one of your recovery codes.")},
    )

    def clean_recovery_code(self):
        code = "".join(self.cleaned_data["recovery_code"].split()).lower()
        if not code.isalnum():
            raise forms.ValidationError(_("A recovery code has only letters and digits."), code="invalid")
        return code
