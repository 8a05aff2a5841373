from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from banyan.core import clock


def healthz(request):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "time": clock.now().isoformat()})


class LoginView(auth_views.LoginView):
    template_name = "core/login.html"
    redirect_authenticated_user = True


@login_required
def home(request):
    from banyan.people.services import community_overview

    return render(request, "core/home.html", {"overview": community_overview(request.user)})


@require_POST
def toggle_elder_mode(request):
    """Elder mode is a cookie, so it works before sign-in and on shared devices."""
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    response = HttpResponseRedirect(target)
    enabled = request.COOKIES.get("banyan_elder") != "1"
    response.set_cookie("banyan_elder", "1" if enabled else "0", max_age=365 * 24 * 3600, samesite="Lax")
    return response
