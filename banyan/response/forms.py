"""Forms of the incident pages: the list's filters (a GET form), the steps a responder or a manager
takes on an incident (each carrying the incident's ``version``), the hand-over, and a matrix cell.

A value that is not accepted is reported next to its field; a service's ``InvalidInput`` is put next
to the field it names (``add_service_error``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from banyan.core.choices import Role
from banyan.people.choices import OrganisationKind
from banyan.people.models import Organisation
from banyan.places.models import Region
from banyan.response.flow import Status
from banyan.response.models import (
    DESCRIPTION_MAX,
    PHOTO_MAX_BYTES,
    PHOTOS_PER_STEP,
    Category,
    StatusChoices,
)
from banyan.response.services import RESPONDER_ROLES
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
    """Resolving: what was found and done, and, when the incident's alert is still active and the
    responder may handle it (``with_alert``), what becomes of the alert: resolved too, or kept open
    with a reason."""

    note = _note(
        _("What was found and done"),
        _("Required. E.g. “Drain cleared; water gone by 09:40; no one hurt.”"),
        required=True,
    )
    alert = forms.ChoiceField(
        label=_("Its alert"),
        widget=forms.RadioSelect,
        choices=[("resolve", _("Resolve the alert too")), ("keep", _("Keep the alert open"))],
        error_messages={
            "required": _("Say what becomes of the incident's alert: resolve it too, or keep it open."),
            "invalid_choice": _("Choose “resolve the alert too” or “keep the alert open”."),
        },
    )
    alert_reason = forms.CharField(
        label=_("Why the alert stays open"),
        help_text=_(
            "Needed to keep it open, e.g. “The sensor still reads high; the property company checks it.”"
        ),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, with_alert: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["note"].error_messages["required"] = _(
            "Say what was found and done: the note is required to resolve an incident."
        )
        if not with_alert:
            del self.fields["alert"], self.fields["alert_reason"]


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


# The responsibility matrix's editor picks every body and role from lists: the bodies serving the
# editor's regions (or the regions above them) by name, grouped by kind; the roles that act on
# incidents by their label. The values sent are the codes the service and the API speak.
ESCALATION_STEPS = 6  # as many as the API takes (schemas.CellIn.escalation)
ESCALATION_STEPS_SHOWN = 3  # empty steps shown below the last one set, at least
MATRIX_ROLES = tuple(role for role in Role if role in RESPONDER_ROLES)
CELL_FIELDS = ("category", "region", "accountable", "accountable_role", "backup", "backup_role", "escalation")


def organisations_serving(regions: Sequence[Region]):
    """The bodies serving one of ``regions``, a region inside one, or one above (the service accepts,
    for each cell, those serving its region, inside or above it)."""
    reach = Q(pk__in=[])
    for region in regions:
        if not any(region.path.startswith(other.path) and other is not region for other in regions):
            reach |= Q(regions__path__startswith=region.path) | Q(regions__path__in=region.ancestor_paths())
    return Organisation.objects.filter(reach).distinct().order_by("name_zh", "code")


def organisation_choices(organisations, language: str, empty_label) -> list:
    """A select's options: the bodies by name, grouped by their kind in the kinds' order."""
    groups: dict[str, list[tuple[str, str]]] = {kind: [] for kind in OrganisationKind.values}
    for organisation in organisations:
        groups.setdefault(organisation.kind, []).append(
            (organisation.code, organisation_label(organisation, language))
        )
    labels = dict(OrganisationKind.choices)
    return [
        ("", empty_label),
        *(
            (labels.get(kind, _("Other bodies")), sorted(options, key=lambda option: option[1]))
            for kind, options in groups.items()
            if options
        ),
    ]


def _role_field(label, empty_label) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        required=False,
        choices=[("", empty_label), *((role.value, role.label) for role in MATRIX_ROLES)],
        error_messages={"invalid_choice": _("Choose one of the listed roles.")},
    )


def _body_field(label, empty_label, required: bool = False) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        required=required,
        choices=[("", empty_label)],
        error_messages={
            "required": _("Choose the body that answers for this category here."),
            "invalid_choice": _("Choose one of the listed organisations."),
        },
    )


class CellForm(ServiceErrorsMixin, forms.Form):
    """One cell of the responsibility matrix: who answers for a category in a region, its backup and
    the chain a missed deadline climbs, each body and role picked from a list."""

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
    accountable = _body_field(_("Accountable body"), _("Choose an organisation"), required=True)
    accountable_role = _role_field(_("Accountable role (optional)"), _("Any role"))
    backup = _body_field(_("Backup body (optional)"), _("No backup"))
    backup_role = _role_field(_("Backup role (optional)"), _("Any role"))

    def __init__(self, *args, regions: Sequence[Region] = (), language: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.regions = {region.code: region for region in regions}
        cast(forms.ChoiceField, self.fields["region"]).choices = [
            (region.code, region_label(region, language)) for region in regions
        ]
        _label_options(self.fields["category"], lambda c: category_label(c, language))
        organisations = list(organisations_serving(regions))
        self.organisations = {organisation.code: organisation for organisation in organisations}
        for name, empty in (("accountable", _("Choose an organisation")), ("backup", _("No backup"))):
            cast(forms.ChoiceField, self.fields[name]).choices = organisation_choices(
                organisations, language, empty
            )
        for number in range(1, ESCALATION_STEPS + 1):
            self.fields[f"escalation_{number}"] = _body_field(
                _("Organisation of step %(number)d") % {"number": number}, _("No step")
            )
            cast(forms.ChoiceField, self.fields[f"escalation_{number}"]).choices = organisation_choices(
                organisations, language, _("No step")
            )
            self.fields[f"escalation_{number}_role"] = _role_field(
                _("Role of step %(number)d (optional)") % {"number": number}, _("Any role")
            )

    @staticmethod
    def initial_for(cell) -> dict[str, str]:
        """The form's values for an existing cell."""
        initial = {
            "accountable": cell.accountable.code,
            "accountable_role": cell.accountable_role,
            "backup": cell.backup.code if cell.backup_id else "",
            "backup_role": cell.backup_role,
        }
        for number, step in enumerate((cell.escalation or [])[:ESCALATION_STEPS], start=1):
            initial[f"escalation_{number}"] = step.get("organisation", "")
            initial[f"escalation_{number}_role"] = step.get("role", "")
        return initial

    def clean_region(self):
        return self.regions[self.cleaned_data["region"]]

    def clean_accountable(self):
        return self.organisations[self.cleaned_data["accountable"]]

    def clean_backup(self):
        code = self.cleaned_data.get("backup")
        return self.organisations[code] if code else None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        steps = []
        for number in range(1, ESCALATION_STEPS + 1):
            organisation, role = data.get(f"escalation_{number}"), data.get(f"escalation_{number}_role")
            if organisation:
                steps.append({"organisation": organisation, **({"role": role} if role else {})})
            elif role:
                self.add_error(
                    f"escalation_{number}",
                    _("Step %(number)d: choose the organisation, or leave its role empty.")
                    % {"number": number},
                )
        data["escalation"] = steps
        return data

    def cell(self) -> dict[str, Any]:
        """The valid form as ``services.set_cell`` takes it."""
        return {name: self.cleaned_data[name] for name in CELL_FIELDS}

    def add_service_error(self, exc) -> None:
        """The service names ``escalation`` for a step it refuses: shown next to the chain's first step."""
        field = "escalation_1" if exc.field == "escalation" else exc.field
        self.add_error(field if field in self.fields else None, exc.message)

    @property
    def steps(self) -> list[dict[str, Any]]:
        """The escalation steps the page shows: those set, then empty ones (at least three shown)."""
        values = self.data if self.is_bound else self.initial
        numbers = range(1, ESCALATION_STEPS + 1)
        set_steps = [
            n for n in numbers if values.get(f"escalation_{n}") or values.get(f"escalation_{n}_role")
        ]
        last = max(set_steps, default=0)
        shown = min(ESCALATION_STEPS, max(ESCALATION_STEPS_SHOWN, last + 1))
        return [
            {"number": n, "organisation": self[f"escalation_{n}"], "role": self[f"escalation_{n}_role"]}
            for n in range(1, shown + 1)
        ]


# The statuses in which each manager step is offered (the services decide in the end).
ASSIGNABLE = frozenset({Status.NEW, Status.ASSIGNED, Status.ACCEPTED})
