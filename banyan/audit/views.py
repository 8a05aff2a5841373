"""The audit page for auditors and platform administrators: the log newest first, in words, with filters,
the chain's verification state, and an export of the filtered entries (itself audited).

The log holds no personal values (ids, field names and purposes only), so whoever may read it
(``Action.VIEW_AUDIT``) reads all of it: there is no region scope to apply. Every other role gets 403.
The JSON API beside it is ``GET /api/v1/audit`` (banyan/audit/api.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from banyan.audit import services
from banyan.audit.forms import AuditFilterForm
from banyan.core import clock
from banyan.core.access import Action, can
from banyan.core.errors import InvalidInput
from banyan.core.views import private, service_errors

if TYPE_CHECKING:
    from banyan.core.access import Actor

PAGE_SIZE = 50


def _auditor(request: HttpRequest) -> Actor:
    """The signed-in reader of the log; any other role is refused (403)."""
    if not can(cast("Actor", request.user), Action.VIEW_AUDIT):
        raise DjangoPermissionDenied
    return cast("Actor", request.user)


def _filters_query(request: HttpRequest) -> str:
    """The page's query string without the page number: the filters, for the export and "verify now"."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _chain_summary(state: services.ChainState) -> dict:
    """The chain's state in words: whether it is intact, up to which entry, the anchor, or the break."""
    result = state.result
    lines: list[str] = []
    if result is None:
        return {
            "ok": None,
            "headline": _("Not verified yet"),
            "lines": [
                _(
                    "The log holds %(count)d entries: verifying them takes a while, so it is done when you "
                    "ask for it."
                )
                % {"count": state.entries_now}
            ],
        }
    if result.ok:
        headline = _("Chain intact up to entry %(checked)d") % {"checked": result.checked}
        lines.append(_("No entry up to it was altered, removed or inserted."))
        if result.anchored_id:
            lines.append(
                _("The anchor kept outside the database records entry %(anchor)d, and it matches.")
                % {"anchor": result.anchored_id}
            )
        else:
            lines.append(_("No anchor file: the end of the log is not anchored outside the database."))
    else:
        headline = (
            _("Chain broken at entry %(entry)d") % {"entry": result.bad_id}
            if result.bad_id is not None
            else _("Chain not verified")
        )
        lines.append(services.describe_break(result))
        if result.bad_id is not None and result.checked:
            lines.append(
                _("Entries 1 to %(checked)d verify; everything from entry %(entry)d on is in doubt.")
                % {"checked": result.checked, "entry": result.bad_id}
            )
    later = state.entries_now - result.checked
    if result.ok and later > 0:
        lines.append(
            _("%(count)d entries were recorded since; the next verification checks them.") % {"count": later}
        )
    return {"ok": result.ok, "headline": headline, "lines": lines}


def _render_log(
    request: HttpRequest, form: AuditFilterForm, *, error: str = "", status: int = 200
) -> HttpResponse:
    filters = form.filters()
    page = Paginator(services.entries_matching(filters), PAGE_SIZE).get_page(request.GET.get("page"))
    state = services.chain_state()
    query = _filters_query(request)
    context = {
        "form": form,
        "page": page,
        "rows": services.describe_entries(page.object_list),
        "chain": _chain_summary(state),
        "checked_at": state.checked_at,
        "seconds": state.seconds,
        "export_url": reverse("audit:export") + (f"?{query}" if query else ""),
        "export_csv_url": reverse("audit:export") + f"?{query}{'&' if query else ''}format=csv",
        "verify_url": reverse("audit:verify") + (f"?{query}" if query else ""),
        "export_error": error,
        "filtered": any(form.data.get(name) for name in form.fields),
        "nav": "audit",
    }
    return render(request, "audit/log.html", context, status=status)


@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """The log, newest first, 50 entries a page, filtered by the form's fields."""
    _auditor(request)
    return _render_log(request, AuditFilterForm(request.GET))


@login_required
@require_POST
def audit_verify(request: HttpRequest) -> HttpResponse:
    """Verify the whole chain now (the page otherwise shows a result up to ten minutes old), then show
    the page again with the same filters."""
    _auditor(request)
    services.chain_state(refresh=True)
    query = _filters_query(request)
    return redirect(reverse("audit:log") + (f"?{query}" if query else ""))


@login_required
@require_GET
@service_errors
def audit_export(request: HttpRequest) -> HttpResponse:
    """The filtered entries as a spreadsheet (``?format=xlsx``, the default) or plain text (``csv``); the
    export is recorded in the log. A filter that is not accepted, or too many entries, shows the page
    again with the message (400), and nothing is exported."""
    user = _auditor(request)
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return _render_log(
            request, form, error=_("Correct the filters below, then export again."), status=400
        )
    try:
        export = services.export_entries(
            actor=user, filters=form.filters(), file_format=request.GET.get("format", "xlsx")
        )
    except InvalidInput as exc:
        return _render_log(request, form, error=exc.message, status=400)
    response = HttpResponse(export.content, content_type=export.content_type)
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-log-{stamp}.{export.file_format}"'
    return private(response)
