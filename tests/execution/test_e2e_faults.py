"""Rate limits, retries and faults end to end: every write finishes, nothing is throttled."""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from collections.abc import Callable

import pytest
from helpers import TOKEN, github_env, org_hub, run_cli

from syncer.core.model import Action, Op, Result, Scope, SecretValue
from syncer.execution import interrupt
from syncer.execution.connect import Settings, connect
from syncer.exits import UsageError
from syncer.fakehub import FakeHub, Faults, Limits
from syncer.github import errors
from syncer.github.client import GitHubClient
from syncer.github.pacing import Pacer
from syncer.github.retry import RetryPolicy
from syncer.migrate.sides import reading as _reading

VALUE = b"fault-canary-31337"


def cli_env(url: str) -> dict[str, str]:
    return github_env(url, V=VALUE.decode())


def set_s(url: str, monkeypatch: pytest.MonkeyPatch, *options: str) -> int:
    """`syncer set S --org acme --value-from env:V` with `options`, against fakehub at `url`."""
    return run_cli(["set", "S", "--org", "acme", "--value-from", "env:V", *options],
                   cli_env(url), monkeypatch)


def ctrl_c_at(number: int, method: str = "PUT",
              template_end: str = "") -> Callable[[str, str, int], None]:
    """A fakehub hook sending this process SIGINT as the `number`th such request arrives."""
    def hook(seen_method: str, template: str, so_far: int) -> None:
        if seen_method == method and template.endswith(template_end) and so_far == number:
            os.kill(os.getpid(), signal.SIGINT)
    return hook


def all_written(hub: FakeHub, n: int, name: str = "S") -> bool:
    return all(hub.plaintext(name, repo=f"acme/repo-{i:04d}") == VALUE for i in range(1, n + 1))


@pytest.mark.slow
def test_5xx_and_dropped_connections_lose_no_write(monkeypatch, capsys) -> None:
    """1,000 repos with 5% random 5xx and 1% dropped connections: all written, exit 0,
    and the summary counts the retries."""
    hub = org_hub(1000, faults=Faults(error_rate=0.05, drop_rate=0.01, seed=7))
    with hub.serve_in_thread() as url:
        code = set_s(url, monkeypatch, "--concurrency", "64", "--points-per-minute", "0")
    assert code == 0
    assert all_written(hub, 1000)
    err = capsys.readouterr().err
    retries = int(err.split(" retries")[0].rsplit(", ", 1)[-1])
    assert retries >= 50  # ~6% of ~2,010 requests failed once
    assert '"event": "retry"' in err


def test_secondary_limit_is_never_hit_when_pacing(monkeypatch) -> None:
    """fakehub enforcing 900 points/min (time-scale 60) and 100 in flight: zero violations."""
    hub = org_hub(300, limits=Limits(points_per_minute=900, max_concurrent=100, time_scale=60))
    with hub.serve_in_thread() as url:
        code = set_s(url, monkeypatch, "--concurrency", "100", "--time-scale", "60")
    assert code == 0 and all_written(hub, 300)
    assert hub.violations == {}


def test_secondary_limit_signalled_is_waited_out(monkeypatch, capsys) -> None:
    """Without pacing, fakehub's 403 secondary limits are honoured (retry-after) and every
    write still lands; the waits are logged and counted."""
    hub = org_hub(100, limits=Limits(points_per_minute=200, time_scale=60))
    with hub.serve_in_thread() as url:
        code = set_s(url, monkeypatch, "--points-per-minute", "0", "--time-scale", "60")
    assert code == 0 and all_written(hub, 100)
    assert hub.violations["secondary_points"] > 0
    err = capsys.readouterr().err
    assert '"event": "rate_limit_wait"' in err and '"reason": "secondary rate limit"' in err


def test_spent_primary_budget_waits_for_reset(monkeypatch, capsys) -> None:
    """A token with 50 requests left: syncer spreads them until the (compressed) reset instead
    of running into the limit, says so, and finishes."""
    hub = org_hub(40, limits=Limits(primary_limit=5000, primary_remaining=50,
                                    primary_reset_seconds=2))
    with hub.serve_in_thread() as url:
        code = set_s(url, monkeypatch, "--points-per-minute", "0")
    assert code == 0 and all_written(hub, 40)
    err = capsys.readouterr().err
    assert '"event": "rate_limit_wait"' in err and "primary budget low (" in err
    assert hub.violations.get("primary", 0) == 0


def test_no_wait_stops_cleanly_and_lists_what_was_not_written(monkeypatch, capsys) -> None:
    """With --no-wait a spent budget stops the run: exit 1, unwritten targets listed."""
    hub = org_hub(40, limits=Limits(primary_limit=5000, primary_remaining=50,
                                    primary_reset_seconds=3600))
    with hub.serve_in_thread() as url:
        code = set_s(url, monkeypatch, "--no-wait", "--points-per-minute", "0")
    assert code == 1
    written = sum(hub.plaintext("S", repo=f"acme/repo-{i:04d}") == VALUE for i in range(1, 41))
    err = capsys.readouterr().err
    assert 0 < written < 40
    assert f"not written {40 - written}" in err
    assert f'"not_written": {40 - written}' in err  # the summary event says the same
    assert "not written: S in acme/repo-" in err and "rate limit budget spent" in err


@pytest.mark.parametrize("command", [
    ["set", "S", "--org", "acme", "--value-from", "env:V"],
    ["migrate", "--from", "acme", "--to", "dst", "--dry-run"],
])
def test_no_wait_with_the_budget_already_spent_says_until_when(command, monkeypatch,
                                                               capsys) -> None:
    """The budget is spent before the first request (an earlier --no-wait run, say): one line
    saying until when, exit 1, nothing written."""
    hub = org_hub(5, limits=Limits(primary_limit=5000, primary_remaining=0,
                                   primary_reset_seconds=3600))
    hub.add_org("dst")
    with hub.serve_in_thread() as url:
        code = run_cli([*command, "--no-wait", "--points-per-minute", "0"], cli_env(url),
                       monkeypatch)
    assert code == 1 and hub.count("PUT") == 0
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.fullmatch(r"syncer: error: rate limit budget spent until \d{4}-\d\d-\d\d "
                        r"\d\d:\d\d:\d\d \S+ before "
                        r"any secret was written; run again after the reset", last)


def test_token_revoked_mid_run_stops_everything(monkeypatch, capsys) -> None:
    """A 401 mid-run stops the whole run at once with 'token rejected' and exit 3: no request
    is sent after the in-flight ones fail."""
    hub = org_hub(300)

    def revoke_after_50_puts(method: str, template: str, count: int) -> None:
        if method == "PUT" and count == 50:
            hub.revoke_token(TOKEN)

    hub.on_request = revoke_after_50_puts
    with hub.serve_in_thread() as url:
        code = set_s(url, monkeypatch, "--concurrency", "16", "--points-per-minute", "0")
    assert code == 3
    assert "token rejected" in capsys.readouterr().err
    # After the revocation only requests already under way (at most the concurrency) arrive.
    assert hub.count() <= 3 + 2 * 50 + 16 * 2


@pytest.mark.anyio
async def test_404_repo_fails_alone() -> None:
    """A repository that vanished fails alone; the rest succeed."""
    hub = org_hub(20)
    async with hub.serve() as url, connect(Settings(api_url=url, points_per_minute=0),
                                           TOKEN) as run:
        scopes = [Scope.of_repo("acme", f"repo-{i:04d}") for i in range(1, 21)]
        scopes.insert(7, Scope.of_repo("acme", "vanished"))
        actions = [Action(Op.PUT, s, "S") for s in scopes]
        outcomes = await run.engine().run(actions, lambda _: SecretValue(VALUE))
    failed = [o for o in outcomes if o.result is Result.FAILED]
    assert [str(o.action.scope) for o in failed] == ["acme/vanished"]
    assert "not found" in (failed[0].error or "")
    assert all_written(hub, 20)


@pytest.mark.anyio
async def test_key_rotated_mid_run_refetched_once() -> None:
    """Keys rotated after syncer fetched them: each affected write re-fetches once and lands
    sealed with the new key; no value is stored under a stale key."""
    hub = org_hub(30)
    async with hub.serve() as url, connect(Settings(api_url=url, points_per_minute=0),
                                           TOKEN) as run:
        scopes = [Scope.of_repo("acme", f"repo-{i:04d}") for i in range(1, 31)]
        for scope in scopes:
            await run.keys.get(scope)
        rotated = {f"acme/repo-{i:04d}": hub.rotate_key(repo=f"acme/repo-{i:04d}")
                   for i in range(1, 11)}
        outcomes = await run.engine().run([Action(Op.PUT, s, "S") for s in scopes],
                                          lambda _: SecretValue(VALUE))
    assert all(o.result is Result.CREATED for o in outcomes)
    assert all_written(hub, 30)
    key_gets = hub.count("GET", "/repos/{owner}/{repo}/actions/secrets/public-key")
    assert key_gets == 30 + 10
    for repo, key_id in rotated.items():
        assert hub.secret("S", repo=repo)["key_id"] == key_id


def test_spent_budget_answered_403_is_waited_out(monkeypatch, capsys) -> None:
    """A budget already at zero (403, x-ratelimit-remaining 0): syncer waits until
    x-ratelimit-reset, logs the wait, and then writes everything."""
    hub = org_hub(10, limits=Limits(primary_limit=5000, primary_remaining=0,
                                    primary_reset_seconds=1))
    with hub.serve_in_thread() as url:
        code = set_s(url, monkeypatch, "--points-per-minute", "0")
    assert code == 0 and all_written(hub, 10)
    assert hub.violations["primary"] >= 1
    assert '"reason": "primary rate limit"' in capsys.readouterr().err


@pytest.mark.anyio
async def test_a_delete_whose_answer_was_lost_is_not_reported_failed() -> None:
    """GitHub deletes the secret but its answer is lost (here a 500 after the fact); the retry
    finds it gone (404). The secret is gone as asked: reported deleted, not failed."""
    hub = org_hub(2)
    for repo in ("acme/repo-0001", "acme/repo-0002"):
        hub.set_secret("OLD", b"x", repo=repo)

    def deleted_then_failed(method: str, template: str, so_far: int) -> None:
        if method == "DELETE" and so_far == 1:
            hub.delete_secret("OLD", repo="acme/repo-0001")
            raise RuntimeError("the answer is lost")  # fakehub answers 500

    hub.on_request = deleted_then_failed
    async with hub.serve() as url, connect(Settings(api_url=url, points_per_minute=0,
                                                    concurrency=1), TOKEN) as run:
        scopes = [Scope.of_repo("acme", "repo-0001"), Scope.of_repo("acme", "repo-0002")]
        outcomes = await run.engine().run([Action(Op.DELETE, s, "OLD") for s in scopes],
                                          lambda _: SecretValue(VALUE))
    assert [(o.result, o.status, o.attempts) for o in outcomes] == [
        (Result.DELETED, 404, 2), (Result.DELETED, 204, 1)]
    assert hub.secret_names(repo="acme/repo-0001") == hub.secret_names(repo="acme/repo-0002") == []


@pytest.mark.anyio
async def test_no_server_is_named_as_a_failed_connection() -> None:
    """Nothing listening: the error says the connection failed and why, in words, not with
    the HTTP library's class name; migrate reports it as GitHub's failure (exit 1), not as a
    usage error (exit 2)."""
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = GitHubClient(f"http://127.0.0.1:{port}", TOKEN, pacer=Pacer(points_per_minute=None),
                          retry=RetryPolicy(attempts=1))
    async with client:
        with pytest.raises(errors.TransportError) as failed:
            await client.request("GET", "/orgs/acme/repos")
    assert str(failed.value) == (f"GET /orgs/acme/repos: could not connect to 127.0.0.1:{port} "
                                 "(Connection refused)")
    with pytest.raises(errors.GitHubError, match="^reading src: GET") as reported, \
            _reading("reading src"):
        raise failed.value
    assert not isinstance(reported.value, UsageError)


def test_writes_cut_off_after_the_grace_are_reported_as_unknown(monkeypatch, capsys) -> None:
    """Ctrl-C while writes are in flight; GitHub answers after the grace period, so they are
    cut off. The message says how many and that they may have landed (they did)."""
    monkeypatch.setattr(interrupt, "GRACE_S", 0.3)
    hub = org_hub(6, faults=Faults(latency_ms=1000))
    hub.on_request = ctrl_c_at(1)
    with hub.serve_in_thread() as url:
        code = set_s(url, monkeypatch, "--concurrency", "2", "--points-per-minute", "0", "--quiet")
    assert code == 130
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    cut = re.fullmatch(r"syncer: interrupted: 0 of 6 done, ([12]) cut off in flight when the "
                       r"grace ran out \(they may have landed\), resume with the same command",
                       last)
    assert cut, last
    # the run still reports: each cut-off write among the failures, with what is known of it,
    # and why the others were not written
    assert re.search(rf"failed {cut.group(1)}, not written {6 - int(cut.group(1))}", err), err
    assert len(re.findall(r"not written: S in acme/repo-\d+: interrupted\n", err)) \
        == 6 - int(cut.group(1)), err
    assert err.count("cut off in flight when the grace ran out: it may have landed") \
        >= int(cut.group(1))


def test_when_the_grace_runs_out_a_listing_page_on_its_way_is_cut_off_too(monkeypatch,
                                                                         capsys) -> None:
    """A write and the org listing's next page both hang (GitHub answers nothing for a
    minute), while the other worker waits for that page: at the grace's end the write and the
    page are both cut off, so the run ends then, saying more were not yet listed, rather than
    when the page would have come."""
    monkeypatch.setattr(interrupt, "GRACE_S", 0.3)
    hub = org_hub(150)
    seen = {"switched": False}

    def hang_from_the_second_page(method: str, template: str, so_far: int) -> None:
        if template == "/orgs/{org}/repos" and so_far == 2:
            hub.faults = Faults(slow_rate=1.0, slow_seconds=60)  # this request on
            seen["switched"] = True
        elif template.endswith("/public-key") and seen["switched"] and not seen.get("signalled"):
            # a write is under way (its key first): the signal gives it the grace
            seen["signalled"] = True
            os.kill(os.getpid(), signal.SIGINT)

    hub.on_request = hang_from_the_second_page
    started = time.monotonic()
    with hub.serve_in_thread() as url:
        # newest first, as GitHub lists: repo-0150 is on the first page, repo-0001 on the next
        code = set_s(url, monkeypatch, "--repos", "repo-0150", "--repos", "repo-0001",
                     "--concurrency", "2", "--points-per-minute", "0", "--timeout", "90",
                     "--quiet")
        elapsed = time.monotonic() - started
        hub.faults = Faults()
    assert code == 130
    assert elapsed < 30, elapsed  # not the minute the page would have taken
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "(more not yet listed)" in last and "cut off in flight" in last, last


def test_a_rotation_cut_off_in_flight_still_prints_its_proof_and_resumes(monkeypatch,
                                                                         capsys) -> None:
    """rotate: the grace runs out on writes GitHub is slow to answer. Every place is still
    printed (those writes as possibly landed), and the same command then finishes the job."""
    monkeypatch.setattr(interrupt, "GRACE_S", 0.3)
    hub = org_hub(3, faults=Faults(latency_ms=1000))
    for i in (1, 2, 3):
        hub.set_secret("S", b"old", repo=f"acme/repo-{i:04d}")

    hub.on_request = ctrl_c_at(1)
    args = ["rotate", "S", "--org", "acme", "--value-from", "env:V", "--concurrency", "3",
            "--points-per-minute", "0", "--quiet"]
    with hub.serve_in_thread() as url:
        assert run_cli(args, cli_env(url), monkeypatch) == 130
        out = capsys.readouterr().out.splitlines()
        assert {line.split(" in ")[1].split(":")[0] for line in out} == {
            f"acme/repo-{i:04d}" for i in (1, 2, 3)}
        assert any(line.startswith("failed   S in acme/repo-") and line.endswith(
            "cut off in flight when the grace ran out: it may have landed") for line in out), out
        hub.on_request = None
        assert run_cli(args, cli_env(url), monkeypatch) == 0
    assert all_written(hub, 3)


def test_ctrl_c_once_every_write_is_under_way_ends_as_a_finished_run(monkeypatch, capsys) -> None:
    """The signal arrives with the last write in flight; it lands within the grace: nothing is
    left to resume, so the run ends as finished (exit 0, its journal closed as finished), not
    'interrupted: 3 of 3 done'."""
    hub = org_hub(3)

    hub.on_request = ctrl_c_at(3)
    args = ["set", "S", "--org", "acme", "--value-from", "env:V", "--concurrency", "1",
            "--points-per-minute", "0", "--quiet"]
    with hub.serve_in_thread() as url:
        code = run_cli(args, cli_env(url), monkeypatch)
        assert "interrupted" not in capsys.readouterr().err
        assert code == 0 and all_written(hub, 3)
        hub.on_request = None
        hub.reset_counters()
        assert run_cli(args, cli_env(url), monkeypatch) == 0
    assert hub.count("PUT") == 3  # a run of its own: the finished one is not resumed


def test_ctrl_c_while_a_resumed_set_checks_earlier_writes_stops_it(monkeypatch, capsys) -> None:
    """A resumed set asks GitHub whether the interrupted run's writes are as it left them; a
    Ctrl-C then stops that checking at once (exit 130), and the next run resumes again."""
    hub = org_hub(20, limits=Limits(primary_limit=5000, primary_remaining=30,
                                    primary_reset_seconds=3600))
    args = ["set", "S", "--org", "acme", "--value-from", "env:V", "--concurrency", "1",
            "--points-per-minute", "0", "--quiet"]
    with hub.serve_in_thread() as url:
        assert run_cli([*args, "--no-wait"], cli_env(url), monkeypatch) == 1  # a partial run
        hub.limits = Limits.off()  # the budget is back (and no limit slows the rest)
        hub.faults = Faults(latency_ms=50)
        written = hub.count("PUT")
        assert written >= 5

        hub.on_request = ctrl_c_at(1, "GET", "/{secret_name}")  # the first check
        hub.reset_counters()
        assert run_cli(args, cli_env(url), monkeypatch) == 130
        checks = hub.count("GET", "/repos/{owner}/{repo}/actions/secrets/{secret_name}")
        assert checks < written  # stopped, not every earlier write checked
        hub.on_request = None
        capsys.readouterr()
        assert run_cli(args, cli_env(url), monkeypatch) == 0
    assert all_written(hub, 20)
    assert '"event": "resume"' in capsys.readouterr().err  # the stopped run was resumed
