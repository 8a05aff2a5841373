from django.http import HttpRequest

from banyan.core.access import Action, can
from banyan.core.choices import Role

ELDER_COOKIE = "banyan_elder"
# The account's field that keeps a signed-in person's choice (banyan.people.models.User.elder_mode):
# core sits below people and reads it by name.
ELDER_FIELD = "elder_mode"


ACCOUNT_MANAGERS = {Role.PLATFORM_ADMIN, Role.STREET_OFFICER, Role.COMMUNITY_DIRECTOR}
DEVICE_VIEWERS = ACCOUNT_MANAGERS | {Role.GRID_WORKER, Role.PROPERTY_STAFF, Role.AUDITOR}


def is_elder_mode(request: HttpRequest) -> bool:
    """Elder mode for this request: a signed-in person's own choice, kept on their account, wherever
    they sign in; before sign-in (or if they never chose), the browser's cookie."""
    user = getattr(request, "user", None)
    if getattr(user, "is_authenticated", False):
        chosen = getattr(user, ELDER_FIELD, None)
        if chosen is not None:
            return bool(chosen)
    return request.COOKIES.get(ELDER_COOKIE) == "1"


def shell(request):
    """Elder mode, and which of the signed-in user's pages the base layout links."""
    user = getattr(request, "user", None)
    return {
        "elder_mode": is_elder_mode(request),
        "can_import_ledger": can(user, Action.IMPORT_LEDGER),
        "can_change_people": can(user, Action.CHANGE_PEOPLE),
        "can_view_alerts": can(user, Action.VIEW_ALERTS),
        "can_handle_incidents": can(user, Action.HANDLE_INCIDENTS),
        "can_view_incidents": can(user, Action.VIEW_INCIDENTS),
        "can_view_cockpit": can(user, Action.VIEW_COCKPIT),
        "can_view_emergencies": can(user, Action.VIEW_EMERGENCIES),
        "can_view_audit": can(user, Action.VIEW_AUDIT),
        "can_change_places": can(user, Action.CHANGE_PLACES),
        # The administration pages check their own rights; these only choose the menu's links.
        "can_manage_accounts": getattr(user, "role", None) in ACCOUNT_MANAGERS,
        "can_view_devices": getattr(user, "role", None) in DEVICE_VIEWERS,
    }
