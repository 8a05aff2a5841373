"""Signing in: throttling and lockout per account and per client address, with audit entries.

The counting is django-axes' (its database handler and ``AccessAttempt`` table); Banyan adds
what it does not do by itself:

- **Time from** :mod:`banyan.core.clock`: every attempt is stamped with ``clock.now()``, and the
  cool-off window is measured from it, so tests and drills move through a lockout on a simulated
  clock.
- **Two limits**: ``BANYAN_LOGIN_ACCOUNT_LIMIT`` wrong passwords for one account (default 10), or
  ``BANYAN_LOGIN_ADDRESS_LIMIT`` from one client address across accounts (default 30: a community
  office behind one address must not lock itself out by its staff's typing), within
  ``BANYAN_LOGIN_LOCKOUT_MINUTES`` (default 5) lock the account, or the address, for that long
  after the last wrong password. Attempts during a lockout are refused without being counted, so
  the end of a lockout shown on the page stays true.
- **The answer**: the sign-in page again, status 429, saying "too many attempts; try again after
  HH:MM" — the same for an account that exists and one that does not.
- **Audit entries** (``login.succeeded``, ``login.failed``, ``login.locked``, ``login.unlocked``)
  with the account's id when there is one, and the client address only as a keyed hash: never a
  typed user name or password, which may hold personal data.
"""

from __future__ import annotations

import datetime as dt

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from django.conf import settings
from django.db.models import Max, Sum
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext

from banyan.audit.actions import AuditAction
from banyan.audit.services import record_one
from banyan.core import clock, vault
from banyan.core.errors import NotFound
from banyan.people.models import User

ACCOUNT = "account"
ADDRESS = "address"


def account_limit() -> int:
    return settings.BANYAN_LOGIN["ACCOUNT_LIMIT"]


def address_limit() -> int:
    return settings.BANYAN_LOGIN["ADDRESS_LIMIT"]


def lockout_duration(request=None) -> dt.timedelta:
    """``AXES_COOLOFF_TIME``: how long a lockout lasts after the last wrong password."""
    return dt.timedelta(minutes=settings.BANYAN_LOGIN["LOCKOUT_MINUTES"])


def _stamp(request) -> None:
    """Attempts are timed by Banyan's clock (axes would take the wall clock)."""
    if request is not None:
        request.axes_attempt_time = clock.now()


class LoginAttemptHandler(AxesDatabaseHandler):
    """Axes' database handler with Banyan's clock and a separate limit for accounts and addresses."""

    def _windows(self, request, credentials):
        """The attempts that still count, per account and per address (``AXES_LOCKOUT_PARAMETERS``)."""
        by_account, by_address = self.get_user_attempts(request, credentials)
        return by_account, by_address

    def lock_reason(self, request, credentials=None) -> str | None:
        _stamp(request)
        by_account, by_address = self._windows(request, credentials)
        if (by_account.aggregate(n=Sum("failures_since_start"))["n"] or 0) >= account_limit():
            return ACCOUNT
        if (by_address.aggregate(n=Sum("failures_since_start"))["n"] or 0) >= address_limit():
            return ADDRESS
        return None

    def get_failures(self, request, credentials=None) -> int:
        # Axes compares this with AXES_FAILURE_LIMIT (the account limit): a locked address counts as full.
        _stamp(request)
        by_account, by_address = self._windows(request, credentials)
        failures = by_account.aggregate(n=Sum("failures_since_start"))["n"] or 0
        if (by_address.aggregate(n=Sum("failures_since_start"))["n"] or 0) >= address_limit():
            return max(failures, account_limit())
        return failures

    def locked_until(self, request, credentials=None) -> dt.datetime:
        """When the lockout of this request's account or address ends."""
        _stamp(request)
        by_account, by_address = self._windows(request, credentials)
        reason = self.lock_reason(request, credentials)
        attempts = by_account if reason == ACCOUNT else by_address
        last = attempts.aggregate(at=Max("attempt_time"))["at"] or clock.now()
        return last + lockout_duration()

    def is_allowed(self, request, credentials=None) -> bool:
        _stamp(request)
        return super().is_allowed(request, credentials)

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        _stamp(request)
        return super().user_login_failed(sender, credentials, request, **kwargs)

    def user_logged_in(self, sender, request, user, **kwargs):
        _stamp(request)
        return super().user_logged_in(sender, request, user, **kwargs)


def handler() -> LoginAttemptHandler:
    from axes.handlers.proxy import AxesProxyHandler

    return AxesProxyHandler.get_implementation()


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' guard, first in ``AUTHENTICATION_BACKENDS``: a locked account or address is refused
    before its password is checked. A call without a request (a shell, Django's test client's
    ``login``) is no sign-in over the web and is left to the next backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        try:
            return super().authenticate(request, username=username, password=password, **kwargs)
        except AxesBackendPermissionDenied:
            request.banyan_refused_while_locked = True
            raise


def client_str(username, ip_address, user_agent, path_info, request) -> str:
    """What axes writes in its log lines: no user name, no address (``AXES_CLIENT_STR_CALLABLE``)."""
    return f"sign-in attempt on {path_info}"


def address_digest(ip_address: str | None) -> str:
    """A client address as it may appear in the audit log: a keyed hash, enough to tell two apart."""

    if not ip_address:
        return ""
    return vault.blind_index("login_address", ip_address)[:16]


def _account_id(username: str | None) -> int | None:

    if not username:
        return None
    return User.objects.filter(username=username).values_list("pk", flat=True).first()


# --- the answer while locked ----------------------------------------------------------------------


def lockout_response(request, original_response=None, credentials=None):
    """``AXES_LOCKOUT_CALLABLE``: the sign-in page with the end of the lockout, status 429."""
    from django.contrib.auth.forms import AuthenticationForm

    until = handler().locked_until(request, credentials)
    local = timezone.localtime(until)
    message = gettext("Too many sign-in attempts. Try again after %(time)s.") % {
        "time": local.strftime("%H:%M")
    }
    form = AuthenticationForm(request, data=None)
    if credentials is not None:
        form.initial = {"username": get_client_username(request, credentials) or ""}
    context = {"form": form, "lockout_message": message, "next": request.POST.get("next", "")}
    response = TemplateResponse(request, "account/login.html", context, status=429)
    response["Retry-After"] = str(max(1, int((until - clock.now()).total_seconds()) + 1))
    return response.render()


# --- audit ------------------------------------------------------------------------------------


def _record(*, actor, action: AuditAction, subject_type: str, subject_id, details: dict) -> None:

    record_one(actor=actor, action=action, subject_type=subject_type, subject_id=subject_id, details=details)


def on_login_failed(sender, credentials, request=None, **kwargs):
    """A wrong password (or an unknown account): one ``login.failed`` entry. Attempts refused
    during a lockout are not recorded one by one (the lockout is), so hammering cannot flood the log."""
    if request is None or getattr(request, "banyan_refused_while_locked", False):
        return
    username = get_client_username(request, credentials)
    account = _account_id(username)
    _record(
        actor="anonymous",
        action=AuditAction.LOGIN_FAILED,
        subject_type="user" if account else "login",
        subject_id=account or "",
        details={"address": address_digest(request.META.get("REMOTE_ADDR"))},
    )


def on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    """The attempt that reached a limit: one ``login.locked`` entry naming what is locked and until when."""
    if request is None or getattr(request, "banyan_refused_while_locked", False):
        return
    credentials = getattr(request, "axes_credentials", None)
    reason = handler().lock_reason(request, credentials) or ACCOUNT
    account = _account_id(username)
    _record(
        actor="anonymous",
        action=AuditAction.LOGIN_LOCKED,
        subject_type="user" if account else "login",
        subject_id=account or "",
        details={
            "by": reason,
            "until": handler().locked_until(request, credentials).isoformat(),
            "address": address_digest(ip_address),
        },
    )


def record_sign_in(request, user) -> None:
    """A sign-in with the right password over the web (the second factor, where needed, follows)."""
    _record(
        actor=user,
        action=AuditAction.LOGIN_SUCCEEDED,
        subject_type="user",
        subject_id=user.pk,
        details={"address": address_digest(request.META.get("REMOTE_ADDR"))},
    )


def connect_signals() -> None:
    from axes.signals import user_locked_out
    from django.contrib.auth.signals import user_login_failed

    user_login_failed.connect(on_login_failed, dispatch_uid="banyan.login.failed")
    user_locked_out.connect(on_locked_out, dispatch_uid="banyan.login.locked")


# --- unlocking ------------------------------------------------------------------------------------


def unlock_account(*, actor, username: str) -> int:
    """Forget the failed sign-ins of ``username`` (every address), ending its lockout; audited.

    Returns how many attempt records were removed. ``actor`` is the administrator (a user, or a
    name for the command line).
    """
    from axes.models import AccessAttempt

    user = User.objects.filter(username=username).first()
    if user is None:
        raise NotFound(gettext("No account has that user name."), field="username")
    removed, _ = AccessAttempt.objects.filter(username=username).delete()
    _record(
        actor=actor,
        action=AuditAction.LOGIN_UNLOCKED,
        subject_type="user",
        subject_id=user.pk,
        details={"attempts": removed},
    )
    return removed


def unlock_address(*, actor, ip_address: str) -> int:
    """Forget the failed sign-ins from one client address, ending its lockout; audited."""
    from axes.models import AccessAttempt

    removed, _ = AccessAttempt.objects.filter(ip_address=ip_address).delete()
    _record(
        actor=actor,
        action=AuditAction.LOGIN_UNLOCKED,
        subject_type="login",
        subject_id="",
        details={"address": address_digest(ip_address), "attempts": removed},
    )
    return removed
