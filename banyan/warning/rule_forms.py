"""Forms of the rule pages: the list's filters, and a rule's name, grade, state, incident category and
settings (the kind's fields, as a JSON object the engine checks).

The engine (``warning/engine``, plain Python) names the field it refuses in English; the form puts the
problem next to the field it names and says it in the page's language (``engine_problem``).
"""

from __future__ import annotations

import json
import re
from typing import Any, cast

from django import forms
from django.apps import apps
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from banyan.core.errors import InvalidInput
from banyan.core.schemas import hidden_character
from banyan.places.models import Region
from banyan.warning.choices import Grade, RuleKind
from banyan.warning.models import RULE_COLUMNS, Rule

ANY = ""
ACTIVE = "active"
INACTIVE = "inactive"
SETTINGS_BYTES = 16 * 1024

# Each kind of rule as people say it (the engine's kinds: docs/adr/0005-rule-engine.md).
KIND_LABELS = {
    "threshold": gettext_lazy("A value passes a limit"),
    "sustained": gettext_lazy("A condition lasts a while"),
    "rate_of_change": gettext_lazy("A value changes fast"),
    "no_data": gettext_lazy("Too little activity"),
    "offline": gettext_lazy("A device goes silent"),
    "count_window": gettext_lazy("Repeated events in a time window"),
    "composite": gettext_lazy("Several conditions in one place"),
    "crowd_density": gettext_lazy("Crowd density"),
}


# What each setting of the engine's rule dict means, for the form's glossary (docs/adr/0005-rule-engine.md):
# the meaning, and the values a setting takes as they are typed, each with its meaning.
SETTING_HELP: dict[str, tuple[Any, tuple[tuple[str, Any], ...]]] = {
    "metric": (gettext_lazy("the measure the rule reads, as the devices report it"), ()),
    "raise_at": (gettext_lazy("the value at which the alert is raised"), ()),
    "direction": (
        gettext_lazy("which way the value reaches that limit"),
        (("above", gettext_lazy("rising to it")), ("below", gettext_lazy("falling to it"))),
    ),
    "clear_below": (gettext_lazy("for a rising value: the value under which the alert clears"), ()),
    "clear_above": (gettext_lazy("for a falling value: the value over which the alert clears"), ()),
    "op": (gettext_lazy("how a reading is compared: >, >=, <, <=, == or !="), ()),
    "value": (gettext_lazy("the value a reading is compared with"), ()),
    "duration_s": (gettext_lazy("how many seconds the condition must last"), ()),
    "limit": (gettext_lazy("the change per minute that raises the alert"), ()),
    "window_s": (gettext_lazy("the time window looked at, in seconds"), ()),
    "measure": (
        gettext_lazy("what is measured in the window"),
        (
            ("count", gettext_lazy("the number of readings")),
            ("sum", gettext_lazy("the sum of their values")),
            ("delta", gettext_lazy("the rise of a meter reading")),
        ),
    ),
    "below": (gettext_lazy("the alert is raised when the measure stays below this"), ()),
    "interval_s": (gettext_lazy("how often the devices report, in seconds"), ()),
    "missed": (gettext_lazy("how many reports may be missed before the alert"), ()),
    "count": (gettext_lazy("how many readings within the window raise the alert"), ()),
    "per": (
        gettext_lazy("what is counted"),
        (("device", gettext_lazy("each device on its own")), ("place", gettext_lazy("each place"))),
    ),
    "mode": (
        gettext_lazy("which of the conditions must hold"),
        (("all", gettext_lazy("every one")), ("any", gettext_lazy("one of them"))),
    ),
    "conditions": (gettext_lazy("the conditions, each with a measure, a comparison and a value"), ()),
    "within_s": (gettext_lazy("the seconds within which the conditions must hold together"), ()),
    "areas_m2": (gettext_lazy("each place's area in m²"), ()),
    "levels": (gettext_lazy("the persons per m² at which each grade begins"), ()),
    "hysteresis": (gettext_lazy("how far below a level the density must fall to leave its grade"), ()),
    "device_codes": (gettext_lazy("only these devices (their codes)"), ()),
    "device_kinds": (gettext_lazy("only devices of these kinds"), ()),
    "places": (gettext_lazy("only devices in these places (their codes)"), ()),
}
SETTINGS_EXAMPLE = '{"metric": "water_level_cm", "raise_at": 50, "clear_below": 40}'


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def grade_label(grade: str) -> str:
    """The grade in words; a crowd density rule has none of its own (its levels give the grades)."""
    if not grade:
        return _("From its levels")
    return str(dict(Grade.choices).get(grade, grade))


def region_name(region: Region) -> str:
    if not (get_language() or "").startswith("zh") and region.name_en:
        return region.name_en
    return region.name_zh


# --- incident categories, by name --------------------------------------------------------------
# Incidents and their catalogue are response's, above warning: the rule model itself reads the
# catalogue through the app registry (``Rule.clean``); the form lists it the same way, never by import.


def category_choices() -> list[tuple[str, str]]:
    """The active incident categories, by name in the page's language, in the catalogue's order."""
    english = not (get_language() or "").startswith("zh")
    categories = apps.get_model("response", "Category").objects.filter(is_active=True)
    rows = categories.order_by("position", "code").values_list("code", "name_zh", "name_en")
    return [(code, (name_en if english and name_en else name_zh)) for code, name_zh, name_en in rows]


def category_names() -> dict[str, str]:
    return dict(category_choices())


# --- the engine's problems in the page's language ---------------------------------------------------

_ENGINE_PROBLEMS: tuple[tuple[re.Pattern[str], Any], ...] = tuple(
    (re.compile(pattern), message)
    for pattern, message in (
        (r"is required: a non-empty string", gettext_lazy("is required: a text")),
        (r"must be a non-empty string", gettext_lazy("must be a text that is not empty")),
        (r"must be one of (?P<choices>.+)", gettext_lazy("must be one of %(choices)s")),
        (r"is required: a number", gettext_lazy("is required: a number")),
        (r"must be a finite number", gettext_lazy("must be a number")),
        (r"must be greater than 0", gettext_lazy("must be greater than 0")),
        (r"must be at least (?P<minimum>\S+)", gettext_lazy("must be at least %(minimum)s")),
        (
            r"must be a whole number, at least (?P<minimum>\S+)",
            gettext_lazy("must be a whole number, at least %(minimum)s"),
        ),
        (r"must be true or false", gettext_lazy("must be true or false")),
        (r"must be a list of non-empty strings", gettext_lazy("must be a list of texts, none of them empty")),
        (
            r"is not a field of a \S+ rule; accepted: (?P<accepted>.+)",
            gettext_lazy("is not a setting of this kind of rule; accepted: %(accepted)s"),
        ),
        (
            r"a crowd_density rule takes its grades from levels",
            gettext_lazy("a crowd density rule takes its grades from its levels: leave the grade empty"),
        ),
        (
            r"is for direction 'below'; with 'above' use clear_below",
            gettext_lazy("is for the direction “below”; with “above” use clear_below"),
        ),
        (
            r"is for direction 'above'; with 'below' use clear_above",
            gettext_lazy("is for the direction “above”; with “below” use clear_above"),
        ),
        (
            r"must be at most raise_at \((?P<value>[^)]+)\) for hysteresis",
            gettext_lazy("must be at most raise_at (%(value)s), so that the alert does not flicker"),
        ),
        (
            r"must be at least raise_at \((?P<value>[^)]+)\) for hysteresis",
            gettext_lazy("must be at least raise_at (%(value)s), so that the alert does not flicker"),
        ),
        (
            r"a delta of a cumulative counter takes no condition; use 'count' or 'sum'",
            gettext_lazy("a rise of a meter reading takes no condition; use the measure count or sum"),
        ),
        (
            r"must be a list of at least two \{metric, op, value\} objects",
            gettext_lazy("must be a list of at least two conditions, each with metric, op and value"),
        ),
        (
            r"must be an object with metric, op and value",
            gettext_lazy("must be a condition with metric, op and value"),
        ),
        (
            r"is not a condition field; accepted: metric, op, value",
            gettext_lazy("is not part of a condition; accepted: metric, op, value"),
        ),
        (
            r"must map at least one place key to its area in m²",
            gettext_lazy("must give at least one place with its area in m²"),
        ),
        (
            r"must map grades \((?P<grades>.+)\) to persons per m²",
            gettext_lazy("must give each grade (%(grades)s) its persons per m²"),
        ),
        (r"is not a grade; accepted: (?P<grades>.+)", gettext_lazy("is not a grade; accepted: %(grades)s")),
        (
            r"must be greater than the level of every lower grade",
            gettext_lazy("must be greater than the level of every lower grade"),
        ),
        (
            r"must be below the lowest level \((?P<value>\S+) persons/m²\)",
            gettext_lazy("must be below the lowest level (%(value)s persons per m²)"),
        ),
    )
)


def engine_problem(field: str, message: str) -> str:
    """A service's message about ``field`` (``"raise_at: must be a finite number"``, or already in the
    page's language) in the page's language, without the field's name in front."""
    text = message.removeprefix(f"{field}: ").strip()
    for pattern, words in _ENGINE_PROBLEMS:
        match = pattern.fullmatch(text)
        if match is not None:
            return str(words) % match.groupdict() if match.groupdict() else str(words)
    return text


# --- the list's filters --------------------------------------------------------------------------


class RuleFilterForm(forms.Form):
    """Which rules the list shows: of one community (by name), active or not. A value that is not a
    choice is reported next to its field and that filter is left out."""

    community = forms.ChoiceField(label=gettext_lazy("Community"), required=False)
    state = forms.ChoiceField(
        label=gettext_lazy("State"),
        required=False,
        choices=[
            (ANY, gettext_lazy("Active or not")),
            (ACTIVE, gettext_lazy("Active")),
            (INACTIVE, gettext_lazy("Switched off")),
        ],
    )

    def __init__(self, *args, communities: list[Region], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["community"])
        field.choices = [(ANY, _("Every community")), *((c.code, region_name(c)) for c in communities)]

    def filters(self) -> dict[str, str]:
        self.is_valid()
        return {
            "community": self.cleaned_data.get("community") or "",
            "state": self.cleaned_data.get("state") or "",
        }


# --- a rule --------------------------------------------------------------------------------------


def _plain_text(value: str) -> str:
    found = hidden_character(value)
    if found:
        raise forms.ValidationError(
            _("Must not hold control, zero-width or text-direction characters (found %(character)s)."),
            params={"character": found},
        )
    return value.strip()


def settings_text(params: dict) -> str:
    """A rule's settings as the form shows them: a JSON object, one setting a line."""
    return json.dumps(params or {}, ensure_ascii=False, indent=2, sort_keys=True)


class RuleForm(forms.Form):
    """A rule's name (Chinese, and English for English pages), grade, state, the incident each alert
    opens and the kind's settings. For a new rule also its kind and community (``new=True``)."""

    kind = forms.ChoiceField(label=gettext_lazy("Kind"))
    community = forms.ChoiceField(label=gettext_lazy("Community"))
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("In Chinese, as residents and staff say it, e.g. “地下车库积水”."),
        error_messages={"required": gettext_lazy("Give the rule a name.")},
    )
    name_en = forms.CharField(
        label=gettext_lazy("Name in English"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("Shown on English pages; leave it empty to show the name."),
    )
    grade = forms.ChoiceField(
        label=gettext_lazy("Grade"),
        required=False,
        help_text=gettext_lazy("Leave it empty only for a crowd density rule, which grades by its levels."),
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active: the rule raises alerts"), required=False)
    auto_clear = forms.BooleanField(
        label=gettext_lazy("The alert clears by itself when the readings are back to normal"), required=False
    )
    incident_category = forms.ChoiceField(
        label=gettext_lazy("Each alert opens an incident of"),
        required=False,
    )
    settings = forms.CharField(
        label=gettext_lazy("Settings of the kind"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "class": "rule-settings"}),
        help_text=gettext_lazy(
            "A JSON object of the kind's settings (their meanings are listed below the box). Each problem is "
            "shown here with the setting it concerns."
        ),
    )

    def __init__(
        self,
        *args,
        rule: Rule | None = None,
        communities: list[Region] | None = None,
        **kwargs,
    ) -> None:
        self.rule = rule
        if rule is not None and not kwargs.get("data") and not args:
            kwargs.setdefault("initial", self.initial_for(rule))
        super().__init__(*args, **kwargs)
        fields = self.fields
        cast(forms.ChoiceField, fields["grade"]).choices = [
            ("", _("None: it grades by its levels")),
            *reversed(Grade.choices),
        ]
        categories = category_choices()
        if rule is not None and rule.incident_category and rule.incident_category not in dict(categories):
            categories.append((rule.incident_category, _("A category no longer in use")))
        cast(forms.ChoiceField, fields["incident_category"]).choices = [
            ("", _("None: alerts only")),
            *categories,
        ]
        if rule is not None:
            del fields["kind"], fields["community"]
        else:
            cast(forms.ChoiceField, fields["kind"]).choices = [
                (kind, kind_label(kind)) for kind in RuleKind.values
            ]
            cast(forms.ChoiceField, fields["community"]).choices = [
                (c.code, region_name(c)) for c in communities or []
            ]
            fields["is_active"].initial = True
            fields["auto_clear"].initial = True

    @staticmethod
    def initial_for(rule: Rule) -> dict[str, Any]:
        return {
            "name": rule.name,
            "name_en": rule.name_en,
            "grade": rule.grade,
            "is_active": rule.is_active,
            "auto_clear": rule.auto_clear,
            "incident_category": rule.incident_category,
            "settings": settings_text(rule.params),
        }

    def clean_name(self) -> str:
        return _plain_text(self.cleaned_data["name"])

    def clean_name_en(self) -> str:
        return _plain_text(self.cleaned_data["name_en"])

    def clean_settings(self) -> dict[str, Any]:
        text = (self.cleaned_data.get("settings") or "").strip()
        if not text:
            return {}
        if len(text.encode()) > SETTINGS_BYTES:
            raise forms.ValidationError(
                _("The settings are at most %(bytes)d bytes."), params={"bytes": SETTINGS_BYTES}
            )
        try:
            value = json.loads(text)
        except (ValueError, RecursionError) as exc:
            line = getattr(exc, "lineno", None)
            if line is None:
                raise forms.ValidationError(_("The settings are not JSON.")) from None
            raise forms.ValidationError(
                _("The settings are not JSON: look at line %(line)d, column %(column)d."),
                params={"line": line, "column": getattr(exc, "colno", 1)},
            ) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(_('The settings must be a JSON object: {"setting": value, …}.'))
        columns = sorted(set(value) & {*RULE_COLUMNS, "is_active", "community", "id"})
        if columns:
            raise forms.ValidationError(
                _("“%(key)s” is a field of this form, not a setting: set it above."),
                params={"key": columns[0]},
            )
        for key, item in value.items():
            _plain_text(key)
            if isinstance(item, str):
                _plain_text(item)
        return value

    def data_for_service(self) -> dict[str, Any]:
        """What ``services.create_rule`` or ``update_rule`` takes: the columns, and the settings; for a
        rule that exists, a setting taken out of the text is removed (``None``)."""
        data = self.cleaned_data
        out: dict[str, Any] = {
            key: data[key]
            for key in ("name", "name_en", "grade", "is_active", "auto_clear", "incident_category")
        }
        settings = dict(data["settings"])
        if self.rule is not None:
            for key in self.rule.params or {}:
                settings.setdefault(key, None)
        else:
            out.update(kind=data["kind"], community=data["community"])
        out.update(settings)
        return out

    def add_service_error(self, exc: InvalidInput) -> None:
        """Put a service's ``InvalidInput`` next to the field it names, in the page's language: the
        form's own fields by name, every setting of the kind at the settings."""
        field = exc.field or ""
        problem = engine_problem(field, exc.message)
        if field in self.fields and field != "settings":
            self.add_error(field, problem)
        elif field in ("", "rule", "__all__"):
            self.add_error(None, problem)
        else:
            self.add_error("settings", _("%(setting)s: %(problem)s") % {"setting": field, "problem": problem})
