"""SIGINT/SIGTERM: stop scheduling new writes, let those in flight finish (bounded), report.

The CLI installs the handlers for the length of one command and passes the Interrupt they
trigger to the command, whose Run carries it to the engine and the journalled writes (passed,
never looked up from a context variable). The engine asks it before each new write and, once a
stop is requested, gives in-flight writes `GRACE_S` seconds before cutting them off. A second
signal cuts them off at once. Either way the command still reports (the cut-off writes as
possibly landed); a signal after that cancels everything.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..core.model import StopReason

GRACE_S = 10.0


class Interrupt:
    def __init__(self) -> None:
        self.signum: int | None = None
        self.writes_in_flight = 0
        #: no request is under way or still to come (the last write has landed): a signal has
        #: nothing to stop, and cancelling would only cut the run's report and saving short
        self.idle = False
        self.cut_off = 0  # writes cancelled in flight when the grace ran out: outcome unknown
        self.done = 0  # targets written (this run and the run it resumed), for the message
        self.total = 0
        self.total_is_partial = False  # the stop came before the listing of targets ended
        #: why the run stopped writing on its own, not on a signal (a spent budget with
        #: --no-wait, GitHub out of reach, a journal that cannot grow): reported as a signal is
        self.stopped_by: StopReason | None = None
        self.on_stop: list[Callable[[], None]] = []  # e.g. a pacer: send nothing new
        #: set by a running engine: cancels its writes in flight (and a listing page on its
        #: way), nothing else, so that the command still reports what landed
        self.cut_writes: Callable[[], None] | None = None
        self._hard_stop: Callable[[], None] | None = None
        self._grace: asyncio.TimerHandle | None = None

    def trigger(self, signum: int) -> None:
        if self.signum is not None:
            self.stop_waiting()  # second signal: do not wait for in-flight writes
        self.signum = signum

    def stop_waiting(self) -> None:
        """The grace is over: cut off the writes in flight, or, with none to cut (or once they
        were), cancel the whole command."""
        cut, self.cut_writes = self.cut_writes, None
        if cut is not None:
            cut()
        elif self._hard_stop is not None:
            self._hard_stop()

    def write_settled(self) -> None:
        """A write in flight got its answer: once none is left, the grace has served."""
        if self.writes_in_flight == 0 and self._grace is not None:
            self._grace.cancel()
            self._grace = None

    @property
    def signalled(self) -> bool:
        """A signal asked the run to stop."""
        return self.signum is not None

    @property
    def writing_began(self) -> bool:
        """Targets reached the engine (some may have been written)."""
        return self.total > 0 or self.total_is_partial

    @property
    def finished(self) -> bool:
        """Every target is done: a stop at this point leaves nothing to resume."""
        return (self.total > 0 and self.done == self.total and not self.total_is_partial
                and not self.cut_off)

    def account(self) -> str:
        """How far the run got, as a stop reports it: "N of M done" and what is unknown."""
        unlisted = " (more not yet listed)" if self.total_is_partial else ""
        cut_off = (f", {self.cut_off} cut off in flight when the grace ran out (they may "
                   "have landed)" if self.cut_off else "")
        return f"{self.done} of {self.total} done{unlisted}{cut_off}"


@contextmanager
def handling_signals(cancel_everything: Callable[[], None]) -> Iterator[Interrupt]:
    """Route SIGINT/SIGTERM to an Interrupt while the block runs (on the running asyncio loop).

    Writes in flight get GRACE_S seconds before `cancel_everything`; with none in flight
    (discovery, planning, a listing page) there is nothing to finish, so it is called at once;
    once the run is idle (its last write landed), nothing is cancelled: it reports and saves.
    """
    loop = asyncio.get_running_loop()
    interrupt = Interrupt()
    interrupt._hard_stop = cancel_everything

    def on_signal(signum: int) -> None:
        interrupt.trigger(signum)
        for stop in interrupt.on_stop:
            stop()
        if interrupt.writes_in_flight:
            if interrupt._grace is None:
                interrupt._grace = loop.call_later(GRACE_S, interrupt.stop_waiting)
        elif not interrupt.idle:
            cancel_everything()

    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, on_signal, signum)
            installed.append(signum)
        except (RuntimeError, ValueError):  # not the main thread: leave signals alone
            pass
    try:
        yield interrupt
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
