from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router

from banyan.core.access import Action
from banyan.core.api import ErrorOut, page, require
from banyan.core.errors import InvalidInput
from banyan.places import services
from banyan.places.choices import RegionKind
from banyan.places.models import Building, Facility, PathEdge, PathNode, Region, Unit
from banyan.places.schemas import (
    BuildingFilter,
    BuildingList,
    BuildingOut,
    FacilityFilter,
    FacilityList,
    FacilityOut,
    RegionFilter,
    RegionList,
    RegionOut,
    UnitFilter,
    UnitList,
    UnitOut,
    WalkingGraphOut,
)

router = Router(tags=["places"])
ERRORS = {403: ErrorOut, 404: ErrorOut, 400: ErrorOut}


@router.get("/regions", response={200: RegionList, **ERRORS})
def list_regions(request: HttpRequest, filters: Query[RegionFilter]):
    require(request.user, Action.VIEW_PLACES)
    regions = Region.objects.restrict(request.user)
    if filters.kind:
        regions = regions.filter(kind=filters.kind)
    if filters.parent is not None:
        regions = regions.filter(parent_id=filters.parent)
    if filters.code:
        regions = regions.filter(code=filters.code)
    count, items = page(regions, filters.limit, filters.offset)
    return {"count": count, "items": items}


@router.get("/regions/{int:region_id}", response={200: RegionOut, **ERRORS})
def get_region(request: HttpRequest, region_id: int):
    require(request.user, Action.VIEW_PLACES)
    return services.get_region_for(request.user, region_id)


@router.get("/regions/{int:region_id}/walking-graph", response={200: WalkingGraphOut, **ERRORS})
def get_walking_graph(request: HttpRequest, region_id: int):
    """Nodes and edges of a community's walking graph (lengths in metres)."""
    require(request.user, Action.VIEW_PLACES)
    community = services.get_region_for(request.user, region_id)
    if community.kind != RegionKind.COMMUNITY:
        raise InvalidInput(
            _("Walking graphs belong to communities; this region is a %(kind)s.") % {"kind": community.kind},
            field="region_id",
        )
    nodes = list(PathNode.objects.filter(community=community))
    parts = services.walking_parts(community)
    main = parts[0] if parts else set()
    for node in nodes:
        node.island = node.pk not in main
    return {
        "community": community.code,
        "islands": max(len(parts) - 1, 0),
        "nodes": nodes,
        "edges": list(PathEdge.objects.filter(source__community=community)),
    }


@router.get("/buildings", response={200: BuildingList, **ERRORS})
def list_buildings(request: HttpRequest, filters: Query[BuildingFilter]):
    require(request.user, Action.VIEW_PLACES)
    buildings = Building.objects.restrict(request.user).select_related("grid")
    if filters.grid:
        buildings = buildings.filter(grid__code=filters.grid)
    if filters.community:
        buildings = buildings.filter(grid__parent__code=filters.community)
    if filters.kind:
        buildings = buildings.filter(kind=filters.kind)
    count, items = page(buildings, filters.limit, filters.offset)
    return {"count": count, "items": items}


@router.get("/buildings/{int:building_id}", response={200: BuildingOut, **ERRORS})
def get_building(request: HttpRequest, building_id: int):
    require(request.user, Action.VIEW_PLACES)
    return services.get_building_for(request.user, building_id)


@router.get("/units", response={200: UnitList, **ERRORS})
def list_units(request: HttpRequest, filters: Query[UnitFilter]):
    require(request.user, Action.VIEW_PLACES)
    units = Unit.objects.restrict(request.user).select_related("building")
    if filters.building is not None:
        units = units.filter(building_id=filters.building)
    if filters.grid:
        units = units.filter(building__grid__code=filters.grid)
    count, items = page(units, filters.limit, filters.offset)
    return {"count": count, "items": items}


@router.get("/units/{int:unit_id}", response={200: UnitOut, **ERRORS})
def get_unit(request: HttpRequest, unit_id: int):
    require(request.user, Action.VIEW_PLACES)
    return services.get_unit_for(request.user, unit_id)


@router.get("/facilities", response={200: FacilityList, **ERRORS})
def list_facilities(request: HttpRequest, filters: Query[FacilityFilter]):
    require(request.user, Action.VIEW_PLACES)
    facilities = Facility.objects.restrict(request.user).select_related("region")
    if filters.kind:
        facilities = facilities.filter(kind=filters.kind)
    if filters.region:
        region = services.get_region_by_code_for(request.user, filters.region)
        facilities = facilities.filter(region__path__startswith=region.path)
    count, items = page(facilities, filters.limit, filters.offset)
    return {"count": count, "items": items}


@router.get("/facilities/{int:facility_id}", response={200: FacilityOut, **ERRORS})
def get_facility(request: HttpRequest, facility_id: int):
    require(request.user, Action.VIEW_PLACES)
    return services.get_facility_for(request.user, facility_id)
