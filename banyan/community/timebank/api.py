"""The time bank over the API: ``GET /timebank/accounts`` (every account in your scope with its balance,
the community's pool and issuance accounts included), ``POST /timebank/transfers`` (by the owner of
``from``, or a manager) and ``GET /timebank/accounts/{id}/statement?month=YYYY-MM``. Another community's
account answers 404, as a missing one; a short balance 409 naming ``hours``; bad hours 422 naming
``hours``."""

from __future__ import annotations

from ninja import Query, Router, Status

from banyan.community.timebank import services
from banyan.community.timebank.schemas import (
    AccountList,
    StatementOut,
    StatementQuery,
    TransactionOut,
    TransferIn,
)
from banyan.core.access import Action
from banyan.core.api import ErrorOut, page, require
from banyan.core.schemas import PageQuery
from banyan.people.models import AuthenticatedHttpRequest

router = Router(tags=["timebank"])
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut}


@router.get("/timebank/accounts", response={200: AccountList, **ERRORS})
def list_accounts(request: AuthenticatedHttpRequest, filters: Query[PageQuery]):
    """Every time-bank account in your scope (a resident: their own, their household's, and their
    community's pool and issuance accounts), by community and id, with its balance in hours."""
    require(request.user, Action.VIEW_TIMEBANK)
    count, items = page(services.accounts_for(request.user), filters.limit, filters.offset)
    return {"count": count, "items": items}


@router.post("/timebank/transfers", response={201: TransactionOut, 409: ErrorOut, **ERRORS})
def make_transfer(request: AuthenticatedHttpRequest, payload: TransferIn):
    """Move ``hours`` from ``from`` to ``to`` (same community): by the owner of ``from``, or a manager
    (an administrator's transfer for an offline member, or a payment from the pool, with a memo)."""
    require(request.user, Action.VIEW_TIMEBANK)
    moved = services.transfer(
        actor=request.user,
        from_account=payload.from_account,
        to_account=payload.to,
        hours=payload.hours,
        memo=payload.memo,
    )
    return Status(201, moved)


@router.get("/timebank/accounts/{int:account_id}/statement", response={200: StatementOut, **ERRORS})
def get_statement(request: AuthenticatedHttpRequest, account_id: int, query: Query[StatementQuery]):
    """An account's monthly statement (local time): opening balance, the month's entries, closing balance."""
    require(request.user, Action.VIEW_TIMEBANK)
    account = services.get_account_for(request.user, account_id)
    month = services.parse_month(query.month)
    shown = services.statement(account, month)
    return {
        "account": account.pk,
        "month": month.strftime("%Y-%m"),
        "opening": shown.opening,
        "lines": shown.lines,
        "closing": shown.closing,
    }
