"""Forms of the flats page (``/people/units/import/``): a flat list to check or import for one community
of the person's area (``unit_import.import_units``), and the generator's flats per floor and typical
area (``unit_import.generate_community_units``)."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from banyan.people.unit_import import MAX_AREA, MAX_FLATS_PER_FLOOR
from banyan.places.words import region_words

ANY = ""
DAMAGED = gettext_lazy("The form came back damaged (its step is unknown); check the file again.")


def _community_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label=gettext_lazy("Community"),
        error_messages={
            "required": gettext_lazy("Choose the community the buildings are in."),
            "invalid_choice": gettext_lazy("Choose one of the communities in your area."),
        },
    )


class _CommunityForm(forms.Form):
    def __init__(self, *args, communities, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["community"]).choices = [
            (ANY, _("Choose a community")),
            *((region.code, region_words(region)) for region in communities),
        ]


class UnitImportForm(_CommunityForm):
    """A flat list (.csv or .xlsx) for one community, checked only (``dry_run``, the default) or imported.

    The file is read in the request and not kept: a real run needs the file chosen again; ``checked``
    carries a keyed digest of the file that passed the check, so that another file is only checked.
    """

    community = _community_field()
    file = forms.FileField(
        label=gettext_lazy("Flat list (.csv or .xlsx)"),
        widget=forms.FileInput(attrs={"accept": ".csv,.xlsx"}),
        error_messages={
            "required": gettext_lazy("Choose a flat list."),
            "empty": gettext_lazy("The file is empty; the first row must name the columns."),
        },
    )
    dry_run = forms.TypedChoiceField(
        choices=[("1", "1"), ("0", "0")],
        coerce=lambda value: value != "0",
        empty_value=True,  # type: ignore[arg-type]  # any value, says Django; the stubs allow str | None
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": DAMAGED},
    )
    checked = forms.CharField(
        required=False,
        max_length=64,
        widget=forms.HiddenInput,
        error_messages={"max_length": DAMAGED},
    )


class UnitGenerateForm(_CommunityForm):
    """Flats for every building of a community that has none: so many on each floor, of a typical area."""

    community = _community_field()
    flats_per_floor = forms.IntegerField(
        label=gettext_lazy("Flats on each floor of an entrance"),
        min_value=1,
        max_value=MAX_FLATS_PER_FLOOR,
        error_messages={
            "required": gettext_lazy("Give how many flats each floor has, e.g. 2."),
            "invalid": gettext_lazy("Give a whole number, e.g. 2."),
            "min_value": gettext_lazy("At least 1 flat a floor."),
            "max_value": gettext_lazy("At most %(limit_value)s flats a floor."),
        },
    )
    area_m2 = forms.DecimalField(
        label=gettext_lazy("Typical area of a flat (m²)"),
        min_value=Decimal("0.01"),
        max_value=MAX_AREA,
        max_digits=8,
        decimal_places=2,
        help_text=gettext_lazy("Every flat gets this area; correct them later by importing the flat list."),
        error_messages={
            "required": gettext_lazy("Give the typical area in m², e.g. 89.5."),
            "invalid": gettext_lazy("Give the area as a number of m², e.g. 89.5."),
            "min_value": gettext_lazy("The area must be more than 0 m²."),
            "max_value": gettext_lazy("At most %(limit_value)s m²."),
            "max_digits": gettext_lazy("Give the area as a number of m², e.g. 89.5."),
            "max_decimal_places": gettext_lazy("At most two decimals, e.g. 89.55."),
            "max_whole_digits": gettext_lazy("Give the area as a number of m², e.g. 89.5."),
        },
    )
    first_floor = forms.IntegerField(
        label=gettext_lazy("Lowest floor with flats"),
        min_value=1,
        max_value=200,
        initial=1,
        required=False,
        help_text=gettext_lazy("2 when the ground floor holds shops or a lobby."),
        error_messages={
            "invalid": gettext_lazy("Give a whole number, e.g. 1."),
            "min_value": gettext_lazy("The lowest floor with flats is 1 or above."),
            "max_value": gettext_lazy("At most floor %(limit_value)s."),
        },
    )
