"""The second factor: TOTP (an authenticator app) with one-time recovery codes, on django-otp.

- **Who needs it**: every role in ``BANYAN_OTP["REQUIRED_ROLES"]`` — every staff role, since each
  sees or may reveal other people's personal data (the auditor reads everyone's names and the audit
  log). Residents see only their own household's data and must be able to sign in without a
  smartphone, so for them it is optional: a resident who has set it up is asked for it too.
- **Flow**: the password first (:mod:`banyan.people.login`); then, until the session has passed the
  second factor, :class:`SecondFactorMiddleware` lets it reach only the second-factor pages, sign-out,
  the language and elder-mode switches and static files. An account with a confirmed device enters
  a 6-digit code (or a recovery code, used once); one without enrols first: a QR code (SVG drawn
  by segno, no external service) and the key as text, confirmed with a code, then 10 recovery codes
  shown once.
- **Bearer tokens** are untouched: they were created by a session that passed the second factor, or
  on the server's command line. A request carrying one is judged by the token alone.
- Every enrolment, verification, wrong code, recovery code used and reset is audited.

django-otp verifies codes against the wall clock (a TOTP is the phone's time) and throttles wrong
codes itself (a growing wait after each, ``OTP_TOTP_THROTTLE_FACTOR``); those two read the
system time, not :mod:`banyan.core.clock`, on purpose.
"""

from __future__ import annotations

import base64

import django_otp
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from banyan.audit.actions import AuditAction
from banyan.audit.services import record_one
from banyan.core import clock
from banyan.core.errors import NotFound
from banyan.people.models import User

# The session remembers when it last passed the second factor (seconds since the epoch, Banyan's
# clock): the sign-in itself, or a later step-up (banyan.people.stepup).
VERIFIED_AT_SESSION_KEY = "banyan_otp_verified_at"
DEVICE_NAME = "authenticator"
RECOVERY_NAME = "recovery codes"


def required_roles() -> frozenset[str]:
    return frozenset(settings.BANYAN_OTP["REQUIRED_ROLES"])


def has_device(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def needs_second_factor(user) -> bool:
    """Must this account pass a second factor to use a session?"""
    if not getattr(user, "is_authenticated", False):
        return False
    return user.role in required_roles() or has_device(user)


def is_verified(request) -> bool:
    """Did this session pass the second factor (django-otp's device in the session, still valid)?"""
    user = request.user
    return bool(getattr(user, "is_verified", None) and user.is_verified())


def pending(request) -> bool:
    """A signed-in session that still owes its second factor."""
    return needs_second_factor(request.user) and not is_verified(request)


# --- enrolment ----------------------------------------------------------------------------------


def enrolment_device(user) -> TOTPDevice:
    """The unconfirmed TOTP device being set up (the same key on every visit until confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def key_text(device: TOTPDevice) -> str:
    """The key as an authenticator app takes it typed in: base32, in groups of four."""
    raw = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def provisioning_uri(device: TOTPDevice) -> str:
    """The ``otpauth://`` address the QR code holds (issuer Banyan, label the user name)."""
    return device.config_url


def qr_data_uri(device: TOTPDevice) -> str:
    """The QR code of the key as a ``data:image/svg+xml`` address for an ``<img>``: the page holds no
    markup made from data (no ``|safe``), and an image cannot run script whatever it holds."""
    import segno

    return segno.make(provisioning_uri(device), error="m").svg_data_uri(
        scale=6, border=2, dark="#000", light="#fff"
    )


def _normalise(token: str) -> str:
    return "".join(str(token or "").split()).lower()


@transaction.atomic
def confirm_enrolment(request, *, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm ``device`` with a code from the app: the session passes the second factor and gets
    fresh recovery codes (returned, to be shown once). ``None`` if the code is wrong."""
    user = request.user
    if device.user_id != user.pk or device.confirmed:
        return None
    if not device.verify_token(_normalise(token)):
        _audit(user, AuditAction.OTP_FAILED, {"stage": "enrolment"})
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    codes = replace_recovery_codes(user)
    _audit(user, AuditAction.OTP_ENROLLED, {"recovery_codes": len(codes)})
    mark_verified(request, device)
    return codes


def replace_recovery_codes(user) -> list[str]:
    """New recovery codes for ``user``; the old ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = []
    for _ in range(settings.BANYAN_OTP["RECOVERY_CODES"]):
        code = StaticToken.random_token()
        StaticToken.objects.create(device=device, token=code)
        codes.append(code)
    return codes


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


# --- verification -------------------------------------------------------------------------------


def verify(request, *, token: str, step_up: bool = False) -> bool:
    """Check a 6-digit code from the app, or a recovery code (used up), for the session's user.

    On success the session passes the second factor (and its step-up time is now); audited either way.
    """
    user = request.user
    token = _normalise(token)
    if not token:
        return False
    device = None
    recovery = False
    with transaction.atomic():
        if len(token) == 6 and token.isdigit():
            for candidate in TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True):
                if candidate.verify_token(token):
                    device = candidate
                    break
        else:
            for candidate in StaticDevice.objects.select_for_update().filter(user=user, confirmed=True):
                if candidate.verify_token(token):
                    device, recovery = candidate, True
                    break
    if device is None:
        _audit(user, AuditAction.OTP_FAILED, {"stage": "step_up" if step_up else "sign_in"})
        return False
    mark_verified(request, device)
    if recovery:
        _audit(user, AuditAction.OTP_RECOVERY_USED, {"left": recovery_codes_left(user)})
    _audit(user, AuditAction.OTP_VERIFIED, {"step_up": step_up})
    return True


def throttled(user) -> bool:
    """Is every device of ``user`` waiting out django-otp's delay after wrong codes?"""
    devices = list(TOTPDevice.objects.filter(user=user, confirmed=True))
    return bool(devices) and all(not device.verify_is_allowed()[0] for device in devices)


def mark_verified(request, device) -> None:
    """The session passed the second factor with ``device`` now (also its step-up time)."""
    django_otp.login(request, device)
    request.session[VERIFIED_AT_SESSION_KEY] = clock.now().timestamp()


# --- administration -----------------------------------------------------------------------------


@transaction.atomic
def reset_second_factor(*, actor, username: str) -> int:
    """Remove every second-factor device and recovery code of ``username`` (a lost phone): at the
    next sign-in the account enrols again. Sessions verified by the removed device lose their
    verification at once. Audited. Returns how many devices were removed."""

    user = User.objects.filter(username=username).first()
    if user is None:
        raise NotFound(gettext("No account has that user name."), field="username")
    removed = TOTPDevice.objects.filter(user=user).delete()[1].get("otp_totp.TOTPDevice", 0)
    removed += StaticDevice.objects.filter(user=user).delete()[1].get("otp_static.StaticDevice", 0)

    record_one(
        actor=actor,
        action=AuditAction.OTP_RESET,
        subject_type="user",
        subject_id=user.pk,
        details={"devices": removed},
    )
    return removed


def _audit(user, action: AuditAction, details: dict) -> None:

    record_one(actor=user, action=action, subject_type="user", subject_id=user.pk, details=details)


# --- the gate -----------------------------------------------------------------------------------

_OPEN_PREFIXES = ("/login/", "/logout/", "/otp/", "/i18n/", "/elder-mode/", "/healthz")


def _is_open(path: str) -> bool:
    static = "/" + settings.STATIC_URL.lstrip("/")
    return path.startswith(_OPEN_PREFIXES) or path.startswith(static)


class SecondFactorMiddleware:
    """Until a session that needs a second factor has passed it, it reaches only the open pages.

    Pages redirect to the code page (or enrolment), keeping where the person was going in
    ``next``; the JSON API answers 401 ``{"code": "otp_required"}``. A request with
    ``Authorization: Bearer`` is judged by its token alone: the half-signed-in session is set aside.
    Installed after django-otp's ``OTPMiddleware``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or _is_open(request.path) or not pending(request):
            return self.get_response(request)
        if request.headers.get("Authorization", "").startswith("Bearer "):
            anonymous = AnonymousUser()

            async def auser():
                return anonymous

            request.user, request.auser = anonymous, auser
            return self.get_response(request)
        if request.path.startswith("/api/"):
            message = gettext("Enter the code of your second factor first (sign in at /login/).")
            return JsonResponse({"detail": message, "code": "otp_required"}, status=401)
        page = "account:otp-verify" if has_device(user) else "account:otp-setup"
        target = request.get_full_path() if request.method == "GET" else "/"
        return HttpResponseRedirect(f"{reverse(page)}?{urlencode({'next': target})}")
