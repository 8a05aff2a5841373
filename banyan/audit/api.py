from django.http import HttpRequest
from ninja import Query, Router

from banyan.audit.models import AuditEntry
from banyan.audit.schemas import AuditFilter, AuditList
from banyan.core.access import Action
from banyan.core.api import ErrorOut, page, require

router = Router(tags=["audit"])


@router.get("/audit", response={200: AuditList, 403: ErrorOut})
def list_audit(request: HttpRequest, filters: Query[AuditFilter]):
    """The audit log, newest first, for auditors and platform administrators."""
    require(request.user, Action.VIEW_AUDIT)
    entries = AuditEntry.objects.all()
    for name in ("subject_type", "subject_id", "action", "actor"):
        value = getattr(filters, name)
        if value:
            entries = entries.filter(**{name: value})
    count, items = page(entries.order_by("-id"), filters.limit, filters.offset)
    return {"count": count, "items": items}
