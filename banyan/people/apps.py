from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "banyan.people"
    label = "people"
    verbose_name = _("People")

    def ready(self):
        from banyan.people import login

        login.connect_signals()  # audit entries for sign-in, sign-out and lockouts
        from banyan.places.gridding import buildings_moved

        buildings_moved.connect(households_follow, dispatch_uid="banyan.people.households_follow")


def households_follow(sender, moves: dict[int, int], **kwargs) -> None:
    """A building moved to another grid (banyan.places.gridding): its households' grid moves with it."""
    from banyan.people.models import Household

    by_grid: dict[int, list[int]] = {}
    for building_id, grid_id in moves.items():
        by_grid.setdefault(grid_id, []).append(building_id)
    for grid_id, building_ids in by_grid.items():
        Household.objects.filter(unit__building_id__in=building_ids).update(grid_id=grid_id)
