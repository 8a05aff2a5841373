"""The API's interactive docs (Swagger UI at ``/api/v1/docs``): for signed-in staff only, drawn from
Django Ninja's own copy of Swagger UI among the static files (``ninja`` is an installed app), never
from a CDN, under the same strict Content-Security-Policy as every page (its settings travel as JSON
data, its start-up script is a static file). Anonymous visitors are sent to sign in; residents get 403.
``/api/v1/openapi.json`` stays public: it describes the operations, not data, and tools read it."""

from __future__ import annotations

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from ninja.openapi.docs import Swagger

from banyan.core.choices import Role


class StaffSwagger(Swagger):
    def render_page(self, request, api, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if user.role == Role.RESIDENT:
            raise PermissionDenied
        return super().render_page(request, api, **kwargs)
