"""What a scenario hands back: tables for RESULTS.md, target checks, and raw numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Check:
    """One target: what was measured and whether it met the target (None: not measured)."""

    target: str
    measured: str
    met: bool | None


@dataclass
class ScenarioResult:
    name: str
    tables: list[Table] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after


def fmt(value: float, digits: int = 2) -> str:
    return f"{value:,.{digits}f}"


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0..100) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]
