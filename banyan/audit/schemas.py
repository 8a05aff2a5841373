import datetime as dt

from ninja import Field, Schema

from banyan.core.schemas import PageQuery


class AuditEntryOut(Schema):
    id: int
    at: dt.datetime
    actor: str
    actor_id: int | None
    action: str
    subject_type: str
    subject_id: str
    purpose: str
    request_id: str
    details: dict
    prev_hash: str
    hash: str


class AuditList(Schema):
    count: int
    items: list[AuditEntryOut]


class AuditFilter(PageQuery):
    subject_type: str | None = Field(None, max_length=32)
    subject_id: str | None = Field(None, max_length=64)
    action: str | None = Field(None, max_length=64)
    actor: str | None = Field(None, max_length=150)
