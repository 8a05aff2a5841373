"""The forms of the emergency list and board: activate a plan, change the level or the area, stand
down, give a task to someone. The services check everything again (scope, states, the area's grids and
buildings); these forms only offer the choices and say what is wrong at the field."""

from __future__ import annotations

from typing import cast

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from banyan.emergency.choices import HazardKind, Level
from banyan.emergency.services import NOTE_MAX, RETENTION_DAYS, TITLE_MAX
from banyan.places.models import Building, Region
from banyan.response.forms import ServiceErrorsMixin

# The levels as the pages name them (Chinese: 一级 … 四级, the words of the Emergency Response Law).
LEVEL_NAMES = {
    1: _("Level I, red"),
    2: _("Level II, orange"),
    3: _("Level III, yellow"),
    4: _("Level IV, blue"),
}
LEVEL_CHOICES = [(level, LEVEL_NAMES[level]) for level in Level.values]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise forms.ValidationError(_("The text contains a character that cannot be stored."))
    return value


def _name(region_or_building) -> str:
    english = (get_language() or "").startswith("en")
    if isinstance(region_or_building, Building):
        return region_or_building.name
    return (region_or_building.name_en if english and region_or_building.name_en else "") or (
        region_or_building.name_zh
    )


class AreaFields(forms.Form):
    """Grids and buildings of the community (none of either: the whole community)."""

    area_grids = forms.MultipleChoiceField(
        label=_("Affected grids"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None chosen: the whole community."),
    )
    area_buildings = forms.MultipleChoiceField(
        label=_("Affected buildings"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("Optional: single buildings, besides the grids chosen."),
    )

    def set_area_choices(self, communities) -> None:
        grids = Region.objects.filter(kind="grid", parent__in=communities).order_by("parent__code", "code")
        buildings = Building.objects.filter(grid__parent__in=communities).order_by("grid__code", "code")
        cast(forms.MultipleChoiceField, self.fields["area_grids"]).choices = [
            (str(grid.pk), _name(grid)) for grid in grids
        ]
        cast(forms.MultipleChoiceField, self.fields["area_buildings"]).choices = [
            (str(building.pk), building.name) for building in buildings[:2000]
        ]


class ActivateForm(ServiceErrorsMixin, AreaFields):
    """ "Activate a plan": the community (when the manager serves several), hazard, level, area, title."""

    community = forms.ChoiceField(label=_("Community"))
    hazard = forms.ChoiceField(label=_("Hazard"), choices=HazardKind.choices)
    level = forms.TypedChoiceField(label=_("Level"), choices=LEVEL_CHOICES, coerce=int)
    title = forms.CharField(
        label=_("Title"),
        required=False,
        max_length=TITLE_MAX,
        help_text=_("Optional: the plan's title by default."),
    )

    field_order = ["community", "hazard", "level", "area_grids", "area_buildings", "title"]

    def __init__(self, *args, communities, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        communities = list(communities)
        cast(forms.ChoiceField, self.fields["community"]).choices = [
            (str(c.pk), _name(c)) for c in communities
        ]
        if len(communities) == 1:
            self.fields["community"].initial = str(communities[0].pk)
            self.fields["community"].widget = forms.HiddenInput()
        self.set_area_choices(communities)

    def clean_title(self) -> str:
        return _no_nul(self.cleaned_data["title"])


class LevelForm(ServiceErrorsMixin, forms.Form):
    level = forms.TypedChoiceField(label=_("New level"), choices=LEVEL_CHOICES, coerce=int)
    note = forms.CharField(label=_("Why"), required=False, max_length=NOTE_MAX)

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "level-%s")  # the board shows three forms: ids of their own
        super().__init__(*args, **kwargs)

    def clean_note(self) -> str:
        return _no_nul(self.cleaned_data["note"])


class AreaForm(ServiceErrorsMixin, AreaFields):
    note = forms.CharField(label=_("Why"), required=False, max_length=NOTE_MAX)

    def __init__(self, *args, community: Region, **kwargs) -> None:
        kwargs.setdefault("auto_id", "area-%s")
        super().__init__(*args, **kwargs)
        self.set_area_choices([community])

    def clean_note(self) -> str:
        return _no_nul(self.cleaned_data["note"])


class StandDownForm(ServiceErrorsMixin, forms.Form):
    retention_days = forms.IntegerField(
        label=_("Keep its data (days)"),
        min_value=RETENTION_DAYS[0],
        max_value=RETENTION_DAYS[1],
        initial=30,
        help_text=_("What was gathered for the emergency is purged after this many days."),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=NOTE_MAX)

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "stand-down-%s")
        super().__init__(*args, **kwargs)

    def clean_note(self) -> str:
        return _no_nul(self.cleaned_data["note"])


class AssignForm(ServiceErrorsMixin, forms.Form):
    assignee = forms.ChoiceField(label=_("Give to"))

    def __init__(self, *args, people, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["assignee"]).choices = [
            (str(person.pk), person.display_name) for person in people
        ]
