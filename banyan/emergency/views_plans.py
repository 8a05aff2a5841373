"""The hazard register and plan pages: the register and a hazard (edited and marked reviewed by those who
manage emergencies, read by the other staff), the plans by hazard and level, a plan's version with its
checklist, notices, facilities and supplies, and the editor that saves a new version."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from banyan.core.access import Action, can
from banyan.core.choices import Role
from banyan.core.errors import Conflict, InvalidInput
from banyan.core.views import service_errors
from banyan.emergency import hazards, plans
from banyan.emergency.choices import LEVEL_GRADE, HazardKind, Level
from banyan.emergency.forms_plans import (
    HazardForm,
    NoticeFormSet,
    PlanSectionsForm,
    SupplyFormSet,
    TaskFormSet,
)
from banyan.emergency.models import Hazard, Plan
from banyan.emergency.plan_templates import LEVEL_ZH
from banyan.people.choices import OrganisationKind
from banyan.people.models import AuthenticatedHttpRequest, may_see_care
from banyan.places.choices import FacilityKind
from banyan.places.models import Building, Facility
from banyan.response.catalogue import CATEGORIES

ROW_PATH = re.compile(r"^(tasks|notices|supplies)\[(\d+)\](?:\.(\w+))?")
SECTION_FIELDS = {
    "title_zh": "title_zh",
    "title_en": "title_en",
    "change_note": "change_note",
    "lead.organisation_kind": "lead_organisation_kind",
    "lead.role": "lead_role",
    "triggers.manual": "manual",
    "triggers.cap.min_severity": "cap_min_severity",
    "triggers.alert_rules": "alert_rules",
    "roll_call.wait_minutes": "roll_call_wait",
    "roll_call.vulnerable_wait_minutes": "roll_call_vulnerable_wait",
    "call_up.hours": "call_up_hours",
}
CJK = re.compile(r"[\u3400-\u9fff]")


def _chinese() -> bool:
    return (get_language() or "").startswith("zh")


def _say(zh: str, en: str) -> str:
    """The Chinese or the English text of a pair, by the reader's language (Chinese when no English)."""
    return zh if _chinese() or not en else en


def level_label(level: int) -> str:
    """A level as the reader says it: Ⅰ级（红色）… in Chinese (Roman numerals as Chinese plans write them,
    not Latin letters), Level I (red) … in English."""
    return LEVEL_ZH[level] if _chinese() else str(Level(level).label)


def _viewers_only(user) -> None:
    if not can(user, Action.VIEW_EMERGENCIES):
        raise DjangoPermissionDenied(_("Your role cannot see emergency plans."))


def _managers_only(user) -> None:
    if not can(user, Action.MANAGE_EMERGENCIES):
        raise DjangoPermissionDenied(_("Your role cannot change emergency plans."))


# --- the hazard register --------------------------------------------------------------------------


def _by_community(rows, key):
    groups: dict[int, dict[str, Any]] = {}
    for row in rows:
        community = key(row)
        groups.setdefault(community.pk, {"community": community, "rows": []})["rows"].append(row)
    return list(groups.values())


@login_required
@require_http_methods(["GET"])
def hazard_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The register: each hazard with its risk (likelihood × impact), what it exposes, whether its
    yearly review is due; riskiest first."""
    user = request.user
    _viewers_only(user)
    rows = [
        {
            "hazard": hazard,
            "summary": hazards.summary(hazard.exposure),
            "review_due": hazards.review_due(hazard),
        }
        for hazard in hazards.register_for(user)
    ]
    rows.sort(key=lambda row: (row["hazard"].community.path, -row["hazard"].risk, row["hazard"].kind))
    groups = _by_community(rows, lambda row: row["hazard"].community)
    return render(request, "emergency/hazard_list.html", {"groups": groups, "nav": "emergency"})


def _exposure_rows(hazard: Hazard, user) -> dict[str, Any]:
    data = hazard.exposure or {}
    building_ids = [row["id"] for row in data.get("buildings", [])]
    names = dict(Building.objects.filter(pk__in=building_ids).values_list("pk", "name"))
    facility_ids = [row["id"] for row in data.get("facilities", [])]
    facilities = Facility.objects.filter(pk__in=facility_ids).order_by("code")
    return {
        "buildings": [
            {**row, "name": names.get(row["id"], row.get("code", ""))} for row in data.get("buildings", [])
        ],
        "facilities": [
            {"name": _say(f.name_zh, f.name_en), "kind": FacilityKind(f.kind).label} for f in facilities
        ],
        "summary": hazards.summary(data),
        # Counts of residents in care per building only to those who may see care; the total to all.
        "care_per_building": may_see_care(user),
    }


def _stamp(hazard: Hazard) -> str:
    """What the review button sends back: the hazard as the page showed it (a changed one is refused)."""
    return hazard.updated_at.isoformat()


def _hazard_page(request: AuthenticatedHttpRequest, hazard: Hazard, form, *, status: int = 200):
    user = request.user
    context = {
        "hazard": hazard,
        "form": form,
        "stamp": _stamp(hazard),
        "may_manage": hazards.may_manage(user),
        "review_due": hazards.review_due(hazard),
        "exposure": _exposure_rows(hazard, user),
        "plans": [
            {"pk": plan.pk, "level": level_label(plan.level)}
            for plan in plans.plans_for(user)
            .filter(community=hazard.community, hazard=hazard.kind)
            .order_by("level")
        ],
        "nav": "emergency",
    }
    return render(request, "emergency/hazard_detail.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def hazard_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A hazard: its scores, notes and exposure; those who manage emergencies change it here."""
    user = request.user
    _viewers_only(user)
    hazard = hazards.get_hazard_for(user, pk)
    initial = {"likelihood": hazard.likelihood, "impact": hazard.impact, "notes": hazard.notes}
    form = None
    if request.method == "POST":
        _managers_only(user)
        form = HazardForm(request.POST)
        if form.is_valid():
            try:
                hazards.update_hazard(actor=user, hazard=hazard, **form.cleaned_data)
            except InvalidInput as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("Hazard saved."))
                return redirect("emergency:hazard-detail", hazard.pk)
    elif hazards.may_manage(user):
        form = HazardForm(initial=initial)
    return _hazard_page(request, hazard, form)


@login_required
@require_POST
@service_errors
def hazard_review(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Mark the hazard reviewed (its exposure recomputed from today's places and people), if it is still
    as the page showed it."""
    user = request.user
    _viewers_only(user)
    hazard = hazards.get_hazard_for(user, pk)
    _managers_only(user)
    if request.POST.get("seen") != _stamp(hazard):
        error = _("The hazard changed since the page was opened: look at it again, then mark it reviewed.")
        form = HazardForm(
            initial={"likelihood": hazard.likelihood, "impact": hazard.impact, "notes": hazard.notes}
        )
        messages.warning(request, error)
        return _hazard_page(request, hazard, form, status=409)
    hazards.review_hazard(actor=user, hazard=hazard)
    messages.success(request, _("Hazard marked reviewed."))
    return redirect("emergency:hazard-detail", hazard.pk)


# --- plans ----------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def plan_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The current plans: a row per hazard, a column per level (IV blue → I red)."""
    user = request.user
    _viewers_only(user)
    levels = sorted(Level.values, reverse=True)
    cells: dict[tuple[int, str, int], Plan] = {}
    communities = {}
    for plan in plans.plans_for(user):
        cells[(plan.community_id, plan.hazard, plan.level)] = plan
        communities[plan.community_id] = plan.community
    groups = []
    for community in sorted(communities.values(), key=lambda c: c.path):
        rows = [
            {
                "hazard": HazardKind(kind).label,
                "cells": [cells.get((community.pk, kind, level)) for level in levels],
            }
            for kind in HazardKind.values
        ]
        groups.append({"community": community, "rows": rows})
    context = {
        "groups": groups,
        "levels": [
            {"value": level, "label": level_label(level), "grade": LEVEL_GRADE[level]} for level in levels
        ],
        "nav": "emergency",
    }
    return render(request, "emergency/plan_list.html", context)


def _events_for_reader(events: list[str]) -> list[str]:
    """The CAP event names a reader of this language reads (Chinese names on a Chinese page)."""
    mine = [event for event in events if bool(CJK.search(event)) == _chinese()]
    return mine or events


def _plan_display(plan: Plan) -> dict[str, Any]:
    body = plan.body or {}
    categories = {code: _say(zh, en) for code, zh, en, *_rest in CATEGORIES}
    triggers = body.get("triggers") or {}
    cap = triggers.get("cap")
    lead = body.get("lead") or {}
    roll_call = body.get("roll_call")
    return {
        "title": _say(plan.title_zh, plan.title_en),
        "manual": triggers.get("manual", False),
        "cap_events": _events_for_reader(cap["events"]) if cap else [],
        "cap_severity": plans.SEVERITY_LABELS.get(cap["min_severity"], "") if cap else "",
        "alert_rules": [categories.get(code, code) for code in triggers.get("alert_rules", [])],
        "lead_kind": OrganisationKind(lead["organisation_kind"]).label if lead else "",
        "lead_role": Role(lead["role"]).label if lead else "",
        "tasks": [
            {
                "key": task["key"],
                "title": _say(task["title_zh"], task.get("title_en", "")),
                "owner_kind": OrganisationKind(task["owner_kind"]).label,
                "owner_role": Role(task["owner_role"]).label,
                "due_minutes": task["due_minutes"],
            }
            for task in sorted(body.get("tasks", []), key=lambda task: task["due_minutes"])
        ],
        "notices": [
            {
                "audience": plans.AUDIENCES[notice["audience"]],
                "text": _say(notice["text_zh"], notice.get("text_en", "")),
                "channels": [plans.NOTICE_CHANNELS[c] for c in notice["channels"]],
            }
            for notice in body.get("notices", [])
        ],
        "facilities": [FacilityKind(kind).label for kind in body.get("facilities", [])],
        "supplies": [
            {"kind": plans.SUPPLY_KINDS[supply["kind"]], "quantity": supply["quantity"]}
            for supply in body.get("supplies", [])
        ],
        "roll_call_wait": roll_call["wait_minutes"] if roll_call else None,
        "roll_call_vulnerable_wait": roll_call.get("vulnerable_wait_minutes") if roll_call else None,
        "call_up_hours": (body.get("call_up") or {}).get("hours"),
    }


@login_required
@require_http_methods(["GET"])
@service_errors
def plan_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """One version of a plan: triggers, lead, the checklist by deadline, notices, facilities, supplies,
    and the list of its versions."""
    user = request.user
    _viewers_only(user)
    plan = plans.get_plan_for(user, pk)
    context = {
        "plan": plan,
        "show": _plan_display(plan),
        "grade": LEVEL_GRADE[plan.level],
        "level": level_label(plan.level),
        "versions": plans.versions_of(plan),
        "may_edit": plans.may_edit_plans(user) and plan.is_current,
        "nav": "emergency",
    }
    return render(request, "emergency/plan_detail.html", context)


def _initial(plan: Plan) -> dict[str, Any]:
    body = plan.body or {}
    triggers = body.get("triggers") or {}
    cap = triggers.get("cap")
    lead = body.get("lead") or {}
    roll_call = body.get("roll_call")
    return {
        "title_zh": plan.title_zh,
        "title_en": plan.title_en,
        "lead_organisation_kind": lead.get("organisation_kind"),
        "lead_role": lead.get("role"),
        "manual": triggers.get("manual", True),
        "cap_events": "\n".join(cap["events"]) if cap else "",
        "cap_min_severity": cap["min_severity"] if cap else "Severe",
        "alert_rules": triggers.get("alert_rules", []),
        "facilities": body.get("facilities", []),
        "roll_call": roll_call is not None,
        "roll_call_wait": roll_call["wait_minutes"] if roll_call else None,
        "roll_call_vulnerable_wait": roll_call.get("vulnerable_wait_minutes") if roll_call else None,
        "call_up": body.get("call_up") is not None,
        "call_up_hours": (body.get("call_up") or {}).get("hours"),
    }


def _roll_call_body(cleaned: dict[str, Any]) -> dict[str, int] | None:
    if not cleaned["roll_call"]:
        return None
    body = {"wait_minutes": cleaned["roll_call_wait"]}
    if cleaned.get("roll_call_vulnerable_wait"):
        body["vulnerable_wait_minutes"] = cleaned["roll_call_vulnerable_wait"]
    return body


def _rows(formset) -> tuple[list[dict], list]:
    """The rows kept (filled in and not deleted), and their forms in the same order."""
    rows, kept = [], []
    for index, form in enumerate(formset.forms):
        blank = index >= formset.initial_form_count() and not form.has_changed()
        if blank or form.cleaned_data.get("DELETE"):
            continue
        rows.append({name: value for name, value in form.cleaned_data.items() if name != "DELETE"})
        kept.append(form)
    return rows, kept


def _place_error(exc: InvalidInput, sections: PlanSectionsForm, kept: dict[str, list]) -> None:
    """Put a service error at the field its path names: ``tasks[2].due_minutes`` on the third task kept."""
    path = exc.field or ""
    match = ROW_PATH.match(path)
    if match and match.group(1) in kept and int(match.group(2)) < len(kept[match.group(1)]):
        form = kept[match.group(1)][int(match.group(2))]
        name = match.group(3)
        form.add_error(name if name in form.fields else None, exc.message)
        return
    if path.startswith("triggers.cap"):
        sections.add_error("cap_events", exc.message)
    elif path in SECTION_FIELDS:
        sections.add_error(SECTION_FIELDS[path], exc.message)
    elif path.split("[")[0] in ("facilities",):
        sections.add_error("facilities", exc.message)
    else:
        sections.add_error(None, exc.message)


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def plan_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The plan editor: a form per section, tasks, notices and supplies as rows; saving makes a new
    version with its change note (the version shown stays as it was)."""
    user = request.user
    _viewers_only(user)
    plan = plans.get_plan_for(user, pk)
    _managers_only(user)
    body = plan.body or {}
    data = request.POST if request.method == "POST" else None
    sections = PlanSectionsForm(data, initial=_initial(plan))
    tasks = TaskFormSet(data, prefix="tasks", initial=body.get("tasks", []))
    notices = NoticeFormSet(data, prefix="notices", initial=body.get("notices", []))
    supplies = SupplyFormSet(data, prefix="supplies", initial=body.get("supplies", []))
    status = 200
    if request.method == "POST" and not plan.is_current:
        messages.warning(request, _("This version is no longer current: open the current one to change it."))
        status = 409
    elif request.method == "POST":
        valid = [form.is_valid() for form in (sections, tasks, notices, supplies)]
        if all(valid):
            task_rows, task_forms = _rows(tasks)
            notice_rows, notice_forms = _rows(notices)
            supply_rows, supply_forms = _rows(supplies)
            cleaned = sections.cleaned_data
            events = sections.cap_event_list()
            new_body = {
                "triggers": {
                    "manual": cleaned["manual"],
                    "cap": {"events": events, "min_severity": cleaned["cap_min_severity"]}
                    if events
                    else None,
                    "alert_rules": cleaned["alert_rules"],
                },
                "lead": {
                    "organisation_kind": cleaned["lead_organisation_kind"],
                    "role": cleaned["lead_role"],
                },
                "tasks": task_rows,
                "notices": notice_rows,
                "facilities": cleaned["facilities"],
                "supplies": supply_rows,
                "roll_call": _roll_call_body(cleaned),
                "call_up": {"hours": cleaned["call_up_hours"]} if cleaned["call_up"] else None,
            }
            try:
                made = plans.new_version(
                    actor=user,
                    plan=plan,
                    body=new_body,
                    change_note=cleaned["change_note"],
                    title_zh=cleaned["title_zh"],
                    title_en=cleaned["title_en"],
                )
            except InvalidInput as exc:
                _place_error(
                    exc, sections, {"tasks": task_forms, "notices": notice_forms, "supplies": supply_forms}
                )
            except Conflict as exc:
                messages.warning(request, exc.message)
                status = 409
            else:
                messages.success(request, _("Plan saved as version %(version)d.") % {"version": made.version})
                return redirect("emergency:plan-detail", made.pk)
    context = {
        "plan": plan,
        "title": _say(plan.title_zh, plan.title_en),
        "sections": sections,
        "tasks": tasks,
        "notices": notices,
        "supplies": supplies,
        "nav": "emergency",
    }
    return render(request, "emergency/plan_edit.html", context, status=status)
