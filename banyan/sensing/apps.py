from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SensingConfig(AppConfig):
    name = "banyan.sensing"
    label = "sensing"
    verbose_name = _("Sensing")

    def ready(self):
        from banyan.places.gridding import buildings_moved

        buildings_moved.connect(devices_follow, dispatch_uid="banyan.sensing.devices_follow")


def devices_follow(sender, moves: dict[int, int], **kwargs) -> None:
    """A building moved to another grid (banyan.places.gridding): the devices in it, or in its units,
    move with it."""
    from django.db.models import Q

    from banyan.sensing.models import Device

    by_grid: dict[int, list[int]] = {}
    for building_id, grid_id in moves.items():
        by_grid.setdefault(grid_id, []).append(building_id)
    for grid_id, building_ids in by_grid.items():
        inside = Q(building_id__in=building_ids) | Q(unit__building_id__in=building_ids)
        Device.objects.filter(inside).update(grid_id=grid_id)
