"""Resident identity numbers: GB 11643-1999 structure and the ISO 7064 MOD 11-2 check character."""

from __future__ import annotations

import datetime as dt
import re

from django.utils.translation import gettext as _

_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")
_PHONE = re.compile(r"^1[3-9]\d{9}$")


def check_character(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def normalise_id_number(value: str) -> str:
    return value.strip().upper()


def id_number_problem(value: str, *, today: dt.date) -> str | None:
    """Why ``value`` is not a valid resident identity number, or None if it is."""
    if len(value) != 18:
        return _("must be 18 characters long, not %(n)d") % {"n": len(value)}
    if not _SHAPE.match(value):
        return _("must be 17 digits followed by a digit or X")
    if value[0] not in "12345678":
        return _("the first 6 digits must be an administrative division code")
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return _("characters 7–14 must be a real birth date (YYYYMMDD)")
    if born > today or born.year < 1890:
        return _("the birth date in characters 7–14 is impossible")
    if value[14:17] == "000":
        return _("the sequence code (characters 15–17) cannot be 000")
    expected = check_character(value[:17])
    if value[17] != expected:
        return _("the check character is wrong (ISO 7064 MOD 11-2)")
    return None


def birth_date_from_id(value: str) -> dt.date:
    return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))


def sex_from_id(value: str) -> str:
    return "M" if int(value[16]) % 2 else "F"


def normalise_phone(value: str) -> str:
    return re.sub(r"[\s-]", "", value.strip()).removeprefix("+86")


def phone_problem(value: str) -> str | None:
    if not _PHONE.match(value):
        return _("must be an 11-digit mainland mobile number starting with 13–19")
    return None
