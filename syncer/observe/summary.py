"""Count outcomes into a summary, and render it for people."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TextIO

from rich.console import Console
from rich.table import Table

from ..model import Outcome, Result


@dataclass(frozen=True)
class Summary:
    counts: dict[str, int]
    requests: int
    retries: int
    rate_limit_waits: int
    wait_seconds: float
    seconds: float
    paced_seconds: float = 0.0  # requests held back under the points budget (summed per wait)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (scope, name, why)
    not_written: list[tuple[str, str, str]] = field(default_factory=list)
    #: (secret, scope kind) → result → count
    by_secret: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)

    def as_event(self) -> dict[str, object]:
        return {**{k: self.counts.get(k, 0) for k in _COLUMNS}, "requests": self.requests,
                "retries": self.retries, "rate_limit_waits": self.rate_limit_waits,
                "wait_s": round(self.wait_seconds, 2), "paced_s": round(self.paced_seconds, 2),
                "seconds": round(self.seconds, 2)}


_COLUMNS = [r.value for r in Result]


def summarize(outcomes: Iterable[Outcome], *, requests: int, retries: int, waits: int,
              wait_seconds: float, seconds: float, paced_seconds: float = 0.0) -> Summary:
    outcomes = list(outcomes)
    counts = Counter(o.result.value for o in outcomes)
    failed = sorted((str(o.action.scope), o.action.name, o.error or "") for o in outcomes
                    if o.result is Result.FAILED)
    not_written = sorted((str(o.action.scope), o.action.name, o.error or "") for o in outcomes
                         if o.result is Result.SKIPPED)
    by_secret: dict[tuple[str, str], Counter[str]] = {}
    for o in outcomes:
        by_secret.setdefault((o.action.name, o.action.scope.kind), Counter())[o.result.value] += 1
    return Summary(dict(counts), requests, retries, waits, wait_seconds, seconds, paced_seconds,
                   failed, not_written, by_secret)


def render(summary: Summary, *, limit: int = 20) -> str:
    """A few lines for a person: counts, cost, and which targets failed."""
    c = summary.counts
    lines = [
        f"created {c.get('created', 0)}, updated {c.get('updated', 0)}, "
        f"deleted {c.get('deleted', 0)}, failed {c.get('failed', 0)}, "
        f"not written {c.get('skipped', 0)}",
        f"{summary.requests} requests, {summary.retries} retries, "
        f"{summary.rate_limit_waits} rate-limit waits ({summary.wait_seconds:.1f} s), "
        f"paced {summary.paced_seconds:.1f} s, {summary.seconds:.2f} s",
    ]
    for title, rows in (("failed", summary.failed), ("not written", summary.not_written)):
        for scope, name, why in rows[:limit]:
            lines.append(f"  {title}: {name} in {scope}: {why}")
        if len(rows) > limit:
            lines.append(f"  ... and {len(rows) - limit} more {title}")
    return "\n".join(lines)


def render_table(summary: Summary, stream: TextIO, unchanged: Mapping[tuple[str, str], int]
                 | None = None) -> None:
    """The summary as a table, for a terminal."""
    table = Table(title="syncer summary", title_justify="left", show_edge=False)
    for column in ("secret", "scope", "created", "updated", "unchanged", "deleted", "failed",
                   "not written"):
        table.add_column(column, justify="left" if column in ("secret", "scope") else "right")
    keys = sorted(set(summary.by_secret) | set(unchanged or {}))
    for secret, kind in keys:
        counts = summary.by_secret.get((secret, kind), Counter())
        failed = counts.get("failed", 0)
        table.add_row(secret, kind, *(str(counts.get(k, 0)) for k in ("created", "updated")),
                      str((unchanged or {}).get((secret, kind), 0)), str(counts.get("deleted", 0)),
                      f"[bold red]{failed}[/]" if failed else "0", str(counts.get("skipped", 0)))
    console = Console(file=stream, force_terminal=True)
    console.print(table)
    console.print(f"{summary.requests} requests, {summary.retries} retries, "
                  f"{summary.rate_limit_waits} rate-limit waits ({summary.wait_seconds:.1f} s), "
                  f"paced {summary.paced_seconds:.1f} s, {summary.seconds:.2f} s")
    for title, rows in (("failed", summary.failed), ("not written", summary.not_written)):
        for scope, name, why in rows[:20]:
            console.print(f"  [red]{title}[/]: {name} in {scope}: {why}", markup=True,
                          highlight=False)


def show(summary: Summary, stream: TextIO,
         unchanged: Mapping[tuple[str, str], int] | None = None) -> None:
    """A table on a terminal, plain lines elsewhere."""
    if stream.isatty():
        render_table(summary, stream, unchanged)
    else:
        print(render(summary), file=stream)
