"""GBNF for numbers within bounds: integers in [lo, hi] and decimals in [lo, hi].

A grammar sees characters, not values, so a range becomes digit-by-digit alternatives (the same
construction as a regex for a numeric range). Written as its own module because it is subtle: the
expressions use only literals, character classes, grouping, alternation, `?` and `{m,n}`, so
`to_regex` renders them as a Python regex and the tests check them against real comparisons.
"""

from __future__ import annotations

import re
from decimal import Decimal

FRACTION_DIGITS = 3  # decimals are written with at most 3 digits after the point


def _lit(s: str) -> str:
    return f'"{s}"'


def _alt(options: list[str]) -> str:
    options = [o for o in options if o]
    return options[0] if len(options) == 1 else "(" + " | ".join(options) + ")"


def _same_len(a: str, b: str) -> str:
    """Digit strings of equal length from a to b (a <= b), leading zeros allowed."""
    if not a:
        return ""
    if a == b:
        return _lit(a)
    if set(a) == {"0"} and set(b) == {"9"}:
        return f"[0-9]{{{len(a)}}}"
    if a[0] == b[0]:
        return f"{_lit(a[0])} {_same_len(a[1:], b[1:])}"
    rest = len(a) - 1
    lo_d, hi_d = int(a[0]), int(b[0])
    opts = [f"{_lit(a[0])} {_same_len(a[1:], '9' * rest)}".strip()]
    if hi_d - lo_d > 1:
        opts.append(f"[{lo_d + 1}-{hi_d - 1}]" + (f" [0-9]{{{rest}}}" if rest else ""))
    opts.append(f"{_lit(b[0])} {_same_len('0' * rest, b[1:])}".strip())
    return _alt(opts)


def _natural(lo: int, hi: int) -> str:
    """Non-negative integers lo..hi written without leading zeros."""
    opts = []
    for n in range(len(str(lo)), len(str(hi)) + 1):
        a = max(lo, 10 ** (n - 1) if n > 1 else 0)
        b = min(hi, 10**n - 1)
        if a <= b:
            opts.append(_same_len(str(a), str(b)))
    return _alt(opts)


def integer_range(lo: int, hi: int) -> str:
    if lo > hi:
        raise ValueError(f"empty range [{lo}, {hi}]")
    opts = []
    if lo < 0:
        opts.append(f'"-" {_natural(max(1, -hi) if hi < 0 else 1, -lo)}')
    if hi >= 0:
        opts.append(_natural(max(lo, 0), hi))
    return _alt(opts)


def _split(x: Decimal) -> tuple[int, str]:
    """Integer part and fraction digits (no trailing zeros) of a non-negative decimal."""
    whole = int(x)
    frac = format(x - whole, "f").split(".")[1].rstrip("0") if x != whole else ""
    if len(frac) > FRACTION_DIGITS:
        raise ValueError(f"bound {x} has more than {FRACTION_DIGITS} decimals")
    return whole, frac


_ANY_FRACTION = f'("." [0-9]{{1,{FRACTION_DIGITS}}})?'


def _frac_at_least(d: str, used: int = 0) -> str:
    """Digits after the point, at least one, whose value is >= 0.d (d non-empty)."""
    left = FRACTION_DIGITS - used - 1
    tail = f" [0-9]{{0,{left}}}" if left > 0 else ""
    opts = []
    if int(d[0]) < 9:
        opts.append(f"[{int(d[0]) + 1}-9]{tail}")
    if len(d) == 1:
        opts.append(f"{_lit(d[0])}{tail}")
    else:
        opts.append(f"{_lit(d[0])} {_frac_at_least(d[1:], used + 1)}")
    return _alt(opts)


def _frac_at_most(d: str, used: int = 0) -> str:
    """Digits after the point, at least one, whose value is <= 0.d (d may be empty: zeros only)."""
    left = FRACTION_DIGITS - used - 1
    if not d:
        return f'"0"{{1,{FRACTION_DIGITS - used}}}'
    tail = f" [0-9]{{0,{left}}}" if left > 0 else ""
    opts = []
    if int(d[0]) > 0:
        opts.append(f"[0-{int(d[0]) - 1}]{tail}")
    rest = d[1:]
    if left > 0:
        after = f'("0"{{1,{left}}})?' if not rest else f"({_frac_at_most(rest, used + 1)})?"
        opts.append(f"{_lit(d[0])} {after}")
    else:
        opts.append(_lit(d[0]))
    return _alt(opts)


def _frac_between(lo: str, hi: str) -> str:
    """Digits after the point (1..FRACTION_DIGITS of them) whose value lies in [0.lo, 0.hi].

    A k-digit fraction s has the value int(s) / 10^k, so for each length the allowed digit strings
    are one same-length range (leading zeros included)."""
    full = 10**FRACTION_DIGITS
    low = int(lo.ljust(FRACTION_DIGITS, "0")) if lo else 0
    high = int(hi.ljust(FRACTION_DIGITS, "0")) if hi else 0
    options = []
    for k in range(1, FRACTION_DIGITS + 1):
        scale = full // 10**k
        a, b = -(-low // scale), high // scale
        if a <= b:
            options.append(_same_len(str(a).zfill(k), str(b).zfill(k)))
    return _alt(options)


def _magnitude(lo: Decimal, hi: Decimal) -> str:
    """Non-negative decimals in [lo, hi]."""
    ilo, flo = _split(lo)
    ihi, fhi = _split(hi)
    if ilo == ihi:
        # Both bounds in one unit (0.1..0.9): the integer part is fixed, the digits after the point
        # span a range; without a fraction the number is the integer itself, allowed when lo is.
        fraction = _frac_between(flo, fhi)
        return f'{_lit(str(ilo))} ("." {fraction})?' if not flo else f'{_lit(str(ilo))} "." {fraction}'
    opts = []
    if flo:
        opts.append(f'{_lit(str(ilo))} "." {_frac_at_least(flo)}')
        first_free = ilo + 1
    else:
        first_free = ilo
    if first_free <= ihi - 1:
        opts.append(f"{_natural(first_free, ihi - 1)} {_ANY_FRACTION}")
    opts.append(f'{_lit(str(ihi))} ("." {_frac_at_most(fhi)})?')
    return _alt(opts)


def decimal_range(lo: float, hi: float) -> str:
    dlo, dhi = Decimal(str(lo)), Decimal(str(hi))
    if dlo > dhi:
        raise ValueError(f"empty range [{lo}, {hi}]")
    opts = []
    if dlo < 0:
        opts.append(f'"-" {_magnitude(max(Decimal(0), -dhi), -dlo)}')
    if dhi >= 0:
        opts.append(_magnitude(max(dlo, Decimal(0)), dhi))
    return _alt(opts)


def to_regex(expr: str) -> str:
    """The same language as a Python regex (for tests): literals are the only quoted parts."""
    out, i = [], 0
    while i < len(expr):
        c = expr[i]
        if c == '"':
            j = expr.index('"', i + 1)
            out.append("(?:" + re.escape(expr[i + 1 : j]) + ")")
            i = j + 1
        elif c == "(":
            out.append("(?:")
            i += 1
        elif c == " ":
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)
