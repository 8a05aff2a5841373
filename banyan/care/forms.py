from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from banyan.care.choices import Channel, Escalation, Outcome
from banyan.care.services import NOTE_MAX, STAFF_CHANNELS
from banyan.response.forms import ServiceErrorsMixin


class StaffCheckInForm(ServiceErrorsMixin, forms.Form):
    """A check-in recorded by staff or a carer for a resident: how they are, how it was learnt."""

    outcome = forms.ChoiceField(label=_("How are they?"), choices=Outcome.choices, widget=forms.RadioSelect)
    channel = forms.ChoiceField(
        label=_("How did you check?"),
        choices=[(value, Channel(value).label) for value in STAFF_CHANNELS],
        initial=Channel.STAFF,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Optional. No health details: they belong in the care profile."),
    )

    def clean_note(self) -> str:
        note = self.cleaned_data["note"]
        if "\x00" in note:
            raise forms.ValidationError(_("The note contains a character that cannot be stored."))
        return note


class PlanForm(ServiceErrorsMixin, forms.Form):
    """A care plan's timing, channels and escalation (the channels are tried in the order shown)."""

    daily_checkin = forms.BooleanField(label=_("Ask every day"), required=False)
    checkin_time = forms.TimeField(
        label=_("Daily check-in at"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    grace_minutes = forms.IntegerField(label=_("Grace period (minutes)"), min_value=1, max_value=1440)
    visit_interval_days = forms.IntegerField(label=_("Visit every (days)"), min_value=1, max_value=365)
    channels = forms.MultipleChoiceField(
        label=_("Channels, tried in this order"), choices=Channel.choices, widget=forms.CheckboxSelectMultiple
    )
    escalation = forms.ChoiceField(label=_("A missed check-in leads to"), choices=Escalation.choices)
    is_active = forms.BooleanField(label=_("Active"), required=False)

    def clean_channels(self) -> list[str]:
        chosen = self.cleaned_data["channels"]
        return [value for value in Channel.values if value in chosen]
