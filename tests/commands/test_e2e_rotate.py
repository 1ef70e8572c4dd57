"""`syncer rotate` end to end: a new value lands exactly where the secret lives."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from helpers import TOKEN, github_env, org_hub, run_cli

from syncer.fakehub import FakeHub, Limits
from syncer.fakehub.rules import ApiError

OLD, NEW = b"old-credential-1", "new-canary-credential-2"


@pytest.fixture
def hub() -> FakeHub:
    """500 repos; LEAKED as a selected org secret (40 repos), in 120 repos, in 30 envs."""
    hub = org_hub(500, environments=("production", "staging"))
    hub.set_secret("LEAKED", OLD, org="acme", visibility="selected",
                   selected=[f"repo-{i:04d}" for i in range(1, 41)])
    for i in range(1, 121):
        hub.set_secret("LEAKED", OLD, repo=f"acme/repo-{i * 4:04d}")
    for i in range(1, 31):
        hub.set_secret("LEAKED", OLD, repo=f"acme/repo-{i * 3:04d}", env="production")
    hub.set_secret("OTHER", OLD, repo="acme/repo-0001")
    return hub


def rotate(url: str, monkeypatch, *args: str) -> int:
    env = github_env(url, NEW=NEW)
    return run_cli(["rotate", "leaked", "--org", "acme", "--points-per-minute", "0",
                    "--concurrency", "32", "--quiet", *args], env, monkeypatch)


def test_rotate_writes_exactly_where_it_lives(hub, url, monkeypatch, capsys) -> None:
    """151 places (org + 120 repos + 30 envs) get the new value; selection is kept; no other
    repository or environment gets a write; shadowing is warned about."""
    before = hub.secret("LEAKED", org="acme")
    assert rotate(url, monkeypatch, "--value-from", "env:NEW") == 0
    assert hub.count("PUT") == 151
    after = hub.secret("LEAKED", org="acme")
    assert after["visibility"] == "selected"
    assert sorted(after["selected_repository_ids"]) == sorted(before["selected_repository_ids"])
    assert hub.plaintext("LEAKED", org="acme") == NEW.encode()
    for i in range(1, 501):
        repo = f"acme/repo-{i:04d}"
        expected = NEW.encode() if i % 4 == 0 and i <= 480 else None
        assert hub.plaintext("LEAKED", repo=repo) == expected
        env_expected = NEW.encode() if i % 3 == 0 and i <= 90 else None
        assert hub.plaintext("LEAKED", repo=repo, env="production") == env_expected
        assert hub.plaintext("LEAKED", repo=repo, env="staging") is None
    out, err = capsys.readouterr()
    assert out.count("updated  LEAKED in ") == 151
    # the proof says who may read the org secret now
    assert "updated  LEAKED in acme (org secret, visibility selected (40 repositories))\n" in out
    # only where the (selected) org secret is visible: repos 1-40 with a repo or env secret
    assert "warning: 23 repository/environment secrets named LEAKED shadow the org secret" in err
    assert NEW not in out + err


def test_shadowing_is_warned_about_once(hub, url, monkeypatch, capsys) -> None:
    """At the warning level a terminal shows, shadowing is one line, not one more per place."""
    assert rotate(url, monkeypatch, "--value-from", "env:NEW", "--log-level", "warning") == 0
    err = capsys.readouterr().err
    assert err.count("shadow") == 1


def test_a_dry_run_needs_no_value(hub, url, monkeypatch, capsys) -> None:
    """rotate --dry-run lists the places without --value-from or --generate; a real run
    without either is refused before any request."""
    assert rotate(url, monkeypatch, "--dry-run") == 0
    assert capsys.readouterr().out.count("would rotate") == 151
    assert rotate(url, monkeypatch) == 2
    assert "--value-from SOURCE or --generate N is required" in capsys.readouterr().err


def test_dry_run_lists_places_and_writes_nothing(hub, url, monkeypatch, capsys) -> None:
    """--dry-run lists every place and sends no write."""
    assert rotate(url, monkeypatch, "--value-from", "env:NEW", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "would rotate LEAKED in acme (org secret, visibility selected (40 repositories))" in out
    assert out.count("would rotate") == 151
    assert hub.count("PUT") == 0


def test_generate_saves_value_before_pushing(hub, url, monkeypatch, tmp_path, capsys) -> None:
    """--generate writes the new value to --output (0600) and that value is what GitHub holds."""
    output = tmp_path / "new-value"
    assert rotate(url, monkeypatch, "--generate", "32", "--output", str(output), "--repos",
                  "repo-000*", "--with-org-secret") == 0
    saved = output.read_bytes()
    assert len(saved) >= 32 and stat.S_IMODE(os.stat(output).st_mode) == 0o600
    assert hub.plaintext("LEAKED", repo="acme/repo-0004") == saved
    assert hub.plaintext("LEAKED", org="acme") == saved
    out, err = capsys.readouterr()
    assert saved.decode() not in out + err
    assert f"saved the new value to {output} (mode 0600) before writing it" in err


def test_a_run_that_writes_nothing_leaves_no_generated_value(hub, url, monkeypatch, tmp_path,
                                                              capsys) -> None:
    """The value is saved just before the first write: a name found nowhere (exit 1) or an org
    that does not exist (exit 2) leaves no --output file to refuse the corrected command."""
    output = tmp_path / "new-value"
    env = {"GITHUB_API_URL": url, "GITHUB_TOKEN": TOKEN}
    for org, name, code in (("acme", "NO_SUCH_SECRET", 1), ("acmee", "LEAKED", 2)):
        assert run_cli(["rotate", name, "--org", org, "--generate", "32", "--output",
                        str(output), "--points-per-minute", "0"], env, monkeypatch) == code
        assert not output.exists()
    assert rotate(url, monkeypatch, "--generate", "32", "--output", str(output)) == 0
    assert hub.plaintext("LEAKED", org="acme") == output.read_bytes()


@pytest.mark.parametrize("make_path", [
    lambda tmp: "-",                                # not standard output: never printed
    lambda tmp: tmp / "missing-dir" / "v",          # cannot be created
    lambda tmp: (tmp / "exists").write_text("x") and tmp / "exists",  # refuses to overwrite
])
def test_unwritable_output_pushes_nothing(hub, url, monkeypatch, tmp_path, capsys, make_path) -> None:
    """If the new value cannot be saved, nothing is sent to GitHub at all; exit 2."""
    path: Path = make_path(tmp_path)
    assert rotate(url, monkeypatch, "--generate", "32", "--output", str(path)) == 2
    assert hub.count() == 0
    assert "--output" in capsys.readouterr().err


def test_generate_without_output_is_refused(hub, url, monkeypatch, capsys) -> None:
    """A generated value with nowhere to keep it is refused before anything happens."""
    assert rotate(url, monkeypatch, "--generate", "32") == 2
    assert hub.count() == 0


def test_unknown_name_exits_1(hub, url, monkeypatch, capsys) -> None:
    """A name that lives nowhere is reported; nothing written."""
    env = {"GITHUB_API_URL": url, "GITHUB_TOKEN": TOKEN, "NEW": NEW}
    code = run_cli(["rotate", "NOPE", "--org", "acme", "--value-from", "env:NEW",
                    "--points-per-minute", "0", "--repos", "repo-000*"], env, monkeypatch)
    assert code == 1
    assert ("NOPE was not found in acme (org, repositories or environments; actions, "
            "dependabot, codespaces, agents secrets)") in \
        capsys.readouterr().err
    assert run_cli(["rotate", "LEAKED", "--org", "acme", "--value-from", "env:NEW", "--app",
                    "dependabot", "--points-per-minute", "0"], env, monkeypatch) == 1
    assert "LEAKED was not found in acme (Dependabot: org or repositories)" in \
        capsys.readouterr().err
    assert hub.count("PUT") == 0


def test_generated_value_source_needs_output(hub, url, monkeypatch, capsys) -> None:
    """--value-from generate:N is refused: a rotated value must be kept somewhere first."""
    assert rotate(url, monkeypatch, "--value-from", "generate:32") == 2
    assert "--generate N --output PATH" in capsys.readouterr().err
    assert hub.count() == 0


def test_a_budget_spent_while_looking_stops_cleanly_with_no_wait(hub, url, monkeypatch,
                                                                  capsys) -> None:
    """--no-wait, and the hourly budget runs out while rotate is still finding where the secret
    lives: one line saying so, exit 1, nothing written (no traceback)."""
    from syncer.fakehub import Limits

    hub.limits = Limits(primary_limit=5000, primary_remaining=30)
    code = rotate(url, monkeypatch, "--value-from", "env:NEW", "--no-wait")
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" not in err and "ExceptionGroup" not in err
    assert "rate limit budget spent until" in err and "before any secret was written" in err
    assert hub.count("PUT") == 0


def test_a_token_rejected_while_looking_exits_3(hub, url, monkeypatch, capsys) -> None:
    """The token is revoked while rotate reads the repositories' secrets: exit 3, no traceback."""
    def revoke_after_20_listings(method: str, template: str, count: int) -> None:
        if template.endswith("/actions/secrets") and count == 20:
            hub.revoke_token(TOKEN)

    hub.on_request = revoke_after_20_listings
    code = rotate(url, monkeypatch, "--value-from", "env:NEW")
    err = capsys.readouterr().err
    assert code == 3
    assert "token rejected" in err and "Traceback" not in err
    assert hub.count("PUT") == 0


def test_most_telling_error_prefers_a_real_error_to_a_cancellation() -> None:
    """A group from parallel discovery: a rejected token first, else an Exception before the
    cancellations it caused."""
    import asyncio

    from syncer.execution.discover import _most_telling
    from syncer.github import errors

    failure = RuntimeError("boom")
    rejected = errors.AuthFailed(401, "Bad credentials")
    assert _most_telling(BaseExceptionGroup("g", [asyncio.CancelledError(), failure])) is failure
    nested = BaseExceptionGroup("g", [failure, ExceptionGroup("inner", [rejected])])
    assert _most_telling(nested) is rejected


def test_repos_narrows_the_rotation_to_those_repositories(hub, url, monkeypatch, capsys) -> None:
    """--repos rotates the repository and environment secrets of those repositories only; the
    org secret, which other repositories read, is left as is (with a warning) unless
    --with-org-secret."""
    assert rotate(url, monkeypatch, "--value-from", "env:NEW", "--repos", "repo-000*") == 0
    assert hub.plaintext("LEAKED", org="acme") == OLD
    assert hub.plaintext("LEAKED", repo="acme/repo-0008") == NEW.encode()
    assert hub.plaintext("LEAKED", repo="acme/repo-0012") == OLD
    assert "the org secret LEAKED was left as is" in capsys.readouterr().err
    assert rotate(url, monkeypatch, "--value-from", "env:NEW", "--repos", "repo-000*",
                  "--with-org-secret") == 0
    assert hub.plaintext("LEAKED", org="acme") == NEW.encode()
    capsys.readouterr()
    assert rotate(url, monkeypatch, "--value-from", "env:NEW", "--repos", "repo-0001") == 1
    assert "not found in the repositories --repos selects" in capsys.readouterr().err
    assert rotate(url, monkeypatch, "--value-from", "env:NEW", "--with-org-secret") == 2


def test_proof_lines_name_what_a_stop_left_unwritten() -> None:
    """A place a stop kept back reads 'not written NAME in SCOPE: why', like the summary."""
    from syncer.commands.rotate import _proof_line
    from syncer.core.model import Action, Op, Outcome, Result, Scope, Stop, StopReason

    action = Action(Op.PUT, Scope.of_repo("acme", "api"), "LEAKED")
    assert _proof_line("LEAKED", Outcome(action, Result.SKIPPED,
                                         stopped_by=StopReason(Stop.INTERRUPTED))) == \
        "not written LEAKED in acme/api: interrupted"
    assert _proof_line("LEAKED", Outcome(action, Result.UPDATED, 204)) == \
        "updated  LEAKED in acme/api"


def test_a_repos_pattern_that_matches_nothing_stops_the_rotation_before_it_starts(
        hub, url, monkeypatch, capsys) -> None:
    """`--repos repo-0004 --repos repo-9999`: a typo would leave the old value where it was
    meant to go, so nothing is written and the pattern is named (exit 2)."""
    assert rotate(url, monkeypatch, "--value-from", "env:NEW", "--repos", "repo-0004",
                  "--repos", "repo-9999") == 2
    assert "no repository of acme matches --repos 'repo-9999'; nothing was written" in \
        capsys.readouterr().err
    assert hub.plaintext("LEAKED", repo="acme/repo-0004") == OLD
    assert rotate(url, monkeypatch, "--value-from", "env:NEW", "--repos", "acme/repo-0004") == 2
    assert "(--repos takes repository names without the owner: repo, not org/repo)" in \
        capsys.readouterr().err


def test_a_repository_github_will_not_show_is_named_on_stderr_and_in_the_summary(
        monkeypatch, capsys) -> None:
    """One repository's secrets listing answers 403: the rest is rotated, the place is listed
    as unread, and stderr and the summary event (what a CI log keeps) say so too; exit 1."""
    hub = FakeHub(tokens=(TOKEN,))
    hub.add_repos("acme", 3)
    for i in (1, 2, 3):
        hub.set_secret("LEAKED", OLD, repo=f"acme/repo-{i:04d}")

    def refuse_the_second_listing(method: str, template: str, so_far: int) -> None:
        if template == "/repos/{owner}/{repo}/actions/secrets" and so_far == 2:
            raise ApiError(403, "Resource not accessible by integration")

    hub.on_request = refuse_the_second_listing
    with hub.serve_in_thread() as url:
        assert rotate(url, monkeypatch, "--value-from", "env:NEW", "--log-format", "json") == 1
    out, err = capsys.readouterr()
    assert sum(line.startswith("unread   acme/repo-") for line in out.splitlines()) == 1
    assert sum(line.startswith("updated  LEAKED in acme/repo-") for line in out.splitlines()) == 2
    summary = next(json.loads(line) for line in err.splitlines()
                   if line.startswith("{") and json.loads(line)["event"] == "summary")
    assert summary["unread"] == 1
    assert err.strip().splitlines()[-1] == (
        "unread 1: repositories GitHub would not show (listed above, with why); LEAKED may "
        "live there too, with its old value")


@pytest.mark.parametrize("command", ["rotate", "set"])
def test_a_run_on_a_state_another_run_holds_stops_before_its_first_request(
        hub, url, monkeypatch, tmp_path, capsys, command) -> None:
    """A second run on the same state file is told at once (exit 4), before reading the org
    (which spent the shared rate budget for nothing) and before running its value command
    (which may mint a credential)."""
    from syncer.store.state import State

    path = tmp_path / "state.json"
    ran = tmp_path / "ran"
    hub.reset_counters()
    with State.open(path).lock():
        code = run_cli([command, "LEAKED", "--org", "acme", "--value-from",
                        f"cmd:sh -c 'touch {ran}; echo minted'", "--state", str(path),
                        "--quiet"], {"GITHUB_API_URL": url, "GITHUB_TOKEN": TOKEN}, monkeypatch)
    assert code == 4
    assert "lock" in capsys.readouterr().err
    assert hub.count() == 0 and not ran.exists()


@pytest.mark.parametrize("command", ["rotate", "set"])
def test_a_dry_run_reads_no_value(hub, url, monkeypatch, tmp_path, capsys, command) -> None:
    """--dry-run lists places only: a cmd: source (which may mint a credential) is not run, and
    --generate makes nothing."""
    ran = tmp_path / "ran"
    code = run_cli([command, "LEAKED", "--org", "acme", "--repos", "repo-000*", "--dry-run",
                    "--value-from", f"cmd:sh -c 'touch {ran}; echo minted'"],
                   {"GITHUB_API_URL": url, "GITHUB_TOKEN": TOKEN}, monkeypatch)
    assert code == 0 and not ran.exists()
    assert "would " in capsys.readouterr().out
    if command == "rotate":
        output = tmp_path / "new-value"
        assert rotate(url, monkeypatch, "--generate", "32", "--output", str(output),
                      "--dry-run") == 0
        assert not output.exists()


def test_rotate_finds_the_name_in_every_kind_of_secret(monkeypatch, capsys) -> None:
    """The name as an Actions org secret, repository secrets, a Dependabot org secret and an
    agent repository secret: `rotate NAME` (no --app) rewrites all of them and lists each,
    naming its app."""
    hub = FakeHub(tokens=(TOKEN,), limits=Limits.off())  # about where, not pacing
    hub.add_repos("acme", 3, environments=())
    hub.set_secret("SPREAD", OLD, org="acme", visibility="all")
    hub.set_secret("SPREAD", OLD, repo="acme/repo-0001")
    hub.set_secret("SPREAD", OLD, repo="acme/repo-0002")
    hub.set_secret("SPREAD", OLD, org="acme", app="dependabot", visibility="private")
    hub.set_secret("SPREAD", OLD, repo="acme/repo-0003", app="agents")
    with hub.serve_in_thread() as url:
        code = run_cli(["rotate", "spread", "--org", "acme", "--value-from", "env:NEW",
                        "--quiet"], {"GITHUB_API_URL": url, "GITHUB_TOKEN": TOKEN, "NEW": NEW},
                       monkeypatch)
    assert code == 0
    places: list[dict[str, str]] = [
        {"org": "acme"}, {"repo": "acme/repo-0001"}, {"repo": "acme/repo-0002"},
        {"org": "acme", "app": "dependabot"}, {"repo": "acme/repo-0003", "app": "agents"}]
    for where in places:
        assert hub.plaintext("SPREAD", **where) == NEW.encode(), where
    out = capsys.readouterr().out
    assert out.count("updated  SPREAD in ") == 5
    assert "updated  SPREAD in acme (dependabot) (org secret" in out
    assert "updated  SPREAD in acme/repo-0003 (agents)" in out
