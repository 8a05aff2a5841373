import datetime as dt

import pytest
from django.utils import translation

from banyan.people.validators import check_character, id_number_problem

TODAY = dt.date(2026, 11, 28)


def with_check(first17: str) -> str:
    return first17 + check_character(first17)


@pytest.mark.parametrize(
    "value",
    [
        "11010519491231002X",  # the example in GB 11643-1999
        with_check("44052419800101001"),
        with_check("33010219850615123"),
    ],
)
def test_valid_numbers(value):
    assert id_number_problem(value, today=TODAY) is None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("11010519491231002", "18 characters"),
        ("1101051949123100211", "18 characters"),
        ("11010519491231002Y", "17 digits"),
        ("91010519491231002X", "administrative division"),
        (with_check("33010219850231123"), "birth date"),
        (with_check("33010220990101123"), "impossible"),
        (with_check("33010219850615000"), "sequence"),
        ("110105194912310021", "check character"),
    ],
)
def test_invalid_numbers_name_the_reason(value, reason):
    with translation.override("en"):
        problem = id_number_problem(value, today=TODAY)
    assert problem is not None
    assert reason in problem


def test_check_character_matches_iso_7064_mod_11_2():
    # Every single-digit change of a valid number must change the check character or fail.
    base = "11010519491231002"
    assert check_character(base) == "X"
    for position in range(17):
        digit = int(base[position])
        changed = base[:position] + str((digit + 1) % 10) + base[position + 1 :]
        assert check_character(changed) != "X"
