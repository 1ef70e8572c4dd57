"""Writing starts with the first page of an org's repository listing, not after the last."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from helpers import TOKEN, github_env, org_hub, run_cli

from syncer.core.model import Action, Op, Result, Scope, SecretValue
from syncer.execution.connect import Settings, connect
from syncer.execution.engine import StreamBroken
from syncer.fakehub import FakeHub, Faults, Limits
from syncer.github import errors

VALUE = b"streaming-canary-4242"
LISTING = "/orgs/{org}/repos"


def test_set_writes_while_the_listing_still_arrives(monkeypatch) -> None:
    """500 repositories are 5 pages: the first PUT reaches GitHub before the last page is asked
    for (30 ms a request: the first PUT goes at ~60 ms, the last page at ~120 ms)."""
    hub = org_hub(500, faults=Faults(latency_ms=30))
    arrivals: list[tuple[str, str]] = []
    hub.on_request = lambda method, template, _n: arrivals.append((method, template))
    with hub.serve_in_thread() as url:
        code = run_cli(["set", "S", "--org", "acme", "--value-from", "env:V",
                        "--concurrency", "32", "--points-per-minute", "0"],
                       github_env(url, V=VALUE.decode()),
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
    """The listing breaks after 10 repositories: those 10 are written, then StreamBroken
    carries its error and the outcomes (the caller summarises them; the journal resumes)."""
    hub = org_hub(20)

    async def listing_that_breaks() -> AsyncIterator[Action]:
        for i in range(1, 11):
            yield Action(Op.PUT, Scope.of_repo("acme", f"repo-{i:04d}"), "S")
        raise errors.TransportError("GET /orgs/acme/repos?page=2: ServerDisconnectedError")

    async with hub.serve() as url, connect(Settings(api_url=url, points_per_minute=0),
                                           TOKEN) as run:
        with pytest.raises(StreamBroken, match="page=2") as broken:
            await run.engine().run(listing_that_breaks(), lambda _: SecretValue(VALUE))
    assert isinstance(broken.value.error, errors.TransportError)
    assert sorted(str(o.action.scope) for o in broken.value.outcomes
                  if o.result is Result.CREATED) == [f"acme/repo-{i:04d}" for i in range(1, 11)]
    assert hub.count("PUT") == 10


def _set(url: str, monkeypatch, *extra: str) -> int:
    return run_cli(["set", "S", "--org", "acme", "--value-from", "env:V", "--points-per-minute",
                    "0", *extra], github_env(url, V=VALUE.decode()), monkeypatch)


def _written(hub: FakeHub, n: int) -> int:
    return sum(hub.plaintext("S", repo=f"acme/repo-{i:04d}") == VALUE for i in range(1, n + 1))


def test_budget_spent_during_the_listing_stops_cleanly_and_the_rerun_finishes(
        monkeypatch, capsys) -> None:
    """--no-wait, and the hourly budget runs out while pages are still to come: exit 1 with a
    summary and a warning that the listing was not finished (no traceback); the journal stays
    resumable, so once the budget is back the same command writes only the rest."""
    hub = org_hub(500, faults=Faults(latency_ms=20),
                  limits=Limits(primary_limit=5000, primary_remaining=6))
    with hub.serve_in_thread() as url:
        assert _set(url, monkeypatch, "--no-wait", "--concurrency", "2") == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err
        assert "listing_not_finished" in err and '"event": "summary"' in err
        first = hub.count("PUT")
        assert 0 < first < 500

        hub.limits = Limits.off()  # the budget is back (and no limit slows the 500 writes)
        assert _set(url, monkeypatch, "--concurrency", "16") == 0
    assert '"event": "resume"' in capsys.readouterr().err
    assert hub.count("PUT") == 500  # none written twice
    assert _written(hub, 500) == 500


def test_a_token_rejected_on_a_listing_page_stops_the_run(monkeypatch, capsys) -> None:
    """The token is revoked as page 2 is asked for: exit 3, "token rejected", as on a write,
    and no more than the writes already under way reach GitHub afterwards."""
    hub = org_hub(300, faults=Faults(latency_ms=10))

    def revoke_at_page_two(method: str, template: str, count: int) -> None:
        if template == LISTING and count == 2:
            hub.revoke_token(TOKEN)

    hub.on_request = revoke_at_page_two
    with hub.serve_in_thread() as url:
        assert _set(url, monkeypatch, "--concurrency", "4") == 3
    assert "token rejected" in capsys.readouterr().err
    assert hub.count("PUT") <= 100


def test_resuming_never_skips_a_target_another_value_was_written_to_since(monkeypatch) -> None:
    """v1 stops on a spent budget; v2 is then written everywhere; v1 run again resumes its
    stopped run, but rewrites the targets it had done, which hold v2 now: all end with v1."""
    hub = org_hub(300, limits=Limits(primary_limit=5000, primary_remaining=40))

    def set_value(url: str, value: str, *extra: str) -> int:
        return run_cli(["set", "S", "--org", "acme", "--value-from", "env:V",
                        "--points-per-minute", "0", *extra],
                       github_env(url, V=value), monkeypatch)

    with hub.serve_in_thread() as url:
        assert set_value(url, "value-one-1111", "--no-wait") == 1
        stopped_after = hub.count("PUT")
        assert 0 < stopped_after < 300
        hub.limits = Limits.off()  # the budget is back (and no limit slows the 600 writes)
        assert set_value(url, "value-two-2222") == 0
        assert set_value(url, "value-one-1111") == 0
    assert hub.count("PUT") == stopped_after + 300 + 300
    assert all(hub.plaintext("S", repo=f"acme/repo-{i:04d}") == b"value-one-1111"
               for i in range(1, 301))
