"""Forms of the incident pages: the list's filters (a GET form), the steps a responder or a manager
takes on an incident (each carrying the incident's ``version``), the hand-over, and a matrix cell.

A value that is not accepted is reported next to its field; a service's ``InvalidInput`` is put next
to the field it names (``add_service_error``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from banyan.core.choices import Role
from banyan.people.models import Organisation
from banyan.response.flow import Status
from banyan.response.models import (
    DESCRIPTION_MAX,
    PHOTO_MAX_BYTES,
    PHOTOS_PER_STEP,
    Category,
    StatusChoices,
)
from banyan.warning.choices import Grade

# "open" (new, assigned, accepted or on scene) is the list's default: what someone still has to act on.
OPEN = "open"
ANY = "any"


def category_label(category: Category, language: str) -> str:
    return category.name_zh if language.startswith("zh") else (category.name_en or category.name_zh)


def region_label(region, language: str) -> str:
    return region.name_zh if language.startswith("zh") or not region.name_en else region.name_en


def organisation_label(organisation: Organisation, language: str) -> str:
    if language.startswith("zh") or not organisation.name_en:
        return organisation.name_zh
    return organisation.name_en


def _label_options(field: forms.Field, label: Callable[[Any], str]) -> None:
    """Name a model choice field's options with ``label``: Django's documented override of
    ``label_from_instance``, made on the field (an instance attribute where the stubs see a method)."""
    field.label_from_instance = label  # type: ignore[attr-defined]


class ServiceErrorsMixin:
    """Put a service's ``InvalidInput`` next to the field it names, or above the form."""

    def add_service_error(self, exc) -> None:
        self.add_error(exc.field if exc.field in self.fields else None, exc.message)  # type: ignore[attr-defined]


class IncidentFilterForm(forms.Form):
    """Which incidents the staff list shows. A value that is not a choice is reported next to its
    field and that filter is left out."""

    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[(OPEN, _("Open (not yet resolved)")), (ANY, _("Any status")), *StatusChoices.choices],
    )
    grade = forms.ChoiceField(
        label=_("Grade"), required=False, choices=[("", _("Any grade")), *reversed(Grade.choices)]
    )
    category = forms.ChoiceField(label=_("Category"), required=False)

    def __init__(self, *args, language: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        categories = Category.objects.filter(is_active=True)
        cast(forms.ChoiceField, self.fields["category"]).choices = [
            ("", _("Any category")),
            *((c.code, category_label(c, language)) for c in categories),
        ]

    def filters(self) -> dict[str, str]:
        """The valid filters: ``status`` (``open`` unless chosen otherwise), ``grade``, ``category``."""
        self.is_valid()  # cleaned_data keeps only the fields that passed
        data = self.cleaned_data
        return {
            "status": data.get("status") or OPEN,
            "grade": data.get("grade") or "",
            "category": data.get("category") or "",
        }


class StepForm(ServiceErrorsMixin, forms.Form):
    """A step on an incident. ``version`` is the incident's version when the page was loaded: if it
    changed since, the step is refused and the page shows the incident as it is now."""

    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=0,
        error_messages={
            "required": _("The form lacks the incident's version; reload the page and try again."),
            "invalid": _("The incident's version is not a number; reload the page and try again."),
        },
    )

    def note_text(self) -> str:
        return (self.cleaned_data.get("note") or "").strip()


def _note(label, help_text, *, required: bool) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        required=required,
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "max_length": _("Keep the note to at most %(limit_value)d characters (it has %(show_value)d)."),
        },
    )


class DeclineForm(StepForm):
    """Declining asks why (the next responder is asked at once; the reason is on the timeline)."""

    note = _note(
        _("Why you decline"),
        _("E.g. “Already at another incident.” The next responder is asked at once."),
        required=True,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["note"].error_messages["required"] = _(
            "Say why you decline: the reason is required (the next responder is asked at once)."
        )


def _coordinate(limit: int, not_a_number, out_of_range) -> forms.FloatField:
    """A hidden coordinate the browser fills in (or leaves empty), within ±``limit``."""
    return forms.FloatField(
        widget=forms.HiddenInput,
        required=False,
        min_value=-limit,
        max_value=limit,
        error_messages={"invalid": not_a_number, "min_value": out_of_range, "max_value": out_of_range},
    )


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Up to ``PHOTOS_PER_STEP`` photos of the scene, each at most 5 MB; what each one is is checked
    by the service (``photos.clean_photos``), which names the photo it refuses."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp", "multiple": True})
        )
        super().__init__(
            label=_("Photos (optional)"),
            help_text=_(
                "Up to 5 JPEG, PNG or WebP pictures of at most 5 MB each. Their location data is removed."
            ),
            required=False,
            **kwargs,
        )

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, (list, tuple)) else [data]) if f]
        if len(files) > PHOTOS_PER_STEP:
            raise forms.ValidationError(
                _("Send at most %(max)d photos at a time.") % {"max": PHOTOS_PER_STEP}
            )
        for number, upload in enumerate(files, start=1):
            super().clean(upload, initial)
            if upload.size > PHOTO_MAX_BYTES:
                raise forms.ValidationError(
                    _("Photo %(number)d is larger than %(max)d MB.")
                    % {"number": number, "max": PHOTO_MAX_BYTES // (1024 * 1024)}
                )
        return files


class PhotoStepForm(StepForm):
    """A step that may carry photos of the scene (the form is sent as multipart)."""

    photos = PhotosField()

    def photo_bytes(self) -> list[bytes]:
        return [upload.read() for upload in self.cleaned_data.get("photos") or []]


class OnSceneForm(PhotoStepForm):
    """Arrived. The position is filled in by the browser where it gives one; without it the step
    still counts. From farther than the radius from the place the service asks for the ``reason``
    (the page then shows the field, the position kept)."""

    latitude = _coordinate(90, _("The latitude is not a number."), _("The latitude is between -90 and 90."))
    longitude = _coordinate(
        180, _("The longitude is not a number."), _("The longitude is between -180 and 180.")
    )
    reason = _note(
        _("Why you are on scene from there"),
        _(
            "Needed when your phone is far from the reported place, e.g. “The gate is locked; waiting "
            "at the east gate.”"
        ),
        required=False,
    )

    def reason_text(self) -> str:
        return (self.cleaned_data.get("reason") or "").strip()

    @property
    def asks_reason(self) -> bool:
        """Whether the page shows the reason: once the service asked for it (or one was given)."""
        return bool(self.is_bound and (self.errors.get("reason") or self.data.get("reason")))

    def position(self) -> tuple[float, float] | None:
        latitude, longitude = self.cleaned_data.get("latitude"), self.cleaned_data.get("longitude")
        if latitude is None or longitude is None:
            return None
        return latitude, longitude


class ResolveForm(PhotoStepForm):
    note = _note(
        _("What was found and done"),
        _("Required. E.g. “Drain cleared; water gone by 09:40; no one hurt.”"),
        required=True,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["note"].error_messages["required"] = _(
            "Say what was found and done: the note is required to resolve an incident."
        )


class AssignForm(StepForm):
    """Give the incident to a responder of the accountable body."""

    assignee = forms.TypedChoiceField(
        label=_("Responder"),
        coerce=int,
        error_messages={
            "required": _("Choose the responder to assign."),
            "invalid_choice": _("Choose one of the accountable body's responders."),
        },
    )

    def __init__(self, *args, responders=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["assignee"]).choices = [
            ("", _("Choose a responder")),
            *responders,
        ]


class CloseForm(StepForm):
    note = _note(_("Closing note (optional)"), "", required=False)


class CancelForm(StepForm):
    note = _note(
        _("Why it is cancelled (optional)"), _("E.g. “False alarm, checked on site.”"), required=False
    )


class HandOverForm(StepForm):
    """Make another body accountable: the reason is required and shows on the timeline."""

    organisation = forms.ModelChoiceField(
        label=_("Organisation"),
        queryset=Organisation.objects.order_by("code"),
        empty_label=_("Choose an organisation"),
        error_messages={
            "required": _("Choose the organisation that takes the incident over."),
            "invalid_choice": _("Choose one of the listed organisations."),
        },
    )
    role = forms.ChoiceField(
        label=_("Role within it (optional)"),
        required=False,
        choices=[("", _("Any role")), *Role.choices],
        error_messages={"invalid_choice": _("Choose one of the listed roles.")},
    )
    reason = forms.CharField(
        label=_("Reason for the hand-over"),
        help_text=_("Required; shown on the incident's timeline."),
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": _("Say why the incident is handed over: the reason is required."),
            "max_length": _("Keep the reason to at most %(limit_value)d characters (it has %(show_value)d)."),
        },
    )

    def __init__(self, *args, language: str = "", organisations=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        organisation = cast(forms.ModelChoiceField, self.fields["organisation"])
        if organisations is not None:  # the bodies in reach of the incident (the service checks again)
            organisation.queryset = organisations
        _label_options(organisation, lambda o: organisation_label(o, language))


def parse_escalation(text: str, known: set[str]) -> list[dict]:
    """One step a line: an organisation's code, then optionally a role (``ORG-STREET street_officer``).
    Raises ``ValidationError`` naming the line and what would be accepted."""
    steps = []
    roles = set(Role.values)
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if not words:
            continue
        code, role = words[0], (words[1] if len(words) > 1 else "")
        if code not in known or len(words) > 2 or (role and role not in roles):
            raise forms.ValidationError(
                _(
                    "Line %(line)d: write an organisation's code, optionally followed by a role, e.g. "
                    "“ORG-STREET street_officer”. Organisations: %(known)s. Roles: %(roles)s."
                ),
                code="invalid",
                params={"line": number, "known": ", ".join(sorted(known)), "roles": ", ".join(Role.values)},
            )
        steps.append({"organisation": code, **({"role": role} if role else {})})
    return steps


class CellForm(ServiceErrorsMixin, forms.Form):
    """One cell of the responsibility matrix: who answers for a category in a region."""

    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.filter(is_active=True),
        to_field_name="code",
        empty_label=None,
        error_messages={"invalid_choice": _("Choose one of the listed categories.")},
    )
    region = forms.ChoiceField(
        label=_("Region"), error_messages={"invalid_choice": _("Choose one of the regions you manage.")}
    )
    accountable = forms.ModelChoiceField(
        label=_("Accountable body"),
        queryset=Organisation.objects.order_by("code"),
        to_field_name="code",
        empty_label=_("Choose an organisation"),
        error_messages={
            "required": _("Choose the body that answers for this category here."),
            "invalid_choice": _("Choose one of the listed organisations."),
        },
    )
    accountable_role = forms.ChoiceField(
        label=_("Accountable role (optional)"), required=False, choices=[("", _("Any role")), *Role.choices]
    )
    backup = forms.ModelChoiceField(
        label=_("Backup body (optional)"),
        required=False,
        queryset=Organisation.objects.order_by("code"),
        to_field_name="code",
        empty_label=_("No backup"),
        error_messages={"invalid_choice": _("Choose one of the listed organisations.")},
    )
    backup_role = forms.ChoiceField(
        label=_("Backup role (optional)"), required=False, choices=[("", _("Any role")), *Role.choices]
    )
    escalation = forms.CharField(
        label=_("Escalation chain"),
        required=False,
        help_text=_(
            "One step a line, in the order a missed deadline climbs: an organisation's code, then "
            "optionally a role, e.g. “ORG-COMMITTEE community_director”."
        ),
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, regions=(), language: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.regions = {region.code: region for region in regions}
        cast(forms.ChoiceField, self.fields["region"]).choices = [
            (region.code, f"{region_label(region, language)} ({region.code})") for region in regions
        ]
        _label_options(self.fields["category"], lambda c: category_label(c, language))
        for name in ("accountable", "backup"):
            _label_options(self.fields[name], lambda o: f"{organisation_label(o, language)} ({o.code})")

    def clean_region(self):
        return self.regions[self.cleaned_data["region"]]

    def clean_escalation(self) -> list[dict]:
        known = set(Organisation.objects.values_list("code", flat=True))
        return parse_escalation(self.cleaned_data.get("escalation") or "", known)


def escalation_text(steps: list[dict]) -> str:
    """A cell's chain as the form shows it, one step a line."""
    return "\n".join(" ".join(filter(None, (s.get("organisation", ""), s.get("role", "")))) for s in steps)


# The statuses in which each manager step is offered (the services decide in the end).
ASSIGNABLE = frozenset({Status.NEW, Status.ASSIGNED, Status.ACCEPTED})
