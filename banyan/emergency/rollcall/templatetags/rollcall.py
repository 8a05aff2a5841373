"""``{% rollcall_panel emergency %}``: the roll call's part of an emergency's board, for the viewer."""

from django import template

from banyan.emergency.rollcall import services

register = template.Library()


@register.inclusion_tag("rollcall/_panel.html", takes_context=True)
def rollcall_panel(context, emergency):
    request = context["request"]
    return {
        "emergency": emergency,
        "board": services.board(request.user, emergency),
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }
