"""Fault injection: latency, server errors, dropped connections, very slow answers.

``FaultPlan`` draws every decision from one ``random.Random(seed)`` in a fixed order per
request (drop, error, error status, slow, jitter), so a single client issuing requests one at
a time sees the same faults on every run.

Semantics:
- ``drop_rate``: the connection is closed without an answer, before the request is applied.
- ``error_rate``: answered 500, 502 or 503 before the request is applied (a write is lost).
- ``slow_rate``: the request is applied at once, but the answer only leaves after
  ``slow_seconds``; a client that times out cannot assume its write failed.
- ``latency_ms`` + uniform ``[0, jitter_ms]`` is added before every answer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

ERROR_STATUSES: Final = (500, 502, 503)


@dataclass(frozen=True, slots=True)
class Faults:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    drop_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 30.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("error_rate", "drop_rate", "slow_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.latency_ms < 0 or self.jitter_ms < 0 or self.slow_seconds < 0:
            raise ValueError("latency_ms, jitter_ms and slow_seconds must not be negative")

    @property
    def active(self) -> bool:
        return bool(
            self.latency_ms or self.jitter_ms or self.error_rate or self.drop_rate or self.slow_rate
        )


@dataclass(frozen=True, slots=True)
class Decision:
    drop: bool = False
    error_status: int | None = None
    delay: float = 0.0  # seconds to wait before answering (latency, jitter, slowness)


NO_FAULT: Final = Decision()


class FaultPlan:
    """Draws per-request fault decisions from a seeded generator."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)

    def decide(self) -> Decision:
        f = self.faults
        if not f.active:
            return NO_FAULT
        rng = self._rng
        drop = rng.random() < f.drop_rate
        error = rng.random() < f.error_rate
        status = ERROR_STATUSES[rng.randrange(len(ERROR_STATUSES))]
        slow = rng.random() < f.slow_rate
        jitter = rng.uniform(0.0, f.jitter_ms) if f.jitter_ms else 0.0
        delay = (f.latency_ms + jitter) / 1000.0
        if drop:
            return Decision(drop=True)
        if slow:
            delay += f.slow_seconds
        return Decision(error_status=status if error else None, delay=delay)


def error_message(status: int) -> str:
    return {500: "Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}[status]
