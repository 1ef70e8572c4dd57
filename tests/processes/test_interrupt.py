"""What a signal cancels: the reading at once, writes after a grace, nothing once the run is
idle (its last write landed) or its writes in flight have all been answered."""

from __future__ import annotations

import os
import signal

import anyio
import pytest

from syncer.core.model import Action, Op, Scope, SecretValue, Stop, StopReason
from syncer.execution import interrupt as interruption
from syncer.execution.connect import Settings, connect
from syncer.execution.interrupt import handling_signals
from syncer.fakehub import FakeHub


async def _wait_for_the_signal(interrupt: interruption.Interrupt) -> None:
    with anyio.fail_after(5):
        while interrupt.signum is None:
            await anyio.sleep(0.01)


@pytest.mark.anyio
@pytest.mark.parametrize(("idle", "cancelled"), [(False, True), (True, False)])
async def test_with_nothing_in_flight_a_signal_cancels_unless_the_run_is_idle(
        idle: bool, cancelled: bool) -> None:
    """Reading GitHub (or between writes): stop at once. The last write landed: let the run
    report and save what it did."""
    cancels: list[bool] = []
    with handling_signals(lambda: cancels.append(True)) as interrupt:
        interrupt.idle = idle
        os.kill(os.getpid(), signal.SIGINT)
        await _wait_for_the_signal(interrupt)
    assert bool(cancels) is cancelled


@pytest.mark.anyio
async def test_writes_answered_within_the_grace_cancel_nothing(monkeypatch) -> None:
    """A write in flight gets the grace; answered in time, the grace's cancel never comes."""
    monkeypatch.setattr(interruption, "GRACE_S", 0.2)
    cancels: list[bool] = []
    with handling_signals(lambda: cancels.append(True)) as interrupt:
        interrupt.writes_in_flight = 1
        os.kill(os.getpid(), signal.SIGINT)
        await _wait_for_the_signal(interrupt)
        interrupt.writes_in_flight = 0
        interrupt.write_settled()
        await anyio.sleep(0.4)
    assert cancels == []


@pytest.mark.anyio
@pytest.mark.parametrize("more_requests_follow", [False, True])
async def test_the_engine_leaves_the_run_idle_unless_more_requests_follow(
        more_requests_follow: bool) -> None:
    """Once its last write has landed, the engine marks the run idle (a signal then cancels
    nothing), unless the command has more requests to send after it (a resume's checks)."""
    hub = FakeHub(tokens=("tok",))
    hub.add_org("acme")
    hub.add_repos("acme", 3)
    with handling_signals(lambda: None) as interrupt:
        async with hub.serve() as url, connect(Settings(api_url=url, points_per_minute=0),
                                               "tok", stop=interrupt) as run:
            engine = run.engine()
            engine.last_phase = lambda: not more_requests_follow
            actions = [Action(Op.PUT, Scope.of_repo("acme", f"repo-{i:04d}"), "S")
                       for i in range(1, 4)]
            await engine.run(actions, lambda _: SecretValue(b"v"))
            assert interrupt.idle is not more_requests_follow


@pytest.mark.anyio
async def test_the_stop_handle_is_passed_to_the_run_not_looked_up() -> None:
    """The engine keeps its account on the stop handle the command gave `connect`, with no
    signal handling installed around it (nothing ambient); a signal on that handle, not a
    context variable, is what holds its writes back."""
    hub = FakeHub(tokens=("tok",))
    hub.add_org("acme")
    hub.add_repos("acme", 3)
    stop = interruption.Interrupt()
    actions = [Action(Op.PUT, Scope.of_repo("acme", f"repo-{i:04d}"), "S") for i in range(1, 4)]
    async with hub.serve() as url, connect(Settings(api_url=url, points_per_minute=0), "tok",
                                           stop=stop) as run:
        assert run.stop is stop
        await run.engine().run(actions, lambda _: SecretValue(b"v"))
        assert (stop.done, stop.total, stop.idle) == (3, 3, True)
        stop.trigger(signal.SIGTERM)
        outcomes = await run.engine().run(actions, lambda _: SecretValue(b"w"))
    assert [o.result.value for o in outcomes] == ["not_written"] * 3
    assert {o.stopped_by for o in outcomes} == {StopReason(Stop.INTERRUPTED)}
