"""How long this process has run.

A run's summary reports its duration from the process start, so that it covers what a person
waited for — start-up, listing, reading both sides — and not only the writes. Python has no
portable way to ask when the process started: on Linux /proc says (to 1/100 s); elsewhere the
clock starts when this module is first imported (syncer's command modules import it early).
"""

from __future__ import annotations

import os
import time

_IMPORTED = time.monotonic()


def seconds_since_start() -> float:
    """Seconds since this process started (see the module docstring for elsewhere than Linux)."""
    try:
        with open("/proc/self/stat", encoding="ascii", errors="replace") as stat, \
                open("/proc/uptime", encoding="ascii") as uptime:
            elapsed = elapsed_from_proc(stat.read(), uptime.read(),
                                        os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError):
        elapsed = None
    return elapsed if elapsed is not None else time.monotonic() - _IMPORTED


def elapsed_from_proc(stat: str, uptime: str, ticks_per_second: int) -> float | None:
    """Seconds since the process of `stat` (/proc/PID/stat) started, given /proc/uptime; None
    when either does not parse. Pure.

    The start time is field 22 of stat, in clock ticks since boot; fields are counted after the
    command name's closing parenthesis, as the name itself may hold spaces and parentheses.
    """
    try:
        after_name = stat.rsplit(")", 1)[1].split()
        started_ticks = int(after_name[19])  # field 22; after_name[0] is field 3
        up = float(uptime.split()[0])
    except (IndexError, ValueError):
        return None
    if ticks_per_second <= 0:
        return None
    return max(0.0, up - started_ticks / ticks_per_second)
