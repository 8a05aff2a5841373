"""The "Import places" page (``/places/import/``, ``places:import``): a community's survey or map
extract, checked first, then imported — the page of ``banyan import places``.

Administrators import into any community or a new one, street officers into their street's,
directors into their own (``Action.CHANGE_PLACES``; the scope is checked by
:func:`banyan.places.importer.import_places`, which the page calls with ``actor=request.user``).

"Check" stores the upload under ``VAR_DIR/places-imports/`` and runs a dry run; "Import" imports that
same file with the same choices. The file is found through a random token kept in the person's
session (never in a URL) and is deleted after the import, or after an hour if no one imports it.
Uploads are read in memory up to ``core.uploads.MAX_UPLOAD_BYTES``; bigger files (a city's
OpenStreetMap extract) go through the command.
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
import zipfile
from pathlib import Path, PurePosixPath
from typing import cast

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import SuspiciousFileOperation
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from banyan.core import clock
from banyan.core.access import UNSCOPED_ROLES, Action, can
from banyan.core.errors import InvalidInput, PermissionDenied
from banyan.core.uploads import MAX_UPLOAD_BYTES
from banyan.core.views import service_errors
from banyan.people.models import AuthenticatedHttpRequest
from banyan.places import importer
from banyan.places.choices import RegionKind
from banyan.places.models import Region
from banyan.places.words import region_words

SESSION_KEY = "places_import"  # the checked upload waiting for "Import"
DONE_KEY = "places_import_done"  # the last import's summary, shown once after the redirect
KEEP_SECONDS = 3600
NEW = "+new"  # the community choice "a new community"
SHAPEFILE_PARTS = {".shp", ".shx", ".dbf", ".prj", ".cpg"}
SUFFIX_FORMATS = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".zip": "shp", ".pbf": "osm"}
CRS_NAMES = {"wgs84": "WGS-84", "gcj02": "GCJ-02", "bd09": "BD-09"}
COUNTS = ("buildings", "facilities", "grids", "entrances", "path_nodes", "path_edges", "islands")
# Where a service's error about an argument of the command goes on the form.
FIELDS = {"file": "file", "--format": "file", "--bbox": "bbox", "--crs": "crs", "--street": "street"}


def upload_root() -> Path:
    return Path(settings.VAR_DIR) / "places-imports"


class PlacesImportForm(forms.Form):
    community = forms.ChoiceField(
        label=gettext_lazy("Community"),
        error_messages={
            "required": gettext_lazy("Choose the community to import into."),
            "invalid_choice": gettext_lazy("Choose one of the communities in your area."),
        },
    )
    code = forms.CharField(
        label=gettext_lazy("Code of the new community"),
        required=False,
        max_length=24,
        help_text=gettext_lazy("1–24 letters, digits, “-” or “_”, e.g. the community's statistical code."),
    )
    name = forms.CharField(
        label=gettext_lazy("Name of the new community, as residents say it"),
        required=False,
        max_length=100,
    )
    street = forms.ChoiceField(label=gettext_lazy("Street the new community joins"), required=False)
    file = forms.FileField(
        label=gettext_lazy("File"),
        error_messages={
            "required": gettext_lazy("Choose the file to import."),
            "empty": gettext_lazy("The file is empty."),
        },
    )
    crs = forms.ChoiceField(
        label=gettext_lazy("Coordinates from"),
        widget=forms.RadioSelect,
        initial="wgs84",
        choices=[
            (
                "wgs84",
                gettext_lazy(
                    "satellite positioning, survey instruments, OpenStreetMap and Tianditu (天地图): "
                    "most survey files"
                ),
            ),
            ("gcj02", gettext_lazy("points taken from Amap (高德) or Tencent (腾讯) maps")),
            ("bd09", gettext_lazy("points taken from Baidu maps (百度)")),
        ],
        error_messages={"invalid_choice": gettext_lazy("Choose where the coordinates come from.")},
    )
    bbox = forms.CharField(
        label=gettext_lazy("Only what lies inside (optional)"),
        required=False,
        max_length=100,
        help_text=gettext_lazy(
            "West, south, east and north edges in degrees, e.g. 120.15,30.27,120.16,30.28: useful to take "
            "one community out of a city's map extract."
        ),
    )

    def __init__(self, *args, communities: list[Region], streets: list[Region], may_add: bool, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(region.code, region_words(region)) for region in communities]
        if may_add:
            choices.append((NEW, _("A new community")))
        cast(forms.ChoiceField, self.fields["community"]).choices = choices
        self.community_choices = choices
        cast(forms.ChoiceField, self.fields["street"]).choices = [
            ("", _("Choose a street")),
            *((street.code, region_words(street)) for street in streets),
        ]
        if not may_add or len(streets) < 2:
            del self.fields["street"]
        if not may_add:
            del self.fields["code"], self.fields["name"]
        self.communities = {region.code: region for region in communities}

    def clean_bbox(self) -> tuple[float, float, float, float] | None:
        try:
            return importer.parse_bbox(self.cleaned_data["bbox"].strip())
        except InvalidInput as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = upload.name.lower()
        if name.endswith(".shp"):
            raise forms.ValidationError(
                _("A Shapefile needs its .shx and .dbf beside it: put the three (and the .prj) in one .zip.")
            )
        if PurePosixPath(name).suffix not in SUFFIX_FORMATS:
            raise forms.ValidationError(
                _(
                    "Choose a .geojson, .gpkg, .zip (a Shapefile with its .shx and .dbf) or .osm.pbf file; "
                    "this one is %(name)s."
                )
                % {"name": upload.name[:100]}
            )
        return upload

    def clean(self) -> dict:
        data = super().clean() or {}
        choice = data.get("community")
        if choice == NEW:
            if not data.get("code"):
                self.add_error("code", _("Give the new community's code."))
            elif data["code"] in self.communities or Region.objects.filter(code=data["code"]).exists():
                self.add_error("code", _("This code is taken: choose the community in the list instead."))
            if not data.get("name", "").strip():
                self.add_error("name", _("Give the new community's name."))
        elif choice:
            region = self.communities[choice]
            data["code"], data["name"] = region.code, region.name_zh
        return data


def _scope(user) -> tuple[list[Region], list[Region], bool]:
    """The communities one may import into, the streets a new one may join, and whether one may add one
    (administrators anywhere, street officers in their street; directors only into their community)."""
    regions = Region.objects.restrict(user, Action.CHANGE_PLACES)
    communities = list(regions.filter(kind=RegionKind.COMMUNITY).order_by("path"))
    streets = list(regions.filter(kind=RegionKind.STREET).order_by("path"))
    fresh = not Region.objects.filter(kind=RegionKind.STREET).exists()
    return communities, streets, bool(streets) or (fresh and user.role in UNSCOPED_ROLES)


def _sweep(now: dt.datetime) -> None:
    """Delete checked uploads no one imported within the hour (their folder names start with the time)."""
    root = upload_root()
    if not root.is_dir():
        return
    for folder in root.iterdir():
        stamp = folder.name.split("-", 1)[0]
        if not stamp.isdigit() or now.timestamp() - int(stamp) > KEEP_SECONDS:
            shutil.rmtree(folder, ignore_errors=True)


def _discard(pending: dict | None) -> None:
    if pending and isinstance(pending.get("folder"), str):
        folder = upload_root() / PurePosixPath(pending["folder"]).name
        shutil.rmtree(folder, ignore_errors=True)


def _safe_name(name: str, fallback: str) -> str:
    try:
        cleaned = get_valid_filename(PurePosixPath(name.replace("\\", "/")).name)
    except SuspiciousFileOperation:
        return fallback
    return cleaned[-100:] if cleaned.lstrip(".") else fallback


def _store(upload, folder: Path) -> tuple[str, str]:
    """Write the upload into ``folder``: the file to import and its format. A .zip is a Shapefile: its
    .shp, .shx, .dbf (and .prj, .cpg) are taken out; anything else in it is left."""
    name = upload.name.lower()
    suffix = ".pbf" if name.endswith(".pbf") else PurePosixPath(name).suffix
    fmt = SUFFIX_FORMATS[suffix]
    if fmt != "shp":
        target = _safe_name(upload.name, f"upload{suffix}")
        if not target.lower().endswith(suffix):
            target = f"upload{suffix}"
        with (folder / target).open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        return target, fmt
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError):
        raise InvalidInput(_("This .zip file cannot be opened."), field="file") from None
    with archive:
        parts = {}
        for info in archive.infolist():
            base = PurePosixPath(info.filename.replace("\\", "/")).name
            if (
                info.is_dir()
                or base.startswith(".")
                or PurePosixPath(base).suffix.lower() not in SHAPEFILE_PARTS
            ):
                continue
            parts[base] = info
        shapes = [base for base in parts if base.lower().endswith(".shp")]
        if len(shapes) != 1:
            raise InvalidInput(
                _("The .zip must hold one Shapefile (.shp); it holds %(count)s.") % {"count": len(shapes)},
                field="file",
            )
        stem = PurePosixPath(shapes[0]).stem
        missing = [
            suffix
            for suffix in (".shx", ".dbf")
            if not any(base.lower() == f"{stem.lower()}{suffix}" for base in parts)
        ]
        if missing:
            raise InvalidInput(
                _("The Shapefile %(name)s needs its %(missing)s beside it in the .zip.")
                % {"name": shapes[0], "missing": ", ".join(missing)},
                field="file",
            )
        budget = importer.MAX_BYTES
        layer = _safe_name(stem, "layer")
        for base, info in parts.items():
            if PurePosixPath(base).stem.lower() != stem.lower():
                continue
            # Copied in chunks, so that a zip bomb costs disk up to the budget, never memory.
            with (
                archive.open(info) as source,
                open(folder / f"{layer}{PurePosixPath(base).suffix.lower()}", "wb") as out,
            ):
                while chunk := source.read(1 << 20):
                    budget -= len(chunk)
                    if budget < 0:
                        raise InvalidInput(
                            _("The Shapefile is larger than %(megabytes)s MB unpacked.")
                            % {"megabytes": importer.MAX_BYTES // 2**20},
                            field="file",
                        )
                    out.write(chunk)
    return f"{layer}.shp", fmt


class ConfirmForm(forms.Form):
    """ "Import": the token of the file this person checked last (the file itself waits on disk)."""

    token = forms.CharField(max_length=64)


def _problems(report: importer.Report) -> list[dict]:
    """Blocking problems first, each as ``{"feature", "message", "blocking"}``."""
    rows = [
        {"feature": p["feature"], "message": p["problem"], "blocking": p["blocking"]} for p in report.problems
    ]
    return sorted(rows, key=lambda row: not row["blocking"])


def _render(
    request: AuthenticatedHttpRequest,
    form: PlacesImportForm,
    *,
    report: importer.Report | None = None,
    pending: dict | None = None,
    confirm: ConfirmForm | None = None,
) -> HttpResponse:
    done = request.session.pop(DONE_KEY, None) if request.method == "GET" else None
    choices = form.community_choices
    context = {
        "form": form,
        "fixed_community": choices[0] if len(choices) == 1 else None,
        "crs_options": [(radio, CRS_NAMES[radio.data["value"]]) for radio in form["crs"]],
        "report": report,
        "counts": report.as_dict() if report is not None else None,
        "problems": _problems(report) if report is not None else [],
        "blocking": sum(p["blocking"] for p in report.problems) if report is not None else 0,
        "pending": pending,
        "confirm": confirm,
        "done": done,
        "max_megabytes": MAX_UPLOAD_BYTES // 2**20 - 1,
        "nav": "places",
    }
    return render(request, "places/import.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def places_import(request: AuthenticatedHttpRequest) -> HttpResponse:
    """GET: the form. POST "check": keep the file and show what importing it would do. POST "import":
    import the file checked last, then show where to go next."""
    user = request.user
    if not can(user, Action.CHANGE_PLACES):
        raise PermissionDenied(_("Your role cannot change places."))
    communities, streets, may_add = _scope(user)

    def blank(**initial) -> PlacesImportForm:
        return PlacesImportForm(initial=initial, communities=communities, streets=streets, may_add=may_add)

    now = clock.now()
    if request.method == "GET":
        return _render(request, blank())
    _sweep(now)
    if request.POST.get("action") == "import":
        return _import(request, blank, now)
    form = PlacesImportForm(
        request.POST, request.FILES, communities=communities, streets=streets, may_add=may_add
    )
    if not form.is_valid():
        return _render(request, form)
    _discard(request.session.pop(SESSION_KEY, None))
    data = form.cleaned_data
    token = secrets.token_urlsafe(18)
    folder = upload_root() / f"{int(now.timestamp())}-{token}"
    folder.mkdir(parents=True, mode=0o700)
    try:
        filename, fmt = _store(data["file"], folder)
        report = importer.import_places(
            folder / filename,
            community_code=data["code"],
            name=data["name"],
            fmt=fmt,
            crs=data["crs"],
            bbox=data["bbox"],
            street_code=data.get("street") or None,
            dry_run=True,
            actor=user,
        )
    except (InvalidInput, PermissionDenied) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        _form_error(form, exc)
        return _render(request, form)
    if report.refused:
        shutil.rmtree(folder, ignore_errors=True)
        return _render(request, form, report=report)
    pending = {
        "token": token,
        "user": user.pk,
        "at": int(now.timestamp()),
        "folder": folder.name,
        "file": filename,
        "fmt": fmt,
        "crs": data["crs"],
        "bbox": list(data["bbox"]) if data["bbox"] else None,
        "community": data["code"],
        "name": data["name"],
        "street": data.get("street") or None,
        "original": data["file"].name[:100],
    }
    request.session[SESSION_KEY] = pending
    return _render(request, form, report=report, pending=pending)


def _form_error(form: PlacesImportForm, exc: InvalidInput | PermissionDenied) -> None:
    field = FIELDS.get(getattr(exc, "field", None) or "")
    if field == "street" and "street" not in form.fields:
        field = None
    if field == "street":
        form.add_error("street", _("There are several streets: choose the one the new community joins."))
    elif exc.field in ("--community", "--name") and "code" in form.fields:
        form.add_error("code" if exc.field == "--community" else "name", exc.message)
    else:
        form.add_error(field, exc.message)


def _import(request: AuthenticatedHttpRequest, blank, now: dt.datetime) -> HttpResponse:
    user = request.user
    pending = request.session.get(SESSION_KEY)
    confirm = ConfirmForm(request.POST)
    valid = (
        confirm.is_valid()
        and isinstance(pending, dict)
        and pending.get("user") == user.pk
        and isinstance(pending.get("token"), str)
        and secrets.compare_digest(pending["token"].encode(), confirm.cleaned_data["token"].encode())
        and now.timestamp() - pending.get("at", 0) <= KEEP_SECONDS
    )
    if not valid:
        confirm.add_error(
            None,
            _(
                "There is no checked file to import (a checked file is kept for an hour): choose the file "
                "and check it again."
            ),
        )
        return _render(request, blank(), confirm=confirm)
    assert isinstance(pending, dict)
    path = upload_root() / PurePosixPath(pending["folder"]).name / PurePosixPath(pending["file"]).name
    initial = {"community": pending["community"], "crs": pending["crs"]}
    try:
        if not path.is_file():
            raise InvalidInput(
                _("The checked file is no longer here: choose the file and check it again."), field="file"
            )
        report = importer.import_places(
            path,
            community_code=pending["community"],
            name=pending["name"],
            fmt=pending["fmt"],
            crs=pending["crs"],
            bbox=tuple(pending["bbox"]) if pending["bbox"] else None,
            street_code=pending["street"],
            dry_run=False,
            actor=user,
        )
    except (InvalidInput, PermissionDenied) as exc:
        confirm.add_error(None, exc.message)
        return _render(request, blank(**initial), confirm=confirm)
    finally:
        _discard(request.session.pop(SESSION_KEY, None))
    if report.refused:
        return _render(request, blank(**initial), report=report)
    request.session[DONE_KEY] = {
        "community": report.community,
        "name": pending["name"],
        "file": pending["original"],
        **{key: report.as_dict()[key] for key in (*COUNTS, "created", "updated")},
        "problems": _problems(report),
    }
    return redirect("places:import")
