from __future__ import annotations

import datetime as dt

from ninja import Field, Schema
from pydantic import field_validator

from banyan.core.schemas import PageQuery, clean_text

CHANNEL_PATTERN = r"^(in_app|email|sms|voice)$"


class DeliveryOut(Schema):
    channel: str
    status: str
    attempts: int
    last_error: str
    queued_at: dt.datetime
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None
    acknowledged_at: dt.datetime | None


class MessageOut(Schema):
    id: int
    kind: str
    subject: str
    body: str
    urgency: str
    subject_type: str
    subject_id: str
    language: str
    created_at: dt.datetime
    acknowledged_at: dt.datetime | None
    deliveries: list[DeliveryOut] = Field(..., alias="deliveries.all")


class MessageList(Schema):
    count: int
    items: list[MessageOut]


class MessageFilter(PageQuery):
    acknowledged: bool | None = Field(None, description="false: only those not yet acknowledged")
    unread: bool | None = Field(
        None,
        description="true: only those not yet acknowledged, urgent first, then newest first "
        "(the header's bell shows their count)",
    )
    kind: str | None = Field(None, max_length=64)
    since_id: int | None = Field(None, ge=0, description="only messages with a larger id")


class ReceiptIn(Schema):
    """A gateway's delivery receipt: its own message id (the ``id`` it answered) and what happened."""

    id: str = Field(..., min_length=1, max_length=100)
    status: str = Field(..., pattern=r"^(delivered|failed|acknowledged)$")
    channel: str | None = Field(None, pattern=r"^(sms|voice)$")
    error: str = Field("", max_length=200, description="the gateway's error code, if it failed")

    _text = field_validator("*")(clean_text)


class ReceiptOut(Schema):
    delivery: int = Field(..., alias="pk")
    channel: str
    status: str


class PreferenceIn(Schema):
    language: str | None = Field(None, max_length=16)
    normal_channels: list[str] | None = Field(None, max_length=4)
    urgent_channels: list[str] | None = Field(None, max_length=4)
    phone: str | None = Field(None, max_length=32, description="for SMS and calls; empty removes it")

    _text = field_validator("language", "phone")(clean_text)


class PreferenceOut(Schema):
    language: str
    normal_channels: list[str]
    urgent_channels: list[str]
    phone: str = Field(..., description="masked")


class InboundIn(Schema):
    """A reply to an SMS or a key pressed during a call, as the gateway received it."""

    channel: str = Field(..., pattern=r"^(sms|voice)$")
    from_: str = Field(..., alias="from", min_length=1, max_length=32, description="the sender's phone")
    text: str = Field(..., max_length=160, description="the reply's text, or the key pressed (voice)")
    id: str = Field("", max_length=100, description="the gateway's own id of this message")

    _text = field_validator("channel", "from_", "text", "id")(clean_text)


class InboundOut(Schema):
    status: str = Field(
        ...,
        description="recorded, or why it was not acted on: unknown_number, unknown_keyword, too_late, "
        "not_expected",
    )
    reply: str = Field(..., description="what the gateway sends back (SMS) or says (voice)")
    language: str


class InboundBatchIn(Schema):
    """Several replies and key presses in one post (a gateway forwarding what arrived together)."""

    messages: list[InboundIn] = Field(..., min_length=1, max_length=500)


class InboundBatchOut(Schema):
    count: int
    items: list[InboundOut] = Field(..., description="one answer per message, in the order posted")
