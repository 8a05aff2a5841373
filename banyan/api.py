"""The JSON API under /api/v1/ (Django Ninja); OpenAPI at /api/v1/openapi.json."""

from banyan.core.api import BanyanAPI as NinjaAPI  # Ninja's, with Banyan's parser, handlers, OpenAPI errors
from banyan.core.apidocs import StaffSwagger
from banyan.people.auth import api_auth

api = NinjaAPI(
    title="Banyan API",
    version="1",
    description='Community registry, PII vault and audit log. All lists answer {"count", "items"}.',
    auth=api_auth,
    urls_namespace="api",
    docs=StaffSwagger(),  # Swagger UI from local static files, for signed-in staff (banyan/core/apidocs.py)
)

api.add_router("/", "banyan.places.api.router")
api.add_router("/", "banyan.people.api.router")
api.add_router("/", "banyan.people.ledger_api.router")
api.add_router("/", "banyan.audit.api.router")
api.add_router("/", "banyan.people.tokens_api.router")
api.add_router("/", "banyan.sensing.api.router")
api.add_router("/", "banyan.warning.api.router")
api.add_router("/", "banyan.response.api.router")
api.add_router("/", "banyan.notify.api.router")
api.add_router("/", "banyan.response.reports.api.router")
api.add_router("/", "banyan.cockpit.api.router")
api.add_router("/", "banyan.care.api.router")
api.add_router("/", "banyan.emergency.api.router")
api.add_router("/", "banyan.emergency.api_parts.router")
api.add_router("/", "banyan.community.timebank.api.router")
