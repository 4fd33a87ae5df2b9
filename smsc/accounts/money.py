"""Money is integer kopecks; UAH amounts are parsed exactly, never via float."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation


def parse_uah(text: str) -> int:
    """``"2.00"`` -> 200. Refuses fractions of a kopeck and non-numbers."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"not an amount in UAH: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"not an amount in UAH: {text!r}")
    kopecks = value * 100
    if kopecks != kopecks.to_integral_value():
        raise ValueError(f"amount has fractions of a kopeck: {text!r}")
    return int(kopecks)


def format_uah(kopecks: int) -> str:
    sign = "-" if kopecks < 0 else ""
    k = abs(kopecks)
    return f"{sign}{k // 100}.{k % 100:02d}"
