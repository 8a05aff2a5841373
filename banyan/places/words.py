"""Places as a Chinese resident says them: "3幢2单元2201" for unit "2-22-2201" of building "3幢", a
grid or community by its name, a facility by its name; English pages get the English form where
there is one. Codes (``B014``, ``G01``, ``H000027``) are secondary detail beside these words, never
the words themselves. Templates use the ``places_words`` filters (``{{ unit|unit_words }}``)."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from banyan.places.models import Building, Facility, Region, Unit


def _chinese(language: str | None) -> bool:
    return (language or get_language() or "zh-hans").startswith("zh")


def unit_words(unit: Unit, language: str | None = None) -> str:
    """A unit as residents say it: "3幢2单元502" for number "2-05-502" of building "3幢" (English:
    "3幢, entrance 2, room 502"); a number of another shape follows the building's name as it is."""
    parts = unit.number.split("-")
    building = unit.building.name
    if len(parts) == 3 and all(part.isdigit() for part in parts):
        entrance, _floor, room = parts
        if _chinese(language):
            return f"{building}{int(entrance)}单元{room}"
        with translation.override(language or get_language()):
            text = _("%(building)s, entrance %(entrance)d, room %(room)s")
        return text % {"building": building, "entrance": int(entrance), "room": room}
    return f"{building} {unit.number}"


def region_words(region: Region, language: str | None = None) -> str:
    """A community, grid or street by its name in the page's language."""
    if not _chinese(language) and region.name_en:
        return region.name_en
    return region.name_zh


def facility_words(facility: Facility, language: str | None = None) -> str:
    if not _chinese(language) and facility.name_en:
        return facility.name_en
    return facility.name_zh


def building_words(building: Building, language: str | None = None) -> str:
    return building.name


def place_words(obj, language: str | None = None) -> str:
    """Any place by its kind; an object that is none of them is said as it is."""
    if isinstance(obj, Unit):
        return unit_words(obj, language)
    if isinstance(obj, Region):
        return region_words(obj, language)
    if isinstance(obj, Facility):
        return facility_words(obj, language)
    if isinstance(obj, Building):
        return building_words(obj, language)
    return "" if obj is None else str(obj)
