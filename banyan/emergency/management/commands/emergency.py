"""``banyan emergency install --community CODE``: a community's hazard register and its plans from the
shipped templates. Idempotent: what the community has is kept (the register's exposure is recomputed)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from banyan.emergency.hazards import install_register
from banyan.emergency.plans import install_plans
from banyan.emergency.shelters.services import install_shelters
from banyan.places.choices import RegionKind
from banyan.places.models import Region


class Command(BaseCommand):
    help = (
        "Emergency operations tools: `banyan emergency install --community CODE` (hazard register and plans)."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        install = sub.add_parser(
            "install",
            help="make a community's hazard register, plans (shipped templates), shelters and supplies",
        )
        install.add_argument("--community", required=True, help="the community's code (every community: all)")

    def handle(self, *args, verb, community, **options):
        if community == "all":
            communities = list(Region.objects.filter(kind=RegionKind.COMMUNITY).order_by("path"))
        else:
            communities = list(Region.objects.filter(kind=RegionKind.COMMUNITY, code=community))
            if not communities:
                raise CommandError(f"no community with the code {community!r} (see the grid list for codes)")
        for region in communities:
            hazards = install_register(region, actor="cli")
            plans = install_plans(region, actor="cli")
            made = install_shelters(region)
            self.stdout.write(
                f"{region.code}: {hazards} hazards, {plans} plans, {made['shelters']} shelters and "
                f"{made['stocks']} supply stocks made"
            )
