"""Forms of the device pages: the list's filters, registering a device (its kind and where it stands,
picked by name), and taking one out of service or back. Places are offered by name from those in the
person's area; the services check the scope again."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from banyan.core.errors import BanyanError
from banyan.core.schemas import hidden_character
from banyan.places.words import facility_words, region_words
from banyan.sensing.choices import DeviceStatus
from banyan.sensing.kinds import KINDS
from banyan.sensing.models import DEVICE_CODE

ANY = ""
# What the list's "state" filter offers: the stored status, and two read from the device's reports.
ONLINE, OFFLINE, LOW_BATTERY, MAINTENANCE = "online", "offline", "low_battery", "maintenance"
# The resident it serves withdrew consent: its readings are dropped (banyan.sensing.consent).
NO_CONSENT = "no_consent"
MAX_INTERVAL_S = 7 * 86400


def kind_choices() -> list[tuple[str, str]]:
    return sorted(((code, str(kind.label)) for code, kind in KINDS.items()), key=lambda pair: pair[1])


def _region_choices(regions) -> list[tuple[str, str]]:
    return [(str(region.pk), region_words(region)) for region in regions]


def _building_choices(buildings) -> list[tuple[str, str]]:
    """A building by its name with its grid ("3幢 · 第一网格"): names repeat across grids."""
    return [
        (str(b.pk), _("%(building)s · %(grid)s") % {"building": b.name, "grid": region_words(b.grid)})
        for b in buildings
    ]


class DeviceFilterForm(forms.Form):
    """Which devices the list shows: of a community, grid or building (by name), of a kind, in a state.
    A value that is not a choice is reported next to its field and that filter is left out."""

    community = forms.ChoiceField(label=gettext_lazy("Community"), required=False)
    grid = forms.ChoiceField(label=gettext_lazy("Grid"), required=False)
    building = forms.ChoiceField(label=gettext_lazy("Building"), required=False)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), required=False)
    state = forms.ChoiceField(
        label=gettext_lazy("State"),
        required=False,
        choices=[
            (ANY, gettext_lazy("Any state")),
            (ONLINE, gettext_lazy("Online")),
            (OFFLINE, gettext_lazy("Offline: no report for too long")),
            (LOW_BATTERY, gettext_lazy("Low battery")),
            (MAINTENANCE, gettext_lazy("Out of service")),
            (NO_CONSENT, pgettext_lazy("device state", "Consent withdrawn: readings dropped")),
        ],
    )

    def __init__(self, *args, communities, grids, buildings, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices: dict[str, list[tuple[str, str]]] = {
            "community": [(ANY, _("Every community")), *_region_choices(communities)],
            "grid": [(ANY, _("Every grid")), *_region_choices(grids)],
            "building": [(ANY, _("Every building")), *_building_choices(buildings)],
            "kind": [(ANY, _("Every kind")), *kind_choices()],
        }
        for name, values in choices.items():
            cast(forms.ChoiceField, self.fields[name]).choices = values

    def filters(self) -> dict[str, str]:
        self.is_valid()
        return {name: self.cleaned_data.get(name) or "" for name in self.fields}


class DeviceForm(forms.Form):
    """A new device: its code (the id in its MQTT topic), kind, and where it stands — a grid, or a
    building (and a unit in it, by its number), or a facility. ``data()`` gives ``services.create_device``
    the ids it takes (``service_data``)."""

    code = forms.CharField(
        label=gettext_lazy("Device code"),
        max_length=64,
        help_text=gettext_lazy("As printed on the device or set in its gateway, e.g. SMK-3-2-2201."),
        error_messages={"required": gettext_lazy("Give the device's code.")},
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"), error_messages={"required": gettext_lazy("Choose the kind of device.")}
    )
    grid = forms.ChoiceField(
        label=gettext_lazy("Grid"),
        required=False,
        help_text=gettext_lazy("Needed when no building or facility is chosen."),
    )
    building = forms.ChoiceField(label=gettext_lazy("Building"), required=False)
    unit = forms.CharField(
        label=gettext_lazy("Unit in that building"),
        max_length=32,
        required=False,
        help_text=gettext_lazy("Its number as the building's page shows it, e.g. 2-22-2201 for 2单元2201."),
    )
    facility = forms.ChoiceField(label=gettext_lazy("Facility"), required=False)
    expected_interval_s = forms.IntegerField(
        label=gettext_lazy("Reports at least every (seconds)"),
        required=False,
        min_value=1,
        max_value=MAX_INTERVAL_S,
        help_text=gettext_lazy("Leave it empty for the kind's usual interval."),
    )

    def __init__(self, *args, grids, buildings, facilities, units, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.units = units  # the units the person may place a device in, to find one by its number
        choices: dict[str, list[tuple[str, str]]] = {
            "kind": [(ANY, _("Choose a kind")), *kind_choices()],
            "grid": [(ANY, _("None")), *_region_choices(grids)],
            "building": [(ANY, _("None")), *_building_choices(buildings)],
            "facility": [(ANY, _("None")), *((str(f.pk), facility_words(f)) for f in facilities)],
        }
        for name, values in choices.items():
            cast(forms.ChoiceField, self.fields[name]).choices = values

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if hidden_character(code) or not DEVICE_CODE.match(code):
            raise forms.ValidationError(
                _(
                    "A device code is 1–64 letters, digits, '_', '.', ':' or '-' "
                    "(it is one level of an MQTT topic)."
                )
            )
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        number = (data.get("unit") or "").strip()
        data["unit_id"] = None
        if number:
            if not data.get("building"):
                self.add_error("unit", _("Choose the building the unit is in."))
            else:
                unit = self.units.filter(building_id=data["building"], number=number).first()
                if unit is None:
                    self.add_error("unit", _("That building has no unit %(number)s.") % {"number": number})
                else:
                    data["unit_id"] = unit.pk
        return data

    def service_data(self) -> dict[str, Any]:
        """What ``services.create_device`` takes."""
        data = self.cleaned_data
        return {
            "code": data["code"],
            "kind": data["kind"],
            "grid": int(data["grid"]) if data.get("grid") else None,
            "building": int(data["building"]) if data.get("building") else None,
            "unit": data["unit_id"],
            "facility": int(data["facility"]) if data.get("facility") else None,
            "expected_interval_s": data.get("expected_interval_s"),
        }

    def add_service_error(self, exc: BanyanError) -> None:
        """Put a service's ``InvalidInput`` (or a place it did not find) next to the field it names."""
        field = exc.field if exc.field in self.fields else None
        self.add_error(field, exc.message)


class DeviceStatusForm(forms.Form):
    """Taking a device out of service (status maintenance: retired, or away for repair; listed as out of
    service, and readings no longer bring it back online) or putting it back into service."""

    status = forms.ChoiceField(
        choices=[(DeviceStatus.MAINTENANCE, ""), (DeviceStatus.ONLINE, "")],
        error_messages={
            "required": gettext_lazy("Say whether the device goes out of service or back into it."),
            "invalid_choice": gettext_lazy("Say whether the device goes out of service or back into it."),
        },
    )


class DeviceImportForm(forms.Form):
    """A device list (.csv or .xlsx) for one community in the person's area, checked only (the default)
    or imported (``device_import.import_devices``: all rows or none). The file is read in the request and
    not kept."""

    community = forms.ChoiceField(
        label=gettext_lazy("Community"),
        error_messages={
            "required": gettext_lazy("Choose the community the devices are in."),
            "invalid_choice": gettext_lazy("Choose one of the communities in your area."),
        },
    )
    file = forms.FileField(
        label=gettext_lazy("Device list (.csv or .xlsx)"),
        widget=forms.FileInput(attrs={"accept": ".csv,.xlsx"}),
        help_text=gettext_lazy(
            "One device a row: code, kind, and a building (and unit), a facility, or a latitude and "
            "longitude; optionally the installed date and a note."
        ),
        error_messages={
            "required": gettext_lazy("Choose a device list."),
            "empty": gettext_lazy("The file is empty; the first row must name the columns."),
        },
    )
    dry_run = forms.BooleanField(
        label=gettext_lazy("Check only: list the problems and import nothing"),
        required=False,
        initial=True,
    )

    def __init__(self, *args, communities, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["community"]).choices = [
            (ANY, _("Choose a community")),
            *((region.code, region_words(region)) for region in communities),
        ]
