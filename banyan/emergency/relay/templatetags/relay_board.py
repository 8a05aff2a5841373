"""``{% relay_board emergency %}``: the emergency board's block of notices to residents (sent, reached,
not reached with names masked for roles that may not see people), computed for the viewer."""

from django import template

from banyan.emergency.relay.views import emergency_summary

register = template.Library()


@register.inclusion_tag("relay/_board.html", takes_context=True)
def relay_board(context, emergency):
    return {"summary": emergency_summary(context["request"].user, emergency)}
