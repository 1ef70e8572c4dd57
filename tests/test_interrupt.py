"""What a signal cancels: the reading at once, writes after a grace, nothing once they are over."""

from __future__ import annotations

import os
import signal

import anyio
import pytest

from syncer.interrupt import handling_signals


async def _signal_with(writing: bool, wrote: bool) -> bool:
    """Send SIGINT to ourselves in that phase of a run; whether the run was cancelled."""
    cancelled: list[bool] = []
    with handling_signals(lambda: cancelled.append(True)) as interrupt:
        interrupt.writing, interrupt.wrote = writing, wrote
        os.kill(os.getpid(), signal.SIGINT)
        with anyio.fail_after(5):
            while interrupt.signum is None:
                await anyio.sleep(0.01)
    return bool(cancelled)


@pytest.mark.anyio
@pytest.mark.parametrize(("writing", "wrote", "cancelled"), [
    (False, False, True),  # still reading GitHub: stop at once
    (True, False, True),  # writing, none in flight at this instant: nothing to wait for
    (False, True, False),  # the writing is over: let the run report and save
])
async def test_what_a_signal_cancels(writing: bool, wrote: bool, cancelled: bool) -> None:
    assert await _signal_with(writing, wrote) is cancelled
