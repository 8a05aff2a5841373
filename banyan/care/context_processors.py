"""Whether the base layout's menu links the care board (``/care/today/``)."""

from banyan.care.visits import may_send_someone
from banyan.people.models import User


def menu(request):
    user = getattr(request, "user", None)
    return {"can_see_care_board": isinstance(user, User) and may_send_someone(user)}
