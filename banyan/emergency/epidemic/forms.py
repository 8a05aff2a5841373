from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from banyan.emergency.epidemic.choices import DeliveryKind, HouseholdState
from banyan.emergency.epidemic.models import WHAT_MAX
from banyan.response.forms import ServiceErrorsMixin


class StatusForm(ServiceErrorsMixin, forms.Form):
    """A household's status from a date, with its planned end."""

    household = forms.IntegerField(label=_("Household"), min_value=1, max_value=2**63 - 1)
    status = forms.ChoiceField(label=_("Status"), choices=HouseholdState.choices)
    since = forms.DateField(label=_("Since"), widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(
        label=_("Until (planned)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class DeliveryForm(ServiceErrorsMixin, forms.Form):
    """Groceries or medicine for an isolating household."""

    household = forms.IntegerField(label=_("Household"), min_value=1, max_value=2**63 - 1)
    kind = forms.ChoiceField(label=_("Kind"), choices=DeliveryKind.choices)
    what = forms.CharField(label=_("What is needed"), max_length=WHAT_MAX, required=False)


class AnswerForm(ServiceErrorsMixin, forms.Form):
    """The resident's answer: the value of the button pressed ("ok" or "need_help", checked by the
    service, which names what it accepts)."""

    status = forms.CharField(max_length=16)


def first_error(form: forms.Form) -> str:
    """The first error of a refused form, naming its field ("Since: Enter a valid date.")."""
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        return f"{label}: {errors[0]}" if label else str(errors[0])
    return ""
