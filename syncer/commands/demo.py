"""`syncer demo`: fakehub in-process on a loopback port, one secret into every repository,
every plaintext checked by decrypting it on fakehub's side. No token, no network."""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ..execution.connect import Settings
from ..exits import Exit
from ..fakehub import FakeHub, Limits
from ..observe import redact
from ..observe.summary import show
from ..sources import generate
from ..store.state import State
from . import Output, Request, Session, options
from .one_name import SetRequest, SetResult, run_set

ORG = "acme"
NAME = "DEMO_API_KEY"
CONCURRENCY = 32


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_output(parser)
    parser.add_argument("--repos", type=options.positive_int, default=200,
                        help="repositories (default 200)")
    parser.set_defaults(log_level="warning")  # the live count and summary tell the story


@dataclass(frozen=True)
class DemoRequest(Request):
    repos: int


def request_from(namespace: argparse.Namespace) -> DemoRequest:
    return DemoRequest(namespace.repos)


@dataclass(frozen=True)
class DemoResult:
    written: SetResult
    wrong: list[str]  # repositories whose value fakehub did not decrypt to the one sent


async def run(request: DemoRequest, session: Session) -> DemoResult:
    n_repos = request.repos
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
        write = SetRequest(name=NAME, org=ORG, source=None)
        settings = Settings(api_url=url, concurrency=CONCURRENCY, points_per_minute=0)
        with tempfile.TemporaryDirectory(prefix="syncer-demo-") as scratch:
            state = State.open(Path(scratch) / "state.json")  # never the user's own state
            written = await run_set(write, value, settings, token, state,
                                    show_progress=session.show_progress, stop=session.stop)
    repos = [f"{ORG}/repo-{i:04d}" for i in range(1, n_repos + 1)]
    wrong = [r for r in repos if hub.plaintext(NAME, repo=r) != value.reveal()]
    return DemoResult(written, wrong)


def report(request: DemoRequest, result: DemoResult, output: Output) -> int:
    show(result.written.summary, output.stderr)
    n_repos = request.repos
    if result.wrong:
        say(f"verification FAILED: {len(result.wrong)} of {n_repos} repositories hold a wrong "
            f"value, e.g. {result.wrong[0]}", output.stderr)
        return int(Exit.FAILED)
    say(f"verified: fakehub decrypted {NAME} in all {n_repos} repositories to the value sent",
        output.stderr)
    say(f"on github.com syncer paces itself as GitHub asks, one write a second: these "
        f"{n_repos} writes would take about {_minutes(n_repos)}", output.stderr)
    return int(Exit.OK if result.written.complete else Exit.FAILED)


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} minutes"


def say(text: str, stream: TextIO | None = None) -> None:
    print(text, file=stream or sys.stderr, flush=True)
