"""Your notifications (list, acknowledge), your notification preferences, and the gateways' receipts.

The live stream of new notifications is the SSE endpoint ``GET /notify/stream`` (``views.py``).
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest
from ninja import Query, Router
from ninja.security import HttpBearer

from banyan.core.api import ErrorOut, page
from banyan.core.vault import mask_phone
from banyan.notify import inbound, services
from banyan.notify.models import Message, Preference
from banyan.notify.schemas import (
    InboundBatchIn,
    InboundBatchOut,
    InboundIn,
    InboundOut,
    MessageFilter,
    MessageList,
    MessageOut,
    PreferenceIn,
    PreferenceOut,
    ReceiptIn,
    ReceiptOut,
)

router = Router(tags=["notify"])
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


class GatewayAuth(HttpBearer):
    """Receipts come from the SMS and voice gateways, which present ``BANYAN_GATEWAY_TOKEN``; with no
    token configured every receipt is refused."""

    def authenticate(self, request, token):
        expected = settings.BANYAN_NOTIFY["GATEWAY_TOKEN"]
        if expected and hmac.compare_digest(token.encode(), expected.encode()):
            return "gateway"
        return None


@router.get("/notify/messages", response={200: MessageList, **ERRORS})
def list_messages(request: HttpRequest, filters: Query[MessageFilter]):
    """Your notifications, newest first, each with its deliveries per channel. ``unread=true``: the
    inbox — only those not yet acknowledged, urgent first (the count the header's bell shows)."""
    if filters.unread:
        messages = services.unread(request.user).prefetch_related("deliveries")
    else:
        messages = Message.objects.restrict(request.user).prefetch_related("deliveries")
    if filters.unread is False:
        messages = messages.filter(acknowledged_at__isnull=False)
    if filters.acknowledged is not None:
        messages = messages.filter(acknowledged_at__isnull=not filters.acknowledged)
    if filters.kind:
        messages = messages.filter(kind=filters.kind)
    if filters.since_id is not None:
        messages = messages.filter(pk__gt=filters.since_id)
    count, items = page(messages, filters.limit, filters.offset)
    return {"count": count, "items": items}


@router.get("/notify/messages/{int:message_id}", response={200: MessageOut, **ERRORS})
def get_message(request: HttpRequest, message_id: int):
    return services.get_message_for(request.user, message_id)


@router.post("/notify/messages/{int:message_id}/ack", response={200: MessageOut, **ERRORS})
def acknowledge_message(request: HttpRequest, message_id: int):
    """You have read it. Deliveries still waiting on other channels (SMS, a call) are cancelled."""
    message = services.get_message_for(request.user, message_id)
    return services.acknowledge(message, request.user)


def _preference_out(preference: Preference | None) -> dict:
    if preference is None:
        return {"language": "", "normal_channels": [], "urgent_channels": [], "phone": ""}
    return {
        "language": preference.language,
        "normal_channels": preference.normal_channels,
        "urgent_channels": preference.urgent_channels,
        "phone": mask_phone(preference.phone),
    }


@router.get("/notify/preferences", response={200: PreferenceOut, **ERRORS})
def get_preferences(request: HttpRequest):
    """How you are told: language, channels per urgency (empty: the defaults), phone (masked)."""
    return _preference_out(Preference.objects.filter(user=request.user).first())


@router.patch("/notify/preferences", response={200: PreferenceOut, **ERRORS})
def set_preferences(request: HttpRequest, payload: PreferenceIn):
    """Change how you are told; fields left out stay as they are."""
    preference = services.set_preference(actor=request.user, user=request.user, **payload.model_dump())
    return _preference_out(preference)


@router.post("/notify/receipts", auth=GatewayAuth(), response={200: ReceiptOut, **ERRORS})
def receive_receipt(request: HttpRequest, payload: ReceiptIn):
    """A delivery receipt from the SMS or voice gateway (``Authorization: Bearer`` the gateway token)."""
    return services.record_receipt(
        provider_message_id=payload.id, status=payload.status, channel=payload.channel, error=payload.error
    )


def _inbound_item(message: InboundIn) -> dict:
    return {
        "channel": message.channel,
        "phone": message.from_,
        "text": message.text,
        "provider_id": message.id,
    }


def _inbound_out(answer: inbound.InboundAnswer) -> dict:
    return {"status": answer.status, "reply": answer.reply, "language": answer.language}


@router.post("/notify/inbound", auth=GatewayAuth(), response={200: InboundOut, **ERRORS})
def receive_inbound(request: HttpRequest, payload: InboundIn):
    """A reply to an SMS or a key pressed during a call, from the gateway (``Authorization: Bearer`` the
    gateway token): ``{"channel": "sms"|"voice", "from": PHONE, "text": "1", "id": "<their id>"}``.
    The answer's ``reply`` is for the gateway to send back or speak; ``status`` says whether it was acted
    on. Unknown numbers, unknown keywords and replies after the window are answered, never acted on."""
    (answer,) = inbound.receive_many([_inbound_item(payload)])
    return _inbound_out(answer)


@router.post("/notify/inbound/batch", auth=GatewayAuth(), response={200: InboundBatchOut, **ERRORS})
def receive_inbound_batch(request: HttpRequest, payload: InboundBatchIn):
    """Up to 500 replies and key presses at once (``{"messages": [...]}``, each as for
    ``/notify/inbound``), taken together: one answer each, in order. A bad one refuses the whole post,
    naming it (``messages[3].from``)."""
    answers = inbound.receive_many([_inbound_item(message) for message in payload.messages])
    return {"count": len(answers), "items": [_inbound_out(answer) for answer in answers]}
