import re
import uuid

from banyan.core import clock, context

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContextMiddleware:
    """Give every request an id (``X-Request-ID`` if sane, else new) for the audit log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        supplied = request.headers.get("X-Request-ID", "")
        rid = supplied if _SAFE_REQUEST_ID.match(supplied) else uuid.uuid4().hex
        request.request_id = rid
        with context.request_scope(rid):
            response = self.get_response(request)
        response["X-Request-ID"] = rid
        return response


class RefuseNulMiddleware:
    """A query-string value holding a NUL character is refused (400, naming the parameter) before any
    view sees it: no code or text Banyan stores may hold one, and PostgreSQL refuses it in a lookup.
    (Form fields refuse it themselves, next to the field: Django's ``ProhibitNullCharactersValidator``.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        field = _nul_field(request)
        if field is None:
            return self.get_response(request)
        from django.http import JsonResponse
        from django.shortcuts import render
        from django.utils.translation import gettext as _

        message = _("“%(field)s” holds a NUL character, which no value may hold.") % {"field": field[:64]}
        if request.path.startswith("/api/") or request.path.startswith("/open311/"):
            return JsonResponse({"detail": message, "code": "invalid", "field": field[:64]}, status=400)
        return render(request, "400.html", {"message": message}, status=400)


def _nul_field(request) -> str | None:
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return name.replace("\x00", "")
    return None


class SessionTimeoutMiddleware:
    """A signed-in session ends after ``BANYAN_SESSION_IDLE_MINUTES`` (default 30) without a request, and
    at the latest ``SESSION_COOKIE_AGE`` (8 hours) after it began, whatever happened in between: the
    request then goes on as anonymous (a page redirects to sign-in with a message saying why, the API
    answers 401). Time comes from ``banyan.core.clock``. Requests a page makes by itself (the cockpit's
    figures, a responder's position) count as activity, so a wall screen stays signed in until the
    8-hour limit. The time of the last request is written at most once a minute, to spare the session
    store a write per request. Bearer-token API calls carry no session and are not concerned."""

    STARTED = "banyan_session_started"
    LAST_SEEN = "banyan_session_last_seen"
    WRITE_EVERY_S = 60

    @classmethod
    def session_began(cls, sender, request, user, **kwargs) -> None:
        """At sign-in (``user_logged_in``), with the session being written anyway: a session's first
        request costs no extra write."""

        session = getattr(request, "session", None)
        if session is not None:
            session[cls.STARTED] = session[cls.LAST_SEEN] = clock.now().timestamp()

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and user is not None and user.is_authenticated:
            self._check(request, session)
        return self.get_response(request)

    def _check(self, request, session) -> None:
        from django.conf import settings
        from django.contrib import messages
        from django.contrib.auth import logout
        from django.utils.translation import gettext as _

        now = clock.now().timestamp()
        started = session.get(self.STARTED)
        last_seen = session.get(self.LAST_SEEN)
        idle_s = settings.BANYAN_SESSION_IDLE_MINUTES * 60
        if started is None:
            session[self.STARTED] = session[self.LAST_SEEN] = now
            return
        too_old = now - started > settings.SESSION_COOKIE_AGE
        idle = last_seen is not None and now - last_seen > idle_s
        if too_old or idle:
            logout(request)
            if not request.path.startswith(("/api/", "/open311/")):
                if idle:
                    text = _("You were signed out after %(minutes)d minutes without activity.") % {
                        "minutes": settings.BANYAN_SESSION_IDLE_MINUTES
                    }
                else:
                    text = _("You were signed out: a session lasts at most %(hours)d hours.") % {
                        "hours": settings.SESSION_COOKIE_AGE // 3600
                    }
                messages.info(request, text)
            return
        if last_seen is None or now - last_seen >= self.WRITE_EVERY_S:
            session[self.LAST_SEEN] = now


def connect_signals() -> None:
    from django.contrib.auth.signals import user_logged_in

    user_logged_in.connect(SessionTimeoutMiddleware.session_began, dispatch_uid="banyan.core.session_began")
