"""``{% shelters_panel emergency %}``: the shelters and supplies part of an emergency's board."""

from django import template

from banyan.emergency.shelters import services

register = template.Library()


@register.inclusion_tag("shelters/_panel.html", takes_context=True)
def shelters_panel(context, emergency):
    request = context["request"]
    return {"emergency": emergency, "part": services.board_part(request.user, emergency), "request": request}
