"""Writing starts with the first page of an org's repository listing, not after the last."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from helpers import TOKEN, run_cli

from syncer.fakehub import FakeHub, Faults
from syncer.github import errors
from syncer.model import Action, Op, Result, Scope, SecretValue
from syncer.runtime import Settings, connect

VALUE = b"streaming-canary-4242"
LISTING = "/orgs/{org}/repos"


def make_hub(repos: int, **kw) -> FakeHub:
    hub = FakeHub(tokens=(TOKEN,), **kw)
    hub.add_org("acme")
    hub.add_repos("acme", repos)
    return hub


def test_set_writes_while_the_listing_still_arrives(monkeypatch) -> None:
    """500 repositories are 5 pages: the first PUT reaches GitHub before the last page is asked
    for (30 ms a request: the first PUT goes at ~60 ms, the last page at ~120 ms)."""
    hub = make_hub(500, faults=Faults(latency_ms=30))
    arrivals: list[tuple[str, str]] = []
    hub.on_request = lambda method, template, _n: arrivals.append((method, template))
    with hub.serve_in_thread() as url:
        code = run_cli(["set", "S", "--org", "acme", "--value-from", "env:V",
                        "--concurrency", "32", "--points-per-minute", "0"],
                       {"GITHUB_API_URL": url, "GITHUB_TOKEN": TOKEN, "V": VALUE.decode()},
                       monkeypatch)
    assert code == 0
    pages = [i for i, (method, template) in enumerate(arrivals) if template == LISTING]
    first_put = next(i for i, (method, _) in enumerate(arrivals) if method == "PUT")
    assert len(pages) == 5
    assert first_put < pages[-1]
    assert hub.count("PUT") == 500
    assert all(hub.plaintext("S", repo=f"acme/repo-{i:04d}") == VALUE for i in range(1, 501))


@pytest.mark.anyio
async def test_a_failing_stream_still_writes_what_arrived_then_raises() -> None:
    """The listing breaks after 10 repositories: those 10 are written, then its error is raised
    (the run is journalled, so running the command again resumes it)."""
    hub = make_hub(20)

    async def listing_that_breaks() -> AsyncIterator[Action]:
        for i in range(1, 11):
            yield Action(Op.PUT, Scope.of_repo("acme", f"repo-{i:04d}"), "S")
        raise errors.TransportError("GET /orgs/acme/repos?page=2: ServerDisconnectedError")

    outcomes = []
    async with hub.serve() as url, connect(Settings(api_url=url, points_per_minute=0),
                                           TOKEN) as run:
        with pytest.raises(errors.TransportError, match="page=2"):
            await run.engine(outcomes.append).run(listing_that_breaks(),
                                                  lambda _: SecretValue(VALUE))
    assert sorted(str(o.action.scope) for o in outcomes if o.result is Result.CREATED) == [
        f"acme/repo-{i:04d}" for i in range(1, 11)]
    assert hub.count("PUT") == 10
