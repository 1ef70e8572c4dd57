"""`syncer demo`: fakehub in-process on a loopback port, one secret into every repository,
every plaintext checked by decrypting it on fakehub's side. No token, no network."""

from __future__ import annotations

import secrets
import sys
import tempfile
from pathlib import Path

from ..execution.connect import Settings
from ..execution.interrupt import Interrupt
from ..exits import Exit
from ..fakehub import FakeHub, Limits
from ..observe import redact
from ..observe.summary import show
from ..sources import generate
from ..store.state import State
from .set import SetRequest, run_set

ORG = "acme"
NAME = "DEMO_API_KEY"
CONCURRENCY = 32


async def run_demo(n_repos: int, *, show_progress: bool | None = None,
                   stop: Interrupt | None = None) -> int:
    token = "demo-" + secrets.token_hex(16)
    redact.register(token)
    hub = FakeHub(tokens=(token,), limits=Limits.off())  # a demo of speed and correctness
    hub.add_org(ORG)
    hub.add_repos(ORG, n_repos, environments=("production",))
    value = generate(32)
    redact.register(value.reveal())
    async with hub.serve(host="127.0.0.1", port=0) as url:
        say(f"fakehub: org {ORG} with {n_repos} repositories at {url}")
        # What runs is what is printed: a user can copy it against this fakehub.
        say(f"syncer set {NAME} --org {ORG} --concurrency {CONCURRENCY} --points-per-minute 0  "
            "(a fresh random value, 32 bytes; pacing off: this local fakehub enforces no "
            "limits)")
        request = SetRequest(name=NAME, org=ORG, source=None)
        settings = Settings(api_url=url, concurrency=CONCURRENCY, points_per_minute=0)
        with tempfile.TemporaryDirectory(prefix="syncer-demo-") as scratch:
            state = State.open(Path(scratch) / "state.json")  # never the user's own state
            code, summary = await run_set(request, value, settings, token, state,
                                          show_progress=show_progress, stop=stop)
    show(summary, sys.stderr)
    repos = [f"{ORG}/repo-{i:04d}" for i in range(1, n_repos + 1)]
    wrong = [r for r in repos if hub.plaintext(NAME, repo=r) != value.reveal()]
    if wrong:
        say(f"verification FAILED: {len(wrong)} of {n_repos} repositories hold a wrong value, "
            f"e.g. {wrong[0]}")
        return int(Exit.FAILED)
    say(f"verified: fakehub decrypted {NAME} in all {n_repos} repositories to the value sent")
    say(f"on github.com syncer paces itself as GitHub asks, one write a second: these "
        f"{n_repos} writes would take about {_minutes(n_repos)}")
    return int(code)


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} minutes"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
