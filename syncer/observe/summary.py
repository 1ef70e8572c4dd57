"""Count outcomes into a summary, and render it for people."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..model import Outcome, Result


@dataclass(frozen=True)
class Summary:
    counts: dict[str, int]
    requests: int
    retries: int
    rate_limit_waits: int
    wait_seconds: float
    seconds: float
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (scope, name, why)
    not_written: list[tuple[str, str, str]] = field(default_factory=list)

    def as_event(self) -> dict[str, object]:
        return {**{k: self.counts.get(k, 0) for k in _COLUMNS}, "requests": self.requests,
                "retries": self.retries, "rate_limit_waits": self.rate_limit_waits,
                "wait_s": round(self.wait_seconds, 2), "seconds": round(self.seconds, 2)}


_COLUMNS = [r.value for r in Result]


def summarize(outcomes: Iterable[Outcome], *, requests: int, retries: int, waits: int,
              wait_seconds: float, seconds: float) -> Summary:
    outcomes = list(outcomes)
    counts = Counter(o.result.value for o in outcomes)
    failed = [(str(o.action.scope), o.action.name, o.error or "") for o in outcomes
              if o.result is Result.FAILED]
    not_written = [(str(o.action.scope), o.action.name, o.error or "") for o in outcomes
                   if o.result is Result.SKIPPED]
    return Summary(dict(counts), requests, retries, waits, wait_seconds, seconds, failed,
                   not_written)


def render(summary: Summary, *, limit: int = 20) -> str:
    """A few lines for a person: counts, cost, and which targets failed."""
    c = summary.counts
    lines = [
        f"created {c.get('created', 0)}, updated {c.get('updated', 0)}, "
        f"deleted {c.get('deleted', 0)}, failed {c.get('failed', 0)}, "
        f"not written {c.get('skipped', 0)}",
        f"{summary.requests} requests, {summary.retries} retries, "
        f"{summary.rate_limit_waits} rate-limit waits ({summary.wait_seconds:.1f} s), "
        f"{summary.seconds:.2f} s",
    ]
    for title, rows in (("failed", summary.failed), ("not written", summary.not_written)):
        for scope, name, why in rows[:limit]:
            lines.append(f"  {title}: {name} in {scope}: {why}")
        if len(rows) > limit:
            lines.append(f"  ... and {len(rows) - limit} more {title}")
    return "\n".join(lines)
