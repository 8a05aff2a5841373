"""Forms of the resident report pages: filing a report (category, place, description, photo) and
rating its outcome once the incident is closed.

Each works without JavaScript. A value that is not accepted is reported next to its field; a
service's ``InvalidInput`` is put next to the field it names (``add_service_error``).
"""

from __future__ import annotations

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from banyan.places.models import Building, Unit
from banyan.response.forms import ServiceErrorsMixin, category_label
from banyan.response.models import DESCRIPTION_MAX, RATING_COMMENT_MAX, Category

HOME = "home"
BUILDING = "building"
MAP = "map"

# Each category's icon: a symbol of Banyan's own SVG sprite (banyan/response/static/reports/icons.svg),
# always beside the category's name, never instead of it; drawn in the text's colour, hidden from
# screen readers. An unknown category gets "other".
CATEGORY_ICONS = frozenset(
    {
        "fire_smoke",
        "gas",
        "flooding",
        "fall_medical",
        "wellness_check",
        "crowding",
        "security",
        "repairs",
        "device_fault",
        "sanitation",
        "noise",
        "dispute",
        "other",
    }
)


def icon(category: Category) -> str:
    """The id of the category's symbol in the icon sprite."""
    return category.code if category.code in CATEGORY_ICONS else "other"


# What to do first, before reporting, for the categories where minutes count: the numbers to call
# (120 ambulance, 119 fire, 110 police) and a line of advice. Shown when the category is chosen on the
# form and on the report's page.
FIRST_AID = {
    "fall_medical": (
        ("120",),
        _(
            "Call 120 first. Do not lift someone who has fallen and cannot get up: keep them warm, "
            "stay with them, and let them lie still."
        ),
    ),
    "fire_smoke": (
        ("119",),
        _("Call 119 first. Leave by the stairs, never the lift; close the doors behind you."),
    ),
    "gas": (
        ("119",),
        _(
            "Leave, then call 119 from outside. No flames and no switches near the smell; open the "
            "windows only if it is safe."
        ),
    ),
    "security": (
        ("110",),
        _("If someone is in danger now, call 110 first."),
    ),
}


def first_aid(code: str) -> dict | None:
    """The first-aid advice of a category (``numbers`` to call, ``advice``), or None."""
    found = FIRST_AID.get(code)
    if found is None:
        return None
    numbers, advice = found
    return {"code": code, "numbers": numbers, "advice": advice}


class CategoryRadioSelect(forms.RadioSelect):
    """Radio buttons whose options carry their category's symbol as ``icon``: the page shows it beside
    the name (hidden from screen readers), both as text, so no label is ever markup."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.icons: dict[str, str] = {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex=subindex, attrs=attrs)
        option["icon"] = self.icons.get(str(value), "")
        return option


RATINGS = [
    (1, _("1 · Very poor")),
    (2, _("2 · Poor")),
    (3, _("3 · Acceptable")),
    (4, _("4 · Good")),
    (5, _("5 · Very good")),
]


def _coordinate(label, limit: int, not_a_number, out_of_range) -> forms.FloatField:
    """A latitude or longitude filled in by the map or the phone's position: a hidden input, never a
    box of numbers shown to the resident (the page says where in words)."""
    return forms.FloatField(
        label=label,
        required=False,
        min_value=-limit,
        max_value=limit,
        widget=forms.HiddenInput,
        error_messages={"invalid": not_a_number, "min_value": out_of_range, "max_value": out_of_range},
    )


class ReportForm(ServiceErrorsMixin, forms.Form):
    """What went wrong, where, and (optionally) a photo. ``buildings`` are those of the resident's
    community; "my home" is offered when the account is linked to a household."""

    category = forms.ChoiceField(
        label=_("What is the problem?"),
        widget=CategoryRadioSelect(attrs={"class": "choice-list"}),
        error_messages={
            "required": _("Choose what kind of problem it is."),
            "invalid_choice": _("Choose one of the kinds of problem listed."),
        },
    )
    place = forms.ChoiceField(
        label=_("Where is it?"),
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose where the problem is."),
            "invalid_choice": _("Choose one of the places listed."),
        },
    )
    building = forms.ChoiceField(
        label=_("Building"),
        required=False,
        error_messages={"invalid_choice": _("Choose a building of your community.")},
    )
    unit = forms.ChoiceField(
        label=_("Unit (optional)"),
        required=False,
        error_messages={"invalid_choice": _("Choose a unit of the building you chose.")},
    )
    description = forms.CharField(
        label=_("What happened?"),
        help_text=_("E.g. “Water is coming in under the stairwell door.” At most 4,000 characters."),
        required=False,
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "max_length": _(
                "Keep the description to at most %(limit_value)d characters (it has %(show_value)d)."
            ),
        },
    )
    latitude = _coordinate(
        _("Latitude"),
        90,
        _("The latitude is a number, e.g. 30.2512."),
        _("The latitude is between -90 and 90."),
    )
    longitude = _coordinate(
        _("Longitude"),
        180,
        _("The longitude is a number, e.g. 120.1634."),
        _("The longitude is between -180 and 180."),
    )
    photo = forms.FileField(
        label=_("Photo (optional)"),
        help_text=_("A JPEG, PNG or WebP picture of at most 5 MB. Its location data is removed."),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )

    def __init__(
        self, *args, has_home: bool, buildings: list[Building], language: str = "", **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        categories = list(Category.objects.filter(is_active=True))
        cast(forms.ChoiceField, self.fields["category"]).choices = [
            (c.code, category_label(c, language)) for c in categories
        ]
        self.fields["category"].widget.icons = {c.code: icon(c) for c in categories}
        places = [
            (BUILDING, _("A building in my community")),
            (MAP, _("A spot on the map, or where I am now")),
        ]
        if has_home:
            places.insert(0, (HOME, _("My home")))
            self.fields["place"].initial = HOME
        else:
            self.fields["place"].initial = BUILDING
        cast(forms.ChoiceField, self.fields["place"]).choices = places
        self.buildings = {b.code: b for b in buildings}
        cast(forms.ChoiceField, self.fields["building"]).choices = [
            ("", _("Choose a building")),
            *((b.code, b.name) for b in buildings),
        ]
        units = (
            Unit.objects.filter(building__in=buildings)
            .select_related("building")
            .order_by("building__code", "number")
        )
        self.units = {str(u.pk): u for u in units}
        grouped: dict[str, list[tuple[str, str]]] = {}
        for unit in units:
            grouped.setdefault(unit.building.name, []).append((str(unit.pk), unit.number))
        cast(forms.ChoiceField, self.fields["unit"]).choices = [
            ("", _("The whole building")),
            *grouped.items(),
        ]

    def clean(self):
        super().clean()
        data = self.cleaned_data
        if data.get("place") == BUILDING:
            code = data.get("building")
            if not code:
                self.add_error("building", _("Choose the building where the problem is."))
                return data
            unit = self.units.get(data.get("unit") or "")
            if unit is not None and unit.building.code != code:
                self.add_error("unit", _("That unit is not in the building you chose."))
        elif data.get("place") == MAP:
            for name in ("latitude", "longitude"):
                if data.get(name) is None and name not in self.errors:
                    self.add_error(
                        name, _("Tap the spot on the map, or use where you are now, so that we know where.")
                    )
        return data

    def place_arguments(self) -> dict:
        """The place as ``submit_report`` and ``possible_duplicates`` take it."""
        data = self.cleaned_data
        if data["place"] == HOME:
            return {"home": True}
        if data["place"] == MAP:
            return {"latitude": data["latitude"], "longitude": data["longitude"]}
        unit = self.units.get(data.get("unit") or "")
        if unit is not None:
            return {"unit": unit}
        return {"building": self.buildings[data["building"]]}


class RatingForm(ServiceErrorsMixin, forms.Form):
    """How well the problem was dealt with: 1 (very poor) to 5 (very good), and a comment."""

    rating = forms.TypedChoiceField(
        label=_("How well was it dealt with?"),
        choices=RATINGS,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose a rating from 1 to 5."),
            "invalid_choice": _("Choose a rating from 1 to 5."),
        },
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=RATING_COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "max_length": _(
                "Keep the comment to at most %(limit_value)d characters (it has %(show_value)d)."
            ),
        },
    )


class NotSolvedForm(ServiceErrorsMixin, forms.Form):
    """ "Not solved": what is still wrong; the report's incident is reopened with it."""

    reason = forms.CharField(
        label=_("What is still wrong?"),
        help_text=_("It goes back to those who dealt with it. At most 1,000 characters."),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": _("Say what is still wrong, so that they know what to do."),
            "max_length": _("Keep the reason to at most %(limit_value)d characters (it has %(show_value)d)."),
        },
    )
