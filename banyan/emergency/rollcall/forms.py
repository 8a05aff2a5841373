from __future__ import annotations

from django import forms

from banyan.response.forms import ServiceErrorsMixin


class AnswerForm(ServiceErrorsMixin, forms.Form):
    """The resident's answer: the value of the button pressed ("safe" or "need_help", checked by the
    service, which names what it accepts)."""

    status = forms.CharField(max_length=16)
