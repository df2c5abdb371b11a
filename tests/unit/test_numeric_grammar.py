"""The digit-by-digit number ranges of the plan grammar accept exactly the numbers in bounds."""

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.llm.numeric_grammar import FRACTION_DIGITS, decimal_range, integer_range, to_regex

JSON_NUMBER = re.compile(rf"-?(0|[1-9][0-9]*)(\.[0-9]{{1,{FRACTION_DIGITS}}})?")

INT_BOUNDS = [(-60, 24), (0, 1), (8000, 192000), (1, 8), (-5, -1), (0, 0), (-999, 1000)]
DEC_BOUNDS = [
    (0, 1),
    (0.5, 2.0),
    (-60, 24),
    (-40, -5),
    (0, 60),
    (0.25, 4),
    (-1.5, 1.5),
    (0, 0.5),
    (20, 20000),
    (0.1, 0.9),
    (0.05, 0.95),
    (2.25, 2.5),
    (-0.9, -0.1),
    (3, 3.75),
    (0.333, 0.334),
]


@pytest.mark.parametrize("lo,hi", INT_BOUNDS)
@settings(max_examples=300, deadline=None)
@given(x=st.integers(min_value=-300_000, max_value=300_000))
def test_integer_range_matches_exactly_the_bounded_integers(lo, hi, x):
    pattern = re.compile(to_regex(integer_range(lo, hi)))
    assert bool(pattern.fullmatch(str(x))) == (lo <= x <= hi)


@pytest.mark.parametrize("lo,hi", INT_BOUNDS)
def test_integer_range_edges_and_malformed(lo, hi):
    pattern = re.compile(to_regex(integer_range(lo, hi)))
    for x in (lo - 1, lo, hi, hi + 1):
        assert bool(pattern.fullmatch(str(x))) == (lo <= x <= hi)
    for text in ("007", "+1", " 1", "1.0", ""):
        assert not pattern.fullmatch(text)


@pytest.mark.parametrize("lo,hi", DEC_BOUNDS)
@settings(max_examples=300, deadline=None)
@given(whole=st.integers(min_value=-70, max_value=20_100), frac=st.text("0123456789", max_size=4))
def test_decimal_range_matches_exactly_the_bounded_decimals(lo, hi, whole, frac):
    text = str(whole) + (f".{frac}" if frac else "")
    expected = bool(JSON_NUMBER.fullmatch(text)) and Decimal(str(lo)) <= Decimal(text) <= Decimal(str(hi))
    got = bool(re.compile(to_regex(decimal_range(lo, hi))).fullmatch(text))
    if text.startswith("-0") and Decimal(text) == 0:
        assert got in (expected, False)  # "-0.0" may be refused; "0.0" is always there
    else:
        assert got == expected, text


@pytest.mark.parametrize(
    "lo,hi,inside,outside",
    [
        (0, 1, ["0", "0.5", "1", "1.0", "1.000"], ["1.001", "2", "-0.1"]),
        (0.5, 2.0, ["0.5", "0.75", "1", "2", "2.00"], ["0.499", "2.01", "0.4", "3"]),
        (-60, 24, ["-60", "-59.999", "0", "24", "24.0"], ["-60.001", "24.5", "25", "-61"]),
    ],
)
def test_decimal_range_examples(lo, hi, inside, outside):
    pattern = re.compile(to_regex(decimal_range(lo, hi)))
    assert all(pattern.fullmatch(t) for t in inside)
    assert not any(pattern.fullmatch(t) for t in outside)


def test_bounds_with_too_many_decimals_are_refused():
    with pytest.raises(ValueError):
        decimal_range(0, 0.0001)
