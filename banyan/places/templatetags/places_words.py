"""``{% load places_words %}``: ``{{ unit|unit_words }}``, ``{{ region|region_words }}``,
``{{ anything|place_words }}`` — places as residents say them (``banyan.places.words``)."""

from django import template

from banyan.places import words

register = template.Library()


@register.filter
def unit_words(unit) -> str:
    return words.unit_words(unit) if unit is not None else ""


@register.filter
def region_words(region) -> str:
    return words.region_words(region) if region is not None else ""


@register.filter
def place_words(place) -> str:
    return words.place_words(place)
