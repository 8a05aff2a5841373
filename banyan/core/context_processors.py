from banyan.core.access import Action, can


def shell(request):
    """Elder mode, and which of the signed-in user's pages the base layout links."""
    user = getattr(request, "user", None)
    return {
        "elder_mode": request.COOKIES.get("banyan_elder") == "1",
        "can_import_ledger": can(user, Action.IMPORT_LEDGER),
        "can_change_people": can(user, Action.CHANGE_PEOPLE),
        "can_view_alerts": can(user, Action.VIEW_ALERTS),
        "can_handle_incidents": can(user, Action.HANDLE_INCIDENTS),
        "can_view_incidents": can(user, Action.VIEW_INCIDENTS),
        "can_view_cockpit": can(user, Action.VIEW_COCKPIT),
    }
