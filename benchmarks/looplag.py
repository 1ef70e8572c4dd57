"""Event-loop lag while syncer's engine writes: measured inside the benchmark process.

A sampling task sleeps 1 ms at a time and records how late each wake-up is; the engine
(syncer.execution.connect.connect + Engine.run, as `syncer set` drives it) runs on the same loop
against a fakehub in its own process. Large values are sealed off the loop (syncer.execution.crypto),
so their lag should stay near the idle loop's.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field

from .results import percentile

SAMPLE_EVERY = 0.001


@dataclass
class Lag:
    lags_ms: list[float] = field(default_factory=list)
    targets: int = 0
    seconds: float = 0.0

    @property
    def samples(self) -> int:
        return len(self.lags_ms)

    @property
    def p50_ms(self) -> float:
        return percentile(self.lags_ms, 50)

    @property
    def p99_ms(self) -> float:
        return percentile(self.lags_ms, 99)

    @property
    def max_ms(self) -> float:
        return max(self.lags_ms, default=0.0)


async def _sample(stop: asyncio.Event, lag: Lag) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(SAMPLE_EVERY)
        lag.lags_ms.append(max(0.0, loop.time() - before - SAMPLE_EVERY) * 1000)


async def _idle(seconds: float) -> Lag:
    lag = Lag(seconds=seconds)
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample(stop, lag))
    await asyncio.sleep(seconds)
    stop.set()
    await sampler
    return lag


def idle_lag(seconds: float) -> Lag:
    """The floor: the same sampler on a loop with nothing else to do."""
    return asyncio.run(_idle(seconds))


async def _engine(api_url: str, token: str, value_bytes: int, concurrency: int) -> Lag:
    from syncer.core.model import Action, Op, Result, Scope, SecretValue
    from syncer.execution.connect import Settings, connect

    settings = Settings(api_url=api_url, concurrency=concurrency, points_per_minute=0)
    value = SecretValue(os.urandom(value_bytes))
    name = f"LAG_{value_bytes}"
    lag = Lag()
    stop = asyncio.Event()
    async with connect(settings, token) as run:
        repos = [r async for r in run.api.org_repos("acme")]
        actions = [Action(Op.PUT, Scope.of_repo("acme", r.name, "actions", r.id), name)
                   for r in repos]
        sampler = asyncio.create_task(_sample(stop, lag))
        started = time.perf_counter()
        outcomes = await run.engine().run(actions, lambda _: value)
        lag.seconds = time.perf_counter() - started
        stop.set()
        await sampler
    bad = [o for o in outcomes if o.result not in (Result.CREATED, Result.UPDATED)]
    if bad:
        raise RuntimeError(f"{len(bad)} writes failed, e.g. {bad[0].error}")
    lag.targets = len(outcomes)
    return lag


def engine_lag(api_url: str, token: str, *, value_bytes: int, concurrency: int) -> Lag:
    """Lag on the loop while the engine puts a `value_bytes` secret into every repository.

    syncer logs as it does by default (JSON lines at info level), to /dev/null.
    """
    from syncer.observe import logs

    with open(os.devnull, "w") as devnull:
        logs.configure("json", "info", stream=devnull)
        return asyncio.run(_engine(api_url, token, value_bytes, concurrency))
