"""Places: the region tree down to grids, buildings, units, facilities and the walking graph.

All geometry is GeoJSON in WGS84 (longitude, latitude), validated with shapely when saved.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from banyan.core.access import UNSCOPED_ROLES, Action, can
from banyan.places.choices import CHILD_KIND, BuildingKind, FacilityKind, RegionKind, UnitUse
from banyan.places.geo import validate_polygon


class ScopedQuerySet(models.QuerySet):
    """``restrict(user, action)`` is where every list and detail starts.

    Subclasses name ``region_path`` — the lookup from the model to the ``path`` of the region
    that scopes it.
    """

    region_path: str = ""
    default_action: Action = Action.VIEW_PLACES

    def restrict(self, user, action: Action | None = None):
        if not can(user, action or self.default_action):
            return self.none()
        if user.role in UNSCOPED_ROLES:
            return self
        personal = self.personal_scope(user)
        if personal is not None:
            return personal
        if user.region_id is None:
            return self.none()
        return self.filter(self.region_q(user.region))

    def personal_scope(self, user):
        """For roles scoped to people rather than regions (residents, volunteers): their queryset."""
        return None

    def region_q(self, region: Region) -> models.Q:
        """What lies in ``region``'s subtree."""
        return models.Q(**{f"{self.region_path}__startswith": region.path})


class RegionQuerySet(ScopedQuerySet):
    region_path = "path"


class Region(models.Model):
    """A node of city → district → street → community → grid, with its boundary."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=RegionKind.choices)
    parent = models.ForeignKey("self", models.PROTECT, null=True, blank=True, related_name="children")
    # Materialised path of zero-padded ids, e.g. "/0000000001/0000000004/"; a subtree is path__startswith.
    path = models.CharField(max_length=255, db_index=True, editable=False)
    boundary = models.JSONField(_("boundary"), null=True, blank=True, help_text="GeoJSON Polygon, WGS84")
    # Where an import took it from: the source's stable id (a GeoJSON feature id, "way/123" in OSM), so
    # that importing the same file again updates instead of duplicating; other properties as they came.
    source_id = models.CharField(_("source id"), max_length=64, blank=True, db_index=True)
    properties = models.JSONField(_("source properties"), default=dict, blank=True)

    objects = RegionQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        verbose_name = _("region")

    def __str__(self) -> str:
        return f"{self.name_zh} ({self.code})"

    @staticmethod
    def path_for(parent: Region | None, pk: int) -> str:
        """Path of region ``pk`` under ``parent``; ids are zero-padded so that paths sort as a tree."""
        return f"{parent.path if parent else '/'}{pk:010d}/"

    def ancestor_paths(self, *, include_self: bool = False) -> list[str]:
        parts = self.path.strip("/").split("/")
        stop = len(parts) + 1 if include_self else len(parts)
        return ["/" + "/".join(parts[:i]) + "/" for i in range(1, stop)]

    def clean(self) -> None:

        if self.parent is None and self.kind != RegionKind.CITY:
            raise ValidationError({"parent": _("Only a city may have no parent region.")})
        if self.parent is not None and CHILD_KIND.get(self.parent.kind) != self.kind:
            raise ValidationError(
                {
                    "kind": _("A %(parent)s cannot contain a %(kind)s.")
                    % {"parent": self.parent.kind, "kind": self.kind}
                }
            )
        if self.boundary is not None:
            validate_polygon(self.boundary, field="boundary")


class BuildingQuerySet(ScopedQuerySet):
    region_path = "grid__path"


class Building(models.Model):
    grid = models.ForeignKey(Region, models.PROTECT, related_name="buildings", verbose_name=_("grid"))
    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=BuildingKind.choices)
    floors = models.PositiveSmallIntegerField(_("floors"))
    entrances = models.PositiveSmallIntegerField(_("entrances"), default=1)
    footprint = models.JSONField(_("footprint"), null=True, blank=True, help_text="GeoJSON Polygon, WGS84")
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))
    built_year = models.PositiveSmallIntegerField(_("year built"), null=True, blank=True)
    # None: not known. Without a lift, dispatch adds the climb to upper floors to the walk.
    lift = models.BooleanField(_("lift"), null=True, blank=True)
    # The entrances (单元) as residents say them, e.g. ["1单元", "2单元"]; empty: numbered 1…entrances.
    unit_names = models.JSONField(_("entrance names"), default=list, blank=True)
    # Where an import took it from: the source's stable id (a GeoJSON feature id, "way/123" in OSM), so
    # that importing the same file again updates instead of duplicating; other properties as they came.
    source_id = models.CharField(_("source id"), max_length=64, blank=True, db_index=True)
    properties = models.JSONField(_("source properties"), default=dict, blank=True)

    objects = BuildingQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("building")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(floors__gte=1, floors__lte=200),
                name="building_floors_in_range",
                violation_error_message=_("A building has between 1 and 200 floors."),
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.grid_id and self.grid.kind != RegionKind.GRID:
            raise ValidationError({"grid": _("A building belongs to a grid.")})
        if self.footprint is not None:
            validate_polygon(self.footprint, field="footprint")


class UnitQuerySet(ScopedQuerySet):
    region_path = "building__grid__path"


class Unit(models.Model):
    """A dwelling or room with its exclusive (专有部分) area, as in the property register."""

    building = models.ForeignKey(Building, models.PROTECT, related_name="units", verbose_name=_("building"))
    number = models.CharField(_("number"), max_length=32, help_text="entrance-floor-room, e.g. 2-05-502")
    entrance = models.PositiveSmallIntegerField(_("entrance"), default=1)
    floor = models.SmallIntegerField(_("floor"))
    exclusive_area_m2 = models.DecimalField(_("exclusive area (m²)"), max_digits=8, decimal_places=2)
    use = models.CharField(_("use"), max_length=16, choices=UnitUse.choices, default=UnitUse.RESIDENTIAL)

    objects = UnitQuerySet.as_manager()

    class Meta:
        ordering = ["building", "number"]
        verbose_name = _("unit")
        constraints = [
            models.UniqueConstraint(
                fields=["building", "number"],
                name="unit_number_unique_in_building",
                violation_error_message=_("This building already has a unit with that number."),
            ),
            models.CheckConstraint(
                condition=models.Q(exclusive_area_m2__gt=0),
                name="unit_area_positive",
                violation_error_message=_("The exclusive area must be more than 0 m²."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.building.name} {self.number}"


class FacilityQuerySet(ScopedQuerySet):
    """Facilities of the user's subtree and of the regions above it (a grid's clinic is the community's)."""

    region_path = "region__path"

    def region_q(self, region: Region) -> models.Q:
        return super().region_q(region) | models.Q(region__path__in=region.ancestor_paths())


class Facility(models.Model):
    region = models.ForeignKey(Region, models.PROTECT, related_name="facilities", verbose_name=_("region"))
    building = models.ForeignKey(Building, models.SET_NULL, null=True, blank=True, related_name="facilities")
    code = models.CharField(_("code"), max_length=32, unique=True)
    kind = models.CharField(_("kind"), max_length=32, choices=FacilityKind.choices)
    name_zh = models.CharField(_("Chinese name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))
    capacity = models.PositiveIntegerField(
        _("capacity"), default=0, help_text=_("people it can hold or serve")
    )
    area = models.JSONField(_("area"), null=True, blank=True, help_text="GeoJSON Polygon of the zone, WGS84")
    # Where an import took it from: the source's stable id (a GeoJSON feature id, "way/123" in OSM), so
    # that importing the same file again updates instead of duplicating; other properties as they came.
    source_id = models.CharField(_("source id"), max_length=64, blank=True, db_index=True)
    properties = models.JSONField(_("source properties"), default=dict, blank=True)

    objects = FacilityQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("facility")
        verbose_name_plural = _("facilities")

    def __str__(self) -> str:
        return self.name_zh


class PathNodeQuerySet(ScopedQuerySet):
    region_path = "community__path"


class PathNode(models.Model):
    """A point of the walking graph: a junction, a building entrance or a facility gate."""

    community = models.ForeignKey(Region, models.CASCADE, related_name="path_nodes")
    code = models.CharField(max_length=32)
    latitude = models.FloatField()
    longitude = models.FloatField()
    building = models.ForeignKey(Building, models.CASCADE, null=True, blank=True, related_name="path_nodes")
    facility = models.ForeignKey(Facility, models.CASCADE, null=True, blank=True, related_name="path_nodes")

    objects = PathNodeQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [models.UniqueConstraint(fields=["community", "code"], name="path_node_code_unique")]

    def __str__(self) -> str:
        return self.code


class PathEdge(models.Model):
    """An undirected walkable segment between two nodes."""

    source = models.ForeignKey(PathNode, models.CASCADE, related_name="edges_out")
    target = models.ForeignKey(PathNode, models.CASCADE, related_name="edges_in")
    length_m = models.FloatField()
    step_free = models.BooleanField(default=True, help_text="usable with a wheelchair or walker")
    # What the segment is: "footway", "path", "steps", "pedestrian", "road", "lift", "link" (an entrance
    # or facility joined to the nearest path) or "" where the source did not say.
    kind = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(length_m__gt=0), name="path_edge_length_positive"),
            models.UniqueConstraint(fields=["source", "target"], name="path_edge_unique"),
        ]
