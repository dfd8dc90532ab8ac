"""Number formatting shared by cards, tables and the sidebar (no Streamlit import, easy to test)."""

from __future__ import annotations


def usd(value: float | None, *, unknown: str = "price unknown") -> str:
    """Dollars with enough digits for tiny per-call costs: $0.000042, $0.0123, $1.50."""
    if value is None:
        return unknown
    v = float(value)
    if v == 0:
        return "$0"
    if abs(v) < 0.01:
        return f"${v:.6f}".rstrip("0")
    if abs(v) < 0.1:
        return f"${v:.4f}"
    return f"${v:,.2f}"


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    v = float(value)
    return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.1f} s"


def tokens(value: int | float | None) -> str:
    if value is None:
        return "-"
    v = float(value)
    return f"{v:,.0f}" if v == int(v) else f"{v:,.1f}"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * float(value):.0f}%"


def change(fraction: float | None) -> str:
    """A relative change as a signed percentage (-0.64 -> "-64%"); never "-0%" or "+0%": a change that
    rounds to zero keeps one decimal ("-0.3%"), none at all reads "0%"."""
    if fraction is None:
        return "-"
    pct = 100 * float(fraction)
    if pct == 0:
        return "0%"
    if round(pct) == 0:
        return f"{pct:+.1f}%" if round(pct, 1) != 0 else ("-<0.1%" if pct < 0 else "+<0.1%")
    return f"{pct:+.0f}%"
