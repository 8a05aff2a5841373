"""The time bank API's shapes: accounts with their balances, a transfer and the transaction it made, a
monthly statement. Hours are JSON numbers with at most 2 decimals; an owner is the account's username
(null for the community's pool and issuance accounts)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Field, Schema
from pydantic import field_validator

from banyan.community.timebank.choices import AccountKind, TransactionKind
from banyan.community.timebank.services import HOURS_MAX, MEMO_MAX, hours_total
from banyan.core.schemas import ObjectId, clean_text


class AccountOut(Schema):
    id: int
    owner: str | None = Field(description="the owner's username; null for the pool and issuance accounts")
    kind: AccountKind
    balance: float = Field(description="hours; the issuance account's is negative")
    community: str = Field(description="the community's code")

    @staticmethod
    def resolve_owner(account) -> str | None:
        return account.owner.username if account.owner_id else None

    @staticmethod
    def resolve_community(account) -> str:
        return account.community.code

    @staticmethod
    def resolve_balance(account) -> float:
        return float(hours_total(account.balance))


class AccountList(Schema):
    count: int
    items: list[AccountOut]


class TransferIn(Schema):
    from_account: ObjectId = Field(alias="from", description="the account the hours leave")
    to: ObjectId = Field(description="the account the hours go to, in the same community")
    hours: Decimal = Field(gt=0, le=HOURS_MAX, decimal_places=2, description="hours, e.g. 1.5")
    memo: str = Field("", max_length=MEMO_MAX)

    _text = field_validator("memo")(clean_text)


class EntryOut(Schema):
    account: int = Field(alias="account_id")
    amount: float


class TransactionOut(Schema):
    id: int
    kind: TransactionKind
    community: str
    memo: str
    created_at: dt.datetime
    reverses: int | None = Field(alias="reverses_id")
    entries: list[EntryOut]

    @staticmethod
    def resolve_community(moved) -> str:
        return moved.community.code

    @staticmethod
    def resolve_entries(moved) -> list:
        return list(moved.entries.order_by("id"))


class StatementQuery(Schema):
    month: str = Field(description="YYYY-MM", max_length=7)


class StatementLineOut(Schema):
    transaction: int
    kind: TransactionKind
    at: dt.datetime
    amount: float
    memo: str


class StatementOut(Schema):
    account: int
    month: str
    opening: float
    lines: list[StatementLineOut]
    closing: float
