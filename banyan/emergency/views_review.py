"""The after-action review's pages: ``/emergency/<id>/review`` (every role that sees emergencies reads it;
managers add lessons with owners, mark them done, propose the plan change and add recovery tasks after
stand-down) and its exports ``review.xlsx`` and ``review.pdf``. Thin: each loads through the caller's
scope, calls :mod:`banyan.emergency.review` and renders."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from fpdf import FPDF
from openpyxl import Workbook

from banyan.core.errors import Conflict, InvalidInput
from banyan.core.views import private, service_errors
from banyan.emergency import plans as plan_service
from banyan.emergency import review, services
from banyan.emergency.choices import EmergencyStatus, TaskKind, TaskStatus, TimelineKind
from banyan.emergency.forms_board import LEVEL_NAMES
from banyan.emergency.models import Emergency
from banyan.people.models import AuthenticatedHttpRequest
from banyan.people.pdf import LATIN_FONT, font_path
from banyan.response.forms import ServiceErrorsMixin

OUTCOME_NAMES = {
    "done": gettext_lazy("Done in time"),
    "late": gettext_lazy("Late"),
    "open": gettext_lazy("Not done"),
}
RECOVERY_NAMES = {
    "repairs": gettext_lazy("Repairs"),
    "follow_up": gettext_lazy("Follow-up visits to the vulnerable"),
    "reopen": gettext_lazy("Reopen facilities"),
}
SLA_NAMES = {
    "acknowledge": gettext_lazy("Acknowledged in time"),
    "arrive": gettext_lazy("Arrived in time"),
    "resolve": gettext_lazy("Resolved in time"),
}


class LessonForm(ServiceErrorsMixin, forms.Form):
    text = forms.CharField(label=gettext_lazy("Lesson"), max_length=review.LESSON_MAX)
    owner = forms.ChoiceField(label=gettext_lazy("Owner (a body)"), required=False)
    owner_user = forms.ChoiceField(label=gettext_lazy("Person in charge"), required=False)
    due = forms.DateField(
        label=gettext_lazy("Due"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, emergency: Emergency, **kwargs) -> None:
        kwargs.setdefault("auto_id", "lesson-%s")
        super().__init__(*args, **kwargs)
        english = (get_language() or "").startswith("en")
        cast(forms.ChoiceField, self.fields["owner"]).choices = [("", "—")] + [
            (str(body.pk), (body.name_en if english and body.name_en else body.name_zh))
            for body in review.owners_for(emergency)
        ]
        cast(forms.ChoiceField, self.fields["owner_user"]).choices = [("", "—")] + [
            (str(user.pk), user.display_name) for user in services.assignable_users(emergency)
        ]


class RecoveryForm(ServiceErrorsMixin, forms.Form):
    title_zh = forms.CharField(label=gettext_lazy("Chinese title"), max_length=200)
    title_en = forms.CharField(label=gettext_lazy("English title"), max_length=200, required=False)

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", "recovery-%s")
        super().__init__(*args, **kwargs)


def _viewers_only(user) -> None:
    if not services.may_view(user):
        raise DjangoPermissionDenied(_("Your role cannot see emergencies."))


def _title(row: dict) -> str:
    english = (get_language() or "").startswith("en")
    return row["title_en"] if english and row.get("title_en") else row["title_zh"]


def _when(value: str | None) -> str:
    if not value:
        return "—"
    return timezone.localtime(dt.datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M")


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{round(share * 100)} %"


def _shown(data: dict[str, Any]) -> dict[str, Any]:
    """What the page and the exports show: the review's rows with their labels in the language."""
    kinds = dict(TimelineKind.choices)
    statuses = dict(TaskStatus.choices)
    task_kinds = dict(TaskKind.choices)
    figures = data["roll_call"]
    return {
        "tasks": [
            {
                **row,
                "title": _title(row),
                "kind_name": task_kinds.get(row["kind"], row["kind"]),
                "status_name": statuses.get(row["status"], row["status"]),
                "outcome_name": OUTCOME_NAMES.get(row["outcome"], row["outcome"]),
                "due": _when(row["due_at"]),
                "done": _when(row["done_at"]),
            }
            for row in data["tasks"]
        ],
        "timeline": [
            {
                "at": _when(entry["at"]),
                "kind": entry["kind"],
                "kind_name": kinds.get(entry["kind"], entry["kind"]),
            }
            for entry in data["timeline"]
        ],
        "curve": [{"minutes": m, "percent": round(s * 100)} for m, s in figures.get("curve", [])],
        "sla": [(SLA_NAMES[name], _percent(data["sla"].get(f"{name}_met_share"))) for name in SLA_NAMES],
        "detection": [
            (_("Government warning sent"), _when(data["detection"]["warning_sent"])),
            (_("Government warning received"), _when(data["detection"]["warning_received"])),
            (_("First alert in the area"), _when(data["detection"]["first_alert"])),
            (_("Proposed"), _when(data["detection"]["proposed_at"])),
            (_("Activated"), _when(data["detection"]["activated_at"])),
            (_("Stood down"), _when(data["detection"]["stood_down_at"])),
        ],
    }


def _render(
    request: AuthenticatedHttpRequest,
    emergency: Emergency,
    *,
    lesson_form: LessonForm | None = None,
    recovery_form: RecoveryForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    manage = services.may_manage(user)
    data = review.after_action_review(emergency)
    stood_down = emergency.status == EmergencyStatus.STOOD_DOWN
    context = {
        "emergency": emergency,
        "data": data,
        "shown": _shown(data),
        "level_name": LEVEL_NAMES.get(emergency.level, emergency.level),
        "may_manage": manage,
        "lesson_form": (lesson_form or LessonForm(emergency=emergency)) if manage else None,
        "recovery_form": (recovery_form or RecoveryForm()) if manage and stood_down else None,
        "recovery_templates": list(RECOVERY_NAMES.items()) if manage and stood_down else [],
        "may_propose": manage
        and plan_service.may_edit_plans(user)
        and any(not lesson["done"] for lesson in data["lessons"]),
        "nav": "emergency",
    }
    return private(render(request, "emergency/review.html", context, status=status))


@login_required
@require_GET
@service_errors
def review_page(request: AuthenticatedHttpRequest, pk: int):
    """The after-action review of one emergency."""
    _viewers_only(request.user)
    return _render(request, services.get_emergency_for(request.user, pk))


def _step(request: AuthenticatedHttpRequest, pk: int, step, done: str, **forms_on_error) -> HttpResponse:
    user = request.user
    _viewers_only(user)
    emergency = services.get_emergency_for(user, pk)
    if not services.may_manage(user):
        raise DjangoPermissionDenied(_("Your role cannot run emergencies."))
    try:
        step(user, emergency)
    except Conflict as exc:
        messages.warning(request, exc.message)
        return _render(request, emergency, status=409, **forms_on_error)
    except InvalidInput as exc:
        form = next(iter(forms_on_error.values()), None)
        if form is not None and exc.field in form.fields:
            form.add_service_error(exc)  # shown at its field, as a form's own errors are
            return _render(request, emergency, **forms_on_error)
        messages.error(request, exc.message)
        return _render(request, emergency, status=400, **forms_on_error)
    messages.success(request, done)
    return redirect("emergency:review", pk=emergency.pk)


def _form_step(request: AuthenticatedHttpRequest, pk: int, form_name: str, make_form, step, done: str):
    """A manager's form on the review: the page again with the form's errors (200), else the step."""
    user = request.user
    _viewers_only(user)
    emergency = services.get_emergency_for(user, pk)
    if not services.may_manage(user):
        raise DjangoPermissionDenied(_("Your role cannot run emergencies."))
    form = make_form(emergency)
    if not form.is_valid():
        return _render(request, emergency, **{form_name: form})
    data = form.cleaned_data
    return _step(request, pk, lambda actor, found: step(actor, found, data), done, **{form_name: form})


@login_required
@require_POST
@service_errors
def lesson_add(request: AuthenticatedHttpRequest, pk: int):
    return _form_step(
        request,
        pk,
        "lesson_form",
        lambda emergency: LessonForm(request.POST, emergency=emergency),
        lambda actor, found, data: review.add_lesson(actor=actor, emergency=found, **data),
        _("Lesson recorded."),
    )


@login_required
@require_POST
@service_errors
def lesson_done(request: AuthenticatedHttpRequest, pk: int, lesson: int):
    return _step(
        request, pk, lambda actor, found: review.lesson_done(actor=actor, lesson_id=lesson), _("Lesson done.")
    )


@login_required
@require_POST
@service_errors
def propose_plan(request: AuthenticatedHttpRequest, pk: int):
    made = {}

    def step(actor, found):
        made["plan"] = review.propose_plan_change(actor=actor, emergency=found)

    response = _step(request, pk, step, _("A new version of the plan was made from the lessons: check it."))
    if "plan" in made:
        return redirect("emergency:plan-edit", pk=made["plan"].pk)
    return response


@login_required
@require_POST
@service_errors
def recovery_add(request: AuthenticatedHttpRequest, pk: int):
    template = request.POST.get("template", "")
    if template:
        return _step(
            request,
            pk,
            lambda actor, found: review.add_recovery_task(actor=actor, emergency=found, template=template),
            _("Recovery task added."),
        )
    return _form_step(
        request,
        pk,
        "recovery_form",
        lambda emergency: RecoveryForm(request.POST),
        lambda actor, found, data: review.add_recovery_task(actor=actor, emergency=found, **data),
        _("Recovery task added."),
    )


@login_required
@require_POST
@service_errors
def recovery_done(request: AuthenticatedHttpRequest, pk: int, task: int):
    return _step(
        request,
        pk,
        lambda actor, found: review.recovery_task_done(actor=actor, task_id=task),
        _("Task done."),
    )


# --- exports ----------------------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    """A spreadsheet cell: text that a spreadsheet would read as a formula is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _sheet(book: Workbook, title: str, header: list[str], rows: list[list[Any]], first: bool = False) -> None:
    sheet = book.active if first else book.create_sheet()
    sheet.title = title[:31]
    sheet.append([str(h) for h in header])
    for row in rows:
        sheet.append([_cell(value) for value in row])


def review_xlsx_bytes(emergency: Emergency, data: dict[str, Any]) -> bytes:
    shown = _shown(data)
    figures = data["roll_call"]
    book = Workbook()
    summary = [
        [_("Emergency"), emergency.title],
        [_("Level"), str(LEVEL_NAMES.get(emergency.level, emergency.level))],
        *[[str(name), value] for name, value in shown["detection"]],
        [_("Minutes from detection to activation"), data["detection"]["activation_min"]],
        [_("Checklist tasks"), data["task_summary"]["checklist"]],
        [_("Done in time"), data["task_summary"]["done"]],
        [_("Late"), data["task_summary"]["late"]],
        [_("Not done"), data["task_summary"]["open"]],
        [_("Households asked"), figures.get("counts", {}).get("asked")],
        [_("Vulnerable households accounted for"), figures.get("counts", {}).get("vulnerable_accounted")],
        [_("Resilience loss (percent-hours)"), figures.get("resilience_loss")],
        [_("Shelter peak"), data["shelters"]["shelter_peak"]],
        [_("Incidents in the area"), data["sla"]["incidents"]],
        *[[str(name), value] for name, value in shown["sla"]],
    ]
    _sheet(book, _("Summary"), [_("Figure"), _("Value")], summary, first=True)
    _sheet(
        book,
        _("Timeline"),
        [_("When"), _("What")],
        [[entry["at"], str(entry["kind_name"])] for entry in shown["timeline"]],
    )
    _sheet(
        book,
        _("Tasks"),
        [
            _("Task"),
            _("Kind"),
            _("Due"),
            _("Done"),
            _("Status"),
            _("Against its deadline"),
            _("Minutes late"),
        ],
        [
            [
                row["title"],
                str(row["kind_name"]),
                row["due"],
                row["done"],
                str(row["status_name"]),
                str(row["outcome_name"]),
                row["late_min"],
            ]
            for row in shown["tasks"]
        ],
    )
    _sheet(
        book,
        _("Roll call"),
        [_("Minutes since the roll call started"), _("Vulnerable households accounted for (%)")],
        [[point["minutes"], point["percent"]] for point in shown["curve"]],
    )
    _sheet(
        book,
        _("Lessons"),
        [_("Lesson"), _("Owner"), _("Person in charge"), _("Due"), _("Done")],
        [
            [
                lesson["text"],
                lesson["owner"],
                lesson["owner_user"],
                lesson["due"] or "",
                _("yes") if lesson["done"] else _("no"),
            ]
            for lesson in data["lessons"]
        ],
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@login_required
@require_GET
@service_errors
def review_xlsx(request: AuthenticatedHttpRequest, pk: int):
    _viewers_only(request.user)
    emergency = services.get_emergency_for(request.user, pk)
    content = review_xlsx_bytes(emergency, review.after_action_review(emergency))
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="emergency-{emergency.pk}-review.xlsx"'
    return private(response)


def _pdf_fonts(pdf: FPDF) -> str:
    font = font_path()
    if font is None:
        raise InvalidInput(
            _("The PDF needs a Chinese font on the server; download the spreadsheet instead."), field="format"
        )
    if font.suffix == ".ttc":
        pdf.add_font("cjk", "", str(font), collection_font_number=0)
    else:
        pdf.add_font("cjk", "", str(font))
    if Path(LATIN_FONT).is_file():
        pdf.add_font("latin", "", LATIN_FONT)
        pdf.set_fallback_fonts(["cjk"])
        return "latin"
    return "cjk"


def _curve_chart(pdf: FPDF, curve: list[dict], width: float) -> None:
    """The roll-call curve as a line chart: minutes across, 0–100 % up."""
    height = 50.0
    left, top = pdf.l_margin + 10, pdf.get_y() + 2
    bottom = top + height
    longest = max([point["minutes"] for point in curve] + [60.0])
    pdf.set_draw_color(120, 120, 120)
    pdf.line(left, bottom, left + width - 10, bottom)
    pdf.line(left, top, left, bottom)
    pdf.set_font_size(7)
    for percent in (0, 50, 100):
        y = bottom - height * percent / 100
        pdf.text(pdf.l_margin, y + 1, f"{percent}%")
    pdf.text(left + width - 25, bottom + 4, f"{round(longest)} min")
    pdf.set_draw_color(0, 90, 160)
    pdf.set_line_width(0.6)
    scale = (width - 10) / longest
    previous = None
    for point in [*curve, {"minutes": longest, "percent": curve[-1]["percent"]}] if curve else []:
        x = left + point["minutes"] * scale
        y = bottom - height * point["percent"] / 100
        if previous is not None:
            pdf.line(previous[0], previous[1], x, previous[1])  # a step: the share holds until it rises
            pdf.line(x, previous[1], x, y)
        previous = (x, y)
    pdf.set_line_width(0.2)
    pdf.set_y(bottom + 8)
    pdf.set_font_size(10)


def review_pdf_bytes(emergency: Emergency, data: dict[str, Any]) -> bytes:
    shown = _shown(data)
    figures = data["roll_call"]
    pdf = FPDF(format="A4")
    pdf.set_title(_("After-action review"))
    pdf.set_creator("Banyan")
    face = _pdf_fonts(pdf)
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(text: str, size: float = 10) -> None:
        pdf.set_font(face, size=size)
        pdf.multi_cell(width, size * 0.55, text, new_x="LMARGIN", new_y="NEXT")

    line(f"{_('After-action review')}: {emergency.title}", 15)
    line(str(LEVEL_NAMES.get(emergency.level, emergency.level)))
    pdf.ln(2)
    line(_("What was detected when"), 12)
    for name, value in shown["detection"]:
        line(f"{name}: {value}")
    pdf.ln(2)
    line(_("Tasks against their deadlines"), 12)
    for row in shown["tasks"]:
        late = f" (+{row['late_min']} min)" if row["late_min"] else ""
        line(f"{row['title']} · {row['due']} · {row['outcome_name']}{late}")
    pdf.ln(2)
    line(_("Roll call: vulnerable households accounted for"), 12)
    if shown["curve"]:
        _curve_chart(pdf, shown["curve"], width)
    counts = figures.get("counts") or {}
    line(
        _("Households asked: %(asked)s · resilience loss: %(loss)s percent-hours")
        % {"asked": counts.get("asked", "—"), "loss": figures.get("resilience_loss", "—")}
    )
    pdf.ln(2)
    line(_("Incidents in the area"), 12)
    line(f"{_('Incidents')}: {data['sla']['incidents']}")
    for name, value in shown["sla"]:
        line(f"{name}: {value}")
    line(f"{_('Shelter peak')}: {data['shelters']['shelter_peak']}")
    pdf.ln(2)
    line(_("Lessons"), 12)
    for lesson in data["lessons"]:
        owner = lesson["owner"] or lesson["owner_user"]
        line(f"{'[x]' if lesson['done'] else '[ ]'} {lesson['text']} — {owner} {lesson['due'] or ''}")
    if not data["lessons"]:
        line(_("None yet."))
    return bytes(pdf.output())


@login_required
@require_GET
@service_errors
def review_pdf(request: AuthenticatedHttpRequest, pk: int):
    _viewers_only(request.user)
    emergency = services.get_emergency_for(request.user, pk)
    try:
        content = review_pdf_bytes(emergency, review.after_action_review(emergency))
    except InvalidInput as exc:
        messages.error(request, exc.message)
        return _render(request, emergency, status=503)
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="emergency-{emergency.pk}-review.pdf"'
    return private(response)
