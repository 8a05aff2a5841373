from django import forms
from django.utils.translation import gettext_lazy as _

from banyan.emergency.relay.choices import Audience, SubscriptionPlace
from banyan.emergency.relay.services import GRADES_BELOW_RED, TEXT_MAX
from banyan.warning.choices import Grade

GRADE_CHOICES = [(code, label) for code, label in Grade.choices if code in GRADES_BELOW_RED]


class NoticeForm(forms.Form):
    """A community notice for an emergency: the Chinese text, the English one if any, and to whom."""

    text_zh = forms.CharField(
        label=_("Notice in Chinese"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )
    text_en = forms.CharField(
        label=_("Notice in English (optional)"),
        max_length=TEXT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    audience = forms.ChoiceField(label=_("Send to"), choices=Audience.choices, initial=Audience.AREA)


class SubscriptionForm(forms.Form):
    """Which warnings below red a resident wants, and for which place of their home."""

    place = forms.ChoiceField(
        label=_("Warnings that cover"),
        choices=SubscriptionPlace.choices,
        widget=forms.RadioSelect,
        initial=SubscriptionPlace.BUILDING,
    )
    grades = forms.MultipleChoiceField(
        label=_("Grades besides red"),
        choices=GRADE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class KnockForm(forms.Form):
    """Door-knocking for those not reached: the page says how many it listed, so that a stale page
    (the list changed meanwhile) makes nothing."""

    count = forms.IntegerField(label=_("Residents listed"), min_value=1, max_value=100_000)
