"""Places in words: units as residents say them, names in the page's language."""

from __future__ import annotations

from django.template import Context, Template
from django.utils import translation

from banyan.places.models import Building, Facility, Region, Unit
from banyan.places.words import place_words, region_words, unit_words


def unit(number: str) -> Unit:
    return Unit(building=Building(name="3幢", code="B003"), number=number)


def test_a_unit_is_building_entrance_and_room():
    assert unit_words(unit("2-22-2201"), "zh-hans") == "3幢2单元2201"
    assert unit_words(unit("2-22-2201"), "en") == "3幢, entrance 2, room 2201"
    assert unit_words(unit("shop 4"), "zh-hans") == "3幢 shop 4"


def test_names_follow_the_page_language():
    grid = Region(code="G01", name_zh="第一网格", name_en="Grid 1")
    bare = Region(code="G02", name_zh="第二网格")
    with translation.override("zh-hans"):
        assert region_words(grid) == "第一网格"
        assert place_words(Facility(code="F1", name_zh="中心广场", name_en="Central plaza")) == "中心广场"
    with translation.override("en"):
        assert region_words(grid) == "Grid 1"
        assert region_words(bare) == "第二网格"
        assert place_words(unit("1-01-101")) == "3幢, entrance 1, room 101"


def test_the_template_filters():
    page = Template("{% load places_words %}{{ unit|unit_words }} · {{ grid|region_words }}")
    context = {"unit": unit("1-03-302"), "grid": Region(code="G01", name_zh="第一网格", name_en="Grid 1")}
    with translation.override("zh-hans"):
        assert page.render(Context(context)) == "3幢1单元302 · 第一网格"
    with translation.override("en"):
        assert page.render(Context(context)) == "3幢, entrance 1, room 302 · Grid 1"
