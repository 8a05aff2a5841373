from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema
from pydantic import field_validator

from banyan.care.models import CheckIn
from banyan.core.schemas import ObjectId, PageQuery, clean_text


class CheckInIn(Schema):
    resident: ObjectId
    outcome: Literal["fine", "need_help"]
    channel: Literal["app", "sms", "voice", "carer", "staff"]
    note: str = Field("", max_length=500, description="optional, for staff and carers")

    _text = field_validator("note")(clean_text)


class CheckInFilter(PageQuery):
    resident: ObjectId | None = Field(None, description="only this resident's check-ins")


class CheckInOut(Schema):
    id: int
    resident: int
    at: dt.datetime
    channel: str
    outcome: str
    by: str | None = Field(description="who acted: the resident, a carer or staff (null: a gateway's reply)")
    for_proxy: bool = Field(description="a carer of the resident acted for them")
    incident: int | None = Field(description="the incident a need_help opened")

    @staticmethod
    def resolve_resident(obj: CheckIn) -> int:
        return obj.resident_id

    @staticmethod
    def resolve_by(obj: CheckIn) -> str | None:
        return obj.by.display_name if obj.by is not None else None

    @staticmethod
    def resolve_for_proxy(obj: CheckIn) -> bool:
        return obj.for_proxy_id is not None

    @staticmethod
    def resolve_incident(obj: CheckIn) -> int | None:
        return obj.incident_id


class CheckInList(Schema):
    count: int
    items: list[CheckInOut]
