"""Forms of the hazard register and the plan editor: the plan's sections as forms, its tasks, notices
and supplies as rows (formsets), so that nobody edits raw JSON and every error shows at its field."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.forms import formset_factory
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from banyan.core.choices import Role
from banyan.emergency import plans
from banyan.people.choices import OrganisationKind
from banyan.places.choices import FacilityKind
from banyan.response.catalogue import CATEGORIES
from banyan.response.forms import ServiceErrorsMixin

SCORES = [(n, str(n)) for n in range(1, 6)]
# A row's lists start blank, so that the blank row at the end of each list stays unchanged (and is left
# out) unless someone fills it in.
BLANK = [("", "—")]


class CleanTextMixin:
    """Refuses NUL characters in every text field, at the field."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # type: ignore[misc]
        for name, value in list(cleaned.items()):
            if isinstance(value, str) and "\x00" in value:
                self.add_error(name, _("The text contains a character that cannot be stored."))  # type: ignore[attr-defined]
        return cleaned


class HazardForm(ServiceErrorsMixin, CleanTextMixin, forms.Form):
    likelihood = forms.TypedChoiceField(
        label=_("Likelihood (1 rare – 5 almost certain)"), choices=SCORES, coerce=int
    )
    impact = forms.TypedChoiceField(label=_("Impact (1 minor – 5 catastrophic)"), choices=SCORES, coerce=int)
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )


def _role_choices():
    return [*BLANK, *((str(role), Role(role).label) for role in plans.OWNER_ROLES)]


def _alert_choices():
    chinese = (get_language() or "").startswith("zh")
    return [(code, zh if chinese else en) for code, zh, en, *_rest in CATEGORIES]


class PlanSectionsForm(ServiceErrorsMixin, CleanTextMixin, forms.Form):
    """The plan's titles, who leads, what triggers it, the facilities to open, the roll call's wait and
    the note that says what this version changes."""

    title_zh = forms.CharField(label=_("Chinese title"), max_length=plans.TITLE_MAX)
    title_en = forms.CharField(label=_("English title"), max_length=plans.TITLE_MAX, required=False)
    lead_organisation_kind = forms.ChoiceField(label=_("Body in charge"), choices=OrganisationKind.choices)
    lead_role = forms.ChoiceField(label=_("Role in charge"), choices=())
    manual = forms.BooleanField(label=_("A director may activate it"), required=False)
    cap_events = forms.CharField(
        label=_("Government warnings (CAP event names) that propose it"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One name per line, in Chinese and in English as the warnings carry them. Empty: none."),
    )
    cap_min_severity = forms.ChoiceField(
        label=_("From the warning severity"), choices=list(plans.SEVERITY_LABELS.items())
    )
    alert_rules = forms.MultipleChoiceField(
        label=_("Local alerts (by incident category) that propose it"),
        required=False,
        choices=(),
        widget=forms.CheckboxSelectMultiple,
    )
    facilities = forms.MultipleChoiceField(
        label=_("Facilities to open"),
        required=False,
        choices=[(str(kind), FacilityKind(kind).label) for kind in plans.OPENABLE_FACILITIES],
        widget=forms.CheckboxSelectMultiple,
    )
    roll_call = forms.BooleanField(label=_("Ask every household “are you safe?”"), required=False)
    roll_call_wait = forms.IntegerField(
        label=_("Send someone to those who have not answered after (minutes)"),
        required=False,
        min_value=1,
        max_value=plans.WAIT_MAX,
    )
    roll_call_vulnerable_wait = forms.IntegerField(
        label=_("Send someone sooner to a household with someone in care: after (minutes)"),
        required=False,
        min_value=1,
        max_value=plans.WAIT_MAX,
        help_text=_("At most the wait above; 5 minutes if left empty."),
    )
    call_up = forms.BooleanField(
        label=_("Call up the community's volunteers when the plan is activated"), required=False
    )
    call_up_hours = forms.IntegerField(
        label=_("They are on duty for (hours)"),
        required=False,
        min_value=1,
        max_value=plans.CALL_UP_MAX_HOURS,
    )
    change_note = forms.CharField(
        label=_("What this version changes"),
        max_length=plans.NOTE_MAX,
        help_text=_("Required: the versions list shows it."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["lead_role"]).choices = _role_choices()
        cast(forms.ChoiceField, self.fields["alert_rules"]).choices = _alert_choices()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("roll_call") and not cleaned.get("roll_call_wait"):
            self.add_error("roll_call_wait", _("Say how long to wait for an answer."))
        wait, sooner = cleaned.get("roll_call_wait"), cleaned.get("roll_call_vulnerable_wait")
        if cleaned.get("roll_call") and wait and sooner and sooner > wait:
            self.add_error(
                "roll_call_vulnerable_wait",
                _("At most the wait for the other households (%(wait)d minutes).") % {"wait": wait},
            )
        if cleaned.get("call_up") and not cleaned.get("call_up_hours"):
            self.add_error("call_up_hours", _("Say for how many hours they are called up."))
        return cleaned

    def cap_event_list(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data.get("cap_events", "").splitlines() if line.strip()]


class TaskRowForm(CleanTextMixin, forms.Form):
    key = forms.CharField(label=_("Key"), max_length=64, help_text=_("Stable across versions: a-z, 0-9, _"))
    title_zh = forms.CharField(label=_("Task (Chinese)"), max_length=plans.TITLE_MAX)
    title_en = forms.CharField(label=_("Task (English)"), max_length=plans.TITLE_MAX, required=False)
    owner_kind = forms.ChoiceField(label=_("Owner body"), choices=[*BLANK, *OrganisationKind.choices])
    owner_role = forms.ChoiceField(label=_("Owner role"), choices=())
    due_minutes = forms.IntegerField(
        label=_("Due (minutes after activation)"), min_value=0, max_value=plans.DUE_MAX
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["owner_role"]).choices = _role_choices()


class NoticeRowForm(CleanTextMixin, forms.Form):
    key = forms.CharField(label=_("Key"), max_length=64)
    audience = forms.ChoiceField(label=_("To"), choices=[*BLANK, *plans.AUDIENCES.items()])
    text_zh = forms.CharField(
        label=_("Text (Chinese)"), max_length=plans.NOTICE_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )
    text_en = forms.CharField(
        label=_("Text (English)"),
        max_length=plans.NOTICE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels"), choices=list(plans.NOTICE_CHANNELS.items()), widget=forms.CheckboxSelectMultiple
    )


class SupplyRowForm(forms.Form):
    kind = forms.ChoiceField(label=_("Supply"), choices=[*BLANK, *plans.SUPPLY_KINDS.items()])
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=plans.QUANTITY_MAX)


ROWS_MAX = plans.LIST_MAX
TaskFormSet = formset_factory(TaskRowForm, extra=1, can_delete=True, max_num=ROWS_MAX, validate_max=True)
NoticeFormSet = formset_factory(NoticeRowForm, extra=1, can_delete=True, max_num=ROWS_MAX, validate_max=True)
SupplyFormSet = formset_factory(SupplyRowForm, extra=1, can_delete=True, max_num=ROWS_MAX, validate_max=True)
