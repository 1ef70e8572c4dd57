"""Count outcomes into a summary, and render it for people."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TextIO

from ..core.model import Outcome, Result, Stop, StopReason
from ..github.pacing import local_time
from .terminal import can_encode, colours_wanted, paint


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
    #: when GitHub's signals lowered the pace (or quiet raised it): (epoch s, writes/min, points/min)
    pace_changes: list[tuple[float, float | None, float | None]] = field(default_factory=list)
    #: every target's outcome, for the JSON report
    outcomes: list[Outcome] = field(default_factory=list)
    #: the pace asked for and the pace at the end, (writes/min, points/min); None: not known
    pace: tuple[float | None, float | None] | None = None
    current_pace: tuple[float | None, float | None] | None = None

    def as_event(self) -> dict[str, object]:
        return {**{k: self.counts.get(k, 0) for k in _COLUMNS}, "requests": self.requests,
                "retries": self.retries, "rate_limit_waits": self.rate_limit_waits,
                "wait_s": round(self.wait_seconds, 2), "paced_s": round(self.paced_seconds, 2),
                "seconds": round(self.seconds, 2),
                **({"pace_changes": [{"at": local_time(at), "writes_per_minute": _one_place(w),
                                      "points_per_minute": _one_place(p)}
                                     for at, w, p in self.pace_changes]}
                   if self.pace_changes else {})}

    def pace_lines(self) -> list[str]:
        """'pace lowered at 2026-12-06 00:36:04 UTC to 30 writes and 435 points a minute'."""
        lines = []
        previous: float | None = None
        for at, writes, points in self.pace_changes:
            moved = "raised" if previous is not None and (writes or 0) > previous else "lowered"
            previous = writes or 0
            parts = [f"{_one_place(v)} {what}" for v, what in ((writes, "writes"),
                                                               (points, "points")) if v]
            lines.append(f"pace {moved} at {local_time(at)} to {' and '.join(parts)} a minute")
        return lines


_COLUMNS = [r.value for r in Result]


def summarize(outcomes: Iterable[Outcome], *, requests: int, retries: int, waits: int,
              wait_seconds: float, seconds: float, paced_seconds: float = 0.0,
              pace_changes: Iterable[tuple[float, float | None, float | None]] = (),
              pace: tuple[float | None, float | None] | None = None,
              current_pace: tuple[float | None, float | None] | None = None) -> Summary:
    outcomes = list(outcomes)
    counts = Counter(o.result.value for o in outcomes)
    failed = sorted((str(o.action.scope), o.action.name, o.error or "") for o in outcomes
                    if o.result is Result.FAILED)
    not_written = sorted((str(o.action.scope), o.action.name,
                          stop_text(o.stopped_by) if o.stopped_by else "") for o in outcomes
                         if o.result is Result.SKIPPED)
    by_secret: dict[tuple[str, str], Counter[str]] = {}
    for o in outcomes:
        by_secret.setdefault((o.action.name, o.action.scope.kind), Counter())[o.result.value] += 1
    return Summary(dict(counts), requests, retries, waits, wait_seconds, seconds, paced_seconds,
                   failed, not_written, by_secret, list(pace_changes), outcomes, pace,
                   current_pace)


def stop_text(reason: StopReason) -> str:
    """Why a run stopped writing, for people: "interrupted", "rate limit budget spent until
    2026-12-06 00:36:04 UTC", "GitHub out of reach (...)"."""
    if reason.stop is Stop.INTERRUPTED:
        return "interrupted"
    if reason.stop is Stop.BUDGET_SPENT:
        return f"rate limit budget spent until {local_time(reason.reset_at or 0.0)}"
    if reason.stop is Stop.UNREACHABLE:
        return f"GitHub out of reach ({reason.detail})"
    if reason.stop is Stop.LISTING_FAILED:
        return f"the listing of targets failed: {reason.detail}"
    return reason.detail  # UNRECORDED: the journal's error says it


def error_text(outcome: Outcome) -> str | None:
    """What went wrong with a target, as the log and the JSON report say it: its error, or for
    one a stop kept back "not written: " and why."""
    if outcome.stopped_by is not None:
        return f"not written: {stop_text(outcome.stopped_by)}"
    return outcome.error


def render(summary: Summary, *, limit: int = 20) -> str:
    """A few lines for a person: counts, cost, and which targets failed."""
    c = summary.counts
    lines = [
        f"created {c.get('created', 0)}, updated {c.get('updated', 0)}, "
        f"deleted {c.get('deleted', 0)}, failed {c.get('failed', 0)}, "
        f"not written {c.get(Result.SKIPPED.value, 0)}",
        f"{summary.requests} requests, {summary.retries} retries, "
        f"{summary.rate_limit_waits} rate-limit waits ({summary.wait_seconds:.1f} s), "
        f"paced {summary.paced_seconds:.1f} s, {summary.seconds:.2f} s",
        *summary.pace_lines(),
    ]
    for title, rows in (("failed", summary.failed), ("not written", summary.not_written)):
        for scope, name, why in rows[:limit]:
            lines.append(f"  {title}: {name} in {scope}: {why}")
        if len(rows) > limit:
            lines.append(f"  ... and {len(rows) - limit} more {title}")
    return "\n".join(lines)


def table_lines(summary: Summary, unchanged: Mapping[tuple[str, str], int] | None = None,
                *, colour: bool = False, rule: str = "─") -> list[str]:
    """The summary as a table of counts per secret and scope kind, for a terminal."""
    header = ["secret", "scope", "created", "updated", "unchanged", "deleted", "failed",
              "not written"]
    rows = []
    for secret, kind in sorted(set(summary.by_secret) | set(unchanged or {})):
        counts = summary.by_secret.get((secret, kind), Counter())
        rows.append([secret, kind, str(counts.get("created", 0)), str(counts.get("updated", 0)),
                     str((unchanged or {}).get((secret, kind), 0)),
                     str(counts.get("deleted", 0)), str(counts.get("failed", 0)),
                     str(counts.get(Result.SKIPPED.value, 0))])
    widths = [max(len(cells[i]) for cells in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str], failed_column_red: bool = False) -> str:
        padded = [cell.ljust(w) if i < 2 else cell.rjust(w)
                  for i, (cell, w) in enumerate(zip(cells, widths, strict=False))]
        if failed_column_red:
            padded[6] = paint(padded[6], "red")
        return "  ".join(padded).rstrip()

    lines = ["syncer summary", line(header), "  ".join(rule * w for w in widths)]
    lines += [line(cells, colour and cells[6] != "0") for cells in rows]
    lines.append(f"{summary.requests} requests, {summary.retries} retries, "
                 f"{summary.rate_limit_waits} rate-limit waits ({summary.wait_seconds:.1f} s), "
                 f"paced {summary.paced_seconds:.1f} s, {summary.seconds:.2f} s")
    lines += summary.pace_lines()
    for title, failures in (("failed", summary.failed), ("not written", summary.not_written)):
        for scope, name, why in failures[:20]:
            lines.append(f"  {paint(title, 'red') if colour else title}: {name} in {scope}: {why}")
        if len(failures) > 20:
            lines.append(f"  ... and {len(failures) - 20} more {title}")
    return lines


def show(summary: Summary, stream: TextIO,
         unchanged: Mapping[tuple[str, str], int] | None = None) -> None:
    """A table on a terminal, plain lines elsewhere."""
    if stream.isatty():
        rule = "─" if can_encode(stream, "─") else "-"
        print("\n".join(table_lines(summary, unchanged, colour=colours_wanted(), rule=rule)),
              file=stream)
    else:
        print(render(summary), file=stream)


def _one_place(value: float | None) -> float | int | None:
    """30.0 → 30, 7.5 → 7.5: a rate as people write it."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 1)
