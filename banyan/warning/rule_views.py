"""The warning rule pages under ``/rules/``: the rules of one's communities (every role that sees alerts),
a rule with its settings, and changing or adding one (the roles that change rules: administrators,
street officers and community directors, each in their area) — the same rights as the API's
``/api/v1/rules`` (``Action.VIEW_ALERTS`` to read, ``Action.CHANGE_RULES`` to write, scoped by the
rule's community). Saving is ``services.create_rule`` / ``update_rule``, as through the API: the engine
checks the settings and names the field it refuses, which the form shows at that field."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from banyan.core.access import Action, can
from banyan.core.errors import InvalidInput
from banyan.core.views import service_errors
from banyan.people.models import AuthenticatedHttpRequest
from banyan.places.choices import RegionKind
from banyan.places.models import Region
from banyan.warning import services
from banyan.warning.models import Rule
from banyan.warning.rule_forms import (
    ACTIVE,
    INACTIVE,
    SETTING_HELP,
    SETTINGS_EXAMPLE,
    RuleFilterForm,
    RuleForm,
    category_names,
    grade_label,
    kind_label,
    region_name,
    settings_text,
)

PAGE_SIZE = 50


def _require(user, action: Action) -> None:
    if not can(user, action):
        raise DjangoPermissionDenied


def _described(rule: Rule, categories: dict[str, str]) -> dict:
    """The rule with its kind, grade, community and incident category in words, for the templates."""
    category = rule.incident_category
    return {
        "rule": rule,
        "kind": kind_label(rule.kind),
        "grade": grade_label(rule.grade),
        "community": region_name(rule.community),
        "category": categories.get(category, _("A category no longer in use")) if category else "",
    }


def _glossary() -> dict:
    """The settings' meanings and an example, shown below the form's settings."""
    glossary = [
        {"key": key, "meaning": meaning, "values": values} for key, (meaning, values) in SETTING_HELP.items()
    ]
    return {"setting_help": glossary, "settings_example": SETTINGS_EXAMPLE}


def _communities_of(rules) -> list[Region]:
    return list(Region.objects.filter(pk__in=rules.values("community_id")).order_by("path"))


@login_required
@require_GET
@service_errors
def rule_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The rules of the communities in one's area: name in the page's language, kind, grade, state."""
    user = request.user
    _require(user, Action.VIEW_ALERTS)
    rules = Rule.objects.restrict(user).select_related("community")
    form = RuleFilterForm(request.GET, communities=_communities_of(rules))
    filters = form.filters()
    if filters["community"]:
        rules = rules.filter(community__code=filters["community"])
    if filters["state"] == ACTIVE:
        rules = rules.filter(is_active=True)
    elif filters["state"] == INACTIVE:
        rules = rules.filter(is_active=False)
    page = Paginator(rules.order_by("community__path", "-is_active", "name", "id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    categories = category_names()
    context = {
        "form": form,
        "page": page,
        "rows": [_described(rule, categories) for rule in page.object_list],
        "can_change": can(user, Action.CHANGE_RULES),
        "nav": "rules",
    }
    return render(request, "warning/rules/rule_list.html", context)


def _render_rule(request: AuthenticatedHttpRequest, rule: Rule, form: RuleForm | None) -> HttpResponse:
    context = {
        **_described(rule, category_names()),
        "form": form,
        "settings_text": settings_text(rule.params),
        **_glossary(),
        "nav": "rules",
    }
    return render(request, "warning/rules/rule_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def rule_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A rule and, for those who may change it, its form: saved through ``services.update_rule``."""
    user = request.user
    _require(user, Action.VIEW_ALERTS)
    if request.method == "POST":
        _require(user, Action.CHANGE_RULES)
        rule = services.get_rule_for(user, pk, Action.CHANGE_RULES)
        form = RuleForm(request.POST, rule=rule)
        if form.is_valid():
            try:
                services.update_rule(actor=user, rule=rule, data=form.data_for_service())
            except InvalidInput as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("The rule is saved."))
                return redirect("warning:rule-detail", pk=rule.pk)
        return _render_rule(request, rule, form)
    rule = services.get_rule_for(user, pk)
    editable = can(user, Action.CHANGE_RULES) and (
        Rule.objects.restrict(user, Action.CHANGE_RULES).filter(pk=rule.pk).exists()
    )
    return _render_rule(request, rule, RuleForm(rule=rule) if editable else None)


@login_required
@require_http_methods(["GET", "POST"])
@service_errors
def rule_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A new rule of a community one may change the rules of (``services.create_rule``)."""
    user = request.user
    _require(user, Action.CHANGE_RULES)
    communities = list(
        Region.objects.restrict(user, Action.CHANGE_RULES).filter(kind=RegionKind.COMMUNITY).order_by("path")
    )
    if request.method == "POST":
        form = RuleForm(request.POST, communities=communities)
        if form.is_valid():
            try:
                rule = services.create_rule(actor=user, data=form.data_for_service())
            except InvalidInput as exc:
                form.add_service_error(exc)
            else:
                messages.success(request, _("The rule is saved."))
                return redirect("warning:rule-detail", pk=rule.pk)
    else:
        form = RuleForm(communities=communities)
    return render(request, "warning/rules/rule_new.html", {"form": form, **_glossary(), "nav": "rules"})
