"""``{% epidemic_panel emergency %}``: epidemic mode's part of an emergency's board, for the viewer
(nothing for other hazards and for roles that may not see it)."""

from django import template

from banyan.emergency.epidemic import services

register = template.Library()


@register.inclusion_tag("epidemic/_panel.html", takes_context=True)
def epidemic_panel(context, emergency):
    request = context["request"]
    return {"emergency": emergency, "part": services.board_part(request.user, emergency), "request": request}
