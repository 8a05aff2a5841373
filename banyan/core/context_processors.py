def shell(request):
    """Elder mode and the signed-in user's role for the base layout."""
    return {"elder_mode": request.COOKIES.get("banyan_elder") == "1"}
