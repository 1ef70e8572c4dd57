"""`syncer set` end to end: the CLI against fakehub over loopback TCP."""

from __future__ import annotations

import pytest
from helpers import TOKEN, fakehub_process, github_env, org_hub, run_cli, syncer_process
from openapi_check import validate_exchanges

from syncer.fakehub import FakeHub, Limits

VALUE = "canary-value-9b1e4c7f"


@pytest.fixture
def hub() -> FakeHub:
    hub = org_hub(30, record=True)
    hub.add_repo("acme", "old-thing", archived=True)
    return hub


def env_for(url: str) -> dict[str, str]:
    return github_env(url, SECRET_SRC=VALUE)


def test_set_writes_every_repo_once_with_one_key_get_each(hub, url, monkeypatch, capsys) -> None:
    """One key GET and one PUT per repository; archived repos skipped; every value decrypts."""
    code = run_cli(["set", "deploy_key", "--org", "acme", "--value-from", "env:SECRET_SRC"],
                   env_for(url), monkeypatch)
    assert code == 0
    repos = [f"acme/repo-{i:04d}" for i in range(1, 31)]
    assert all(hub.plaintext("DEPLOY_KEY", repo=r) == VALUE.encode() for r in repos)
    assert hub.plaintext("DEPLOY_KEY", repo="acme/old-thing") is None
    assert hub.count("GET", "/repos/{owner}/{repo}/actions/secrets/public-key") == 30
    assert hub.count("PUT", "/repos/{owner}/{repo}/actions/secrets/{secret_name}") == 30
    out, err = capsys.readouterr()
    assert VALUE not in out + err and TOKEN not in out + err
    assert "created 30" in err


def test_every_exchange_matches_githubs_openapi(hub, url, monkeypatch) -> None:
    """syncer's requests and fakehub's answers in a run validate against the OpenAPI description."""
    for args in (["--repos", "repo-000*"], ["--env", "production", "--repos", "repo-001*"],
                 ["--org-level", "--visibility", "selected", "--repos", "repo-002*"]):
        assert run_cli(["set", "X", "--org", "acme", "--value-from", "env:SECRET_SRC", *args],
                       env_for(url), monkeypatch) == 0
    assert len(hub.exchanges) > 40
    assert validate_exchanges(hub.exchanges) == []


def test_env_and_org_level(hub, url, monkeypatch) -> None:
    """--env writes each matched repo's environment; --org-level one org secret with selection."""
    assert run_cli(["set", "E", "--org", "acme", "--value-from", "env:SECRET_SRC", "--env",
                    "production", "--repos", "repo-000[1-3]"], env_for(url), monkeypatch) == 0
    assert hub.plaintext("E", repo="acme/repo-0002", env="production") == VALUE.encode()
    assert hub.plaintext("E", repo="acme/repo-0004", env="production") is None
    assert run_cli(["set", "O", "--org", "acme", "--value-from", "env:SECRET_SRC", "--org-level",
                    "--visibility", "selected", "--repos", "repo-001*"], env_for(url),
                   monkeypatch) == 0
    secret = hub.secret("O", org="acme")
    assert secret is not None and secret["visibility"] == "selected"
    assert sorted(secret["selected_repository_ids"]) == sorted(
        hub.repo_id(f"acme/repo-{i:04d}") for i in range(10, 20))
    assert hub.plaintext("O", org="acme") == VALUE.encode()


def test_org_level_without_visibility_keeps_who_can_read_the_secret(hub, url,
                                                                     monkeypatch) -> None:
    """A new value for an org secret must not widen its access: without --visibility the
    secret keeps its visibility and selected repositories; a new one is private; --repos
    without --visibility selected is refused before any request."""
    chosen = [f"acme/repo-{i:04d}" for i in range(1, 21)]
    hub.set_secret("SEL", b"old", org="acme", selected=[hub.repo_id(r) for r in chosen])
    assert run_cli(["set", "SEL", "--org", "acme", "--value-from", "env:SECRET_SRC",
                    "--org-level"], env_for(url), monkeypatch) == 0
    secret = hub.secret("SEL", org="acme")
    assert secret is not None and secret["visibility"] == "selected"
    assert sorted(secret["selected_repository_ids"]) == sorted(hub.repo_id(r) for r in chosen)
    assert hub.plaintext("SEL", org="acme") == VALUE.encode()
    assert run_cli(["set", "NEW", "--org", "acme", "--value-from", "env:SECRET_SRC",
                    "--org-level"], env_for(url), monkeypatch) == 0
    assert hub.secret("NEW", org="acme")["visibility"] == "private"  # type: ignore[index]
    puts = hub.count("PUT", "/orgs/{org}/actions/secrets/{secret_name}")
    assert run_cli(["set", "SEL", "--org", "acme", "--value-from", "env:SECRET_SRC",
                    "--org-level", "--repos", "repo-0001"], env_for(url), monkeypatch) == 2
    assert hub.count("PUT", "/orgs/{org}/actions/secrets/{secret_name}") == puts


def test_missing_environment_fails_alone(hub, url, monkeypatch, capsys) -> None:
    """A repo without the environment fails with a clear reason; the others succeed; exit 1."""
    hub.add_repo("acme", "no-envs", environments=())
    code = run_cli(["set", "E", "--org", "acme", "--value-from", "env:SECRET_SRC", "--env",
                    "production"], env_for(url), monkeypatch)
    assert code == 1
    assert hub.plaintext("E", repo="acme/repo-0030", env="production") == VALUE.encode()
    err = capsys.readouterr().err
    assert "environment 'production' not found in acme/no-envs" in err


def test_dry_run_writes_nothing(hub, url, monkeypatch, capsys) -> None:
    """--dry-run lists the targets and sends no write."""
    code = run_cli(["set", "X", "--org", "acme", "--value-from", "env:SECRET_SRC", "--dry-run"],
                   env_for(url), monkeypatch)
    assert code == 0
    assert hub.count("PUT") == 0 and hub.count("DELETE") == 0
    assert capsys.readouterr().out.count("would create X in acme/repo-") == 30


@pytest.mark.parametrize("args,message", [
    (["GITHUB_X", "--value-from", "env:SECRET_SRC"], "must not start with GITHUB_"),
    (["1ABC", "--value-from", "env:SECRET_SRC"], "must not start with a digit"),
    (["A-B", "--value-from", "env:SECRET_SRC"], "letters, digits and underscores"),
    (["hunter2!", "--value-from", "env:SECRET_SRC"], "in case it is a value"),
    (["OK", "--value-from", "env:EMPTY"], "secret value is empty"),
    (["OK", "--value-from", "env:HUGE"], "GitHub allows at most 49152"),
    # sources with no end are read no further than a value could go
    (["OK", "--value-from", "file:/dev/zero"], "over 49152 bytes; GitHub allows at most 49152"),
    (["OK", "--value-from", "cmd:yes"], "over 49152 bytes; GitHub allows at most 49152"),
    (["OK", "--value-from", "env:NOPE"], "no such environment variable"),
    (["OK", "--value-from", "file:/nonexistent/v"], "No such file"),
])
def test_bad_input_exit_2_before_any_request(hub, url, monkeypatch, capsys, args, message) -> None:
    """Bad names and values get one clear line and exit 2; fakehub sees no request at all."""
    env = {**env_for(url), "EMPTY": "", "HUGE": "x" * 50_000}
    code = run_cli(["set", *args, "--org", "acme"], env, monkeypatch)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("syncer: error:") and message in err[0]
    assert args[0] not in err[0]  # an invalid name may be a value typed in its place
    assert hub.count() == 0


def test_a_repos_pattern_that_matches_nothing_is_not_passed_over(hub, url, monkeypatch,
                                                                  capsys) -> None:
    """One of several --repos names matches no repository (a typo): the others are written and
    the run ends with exit 1 naming it; for an org secret's selection, which it would narrow,
    nothing is written (exit 2)."""
    code = run_cli(["set", "S", "--org", "acme", "--value-from", "env:SECRET_SRC", "--repos",
                    "repo-0001", "--repos", "repo-0099"], env_for(url), monkeypatch)
    assert code == 1
    assert hub.plaintext("S", repo="acme/repo-0001") == VALUE.encode()
    assert "no repository of acme matches --repos 'repo-0099'" in capsys.readouterr().err
    dry = run_cli(["set", "S", "--org", "acme", "--value-from", "env:SECRET_SRC", "--repos",
                   "repo-0001", "--repos", "repo-0099", "--dry-run"], env_for(url), monkeypatch)
    assert dry == 1  # as the run it previews
    out, err = capsys.readouterr()
    assert out == "would update S in acme/repo-0001\n"
    assert "no repository of acme matches --repos 'repo-0099'" in err
    code = run_cli(["set", "O", "--org", "acme", "--value-from", "env:SECRET_SRC", "--org-level",
                    "--visibility", "selected", "--repos", "repo-0001", "--repos", "rpeo-*"],
                   env_for(url), monkeypatch)
    assert code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "syncer: error: no repository of acme matches --repos 'rpeo-*'; nothing was written")
    assert hub.secret("O", org="acme") is None


def test_unknown_org(hub, url, monkeypatch, capsys) -> None:
    """An org GitHub answers 404 for is named with the likely causes; exit 2, nothing written."""
    code = run_cli(["set", "OK", "--org", "nope", "--value-from", "env:SECRET_SRC"],
                   env_for(url), monkeypatch)
    assert code == 2
    assert "organization nope not found or token lacks access" in capsys.readouterr().err
    assert hub.count("PUT") == 0


def test_no_token_is_an_auth_error(hub, url, monkeypatch, capsys) -> None:
    """Without GITHUB_TOKEN or GH_TOKEN: exit 3, naming both variables."""
    code = run_cli(["set", "OK", "--org", "acme", "--value-from", "env:SECRET_SRC"],
                   {"GITHUB_API_URL": url, "SECRET_SRC": VALUE}, monkeypatch)
    assert code == 3
    err = capsys.readouterr().err
    assert "GITHUB_TOKEN" in err and "GH_TOKEN" in err


def test_stdin_value_as_a_real_process(hub, url) -> None:
    """`--value-from -` reads the value piped into a real syncer process; logs are JSON lines."""
    done = syncer_process(["set", "PIPED", "--org", "acme", "--value-from", "-", "--repos",
                           "repo-0001"], {"GITHUB_API_URL": url, "GITHUB_TOKEN": TOKEN},
                          stdin=b"piped-canary-77")
    assert done.returncode == 0, done.stderr
    assert hub.plaintext("PIPED", repo="acme/repo-0001") == b"piped-canary-77"
    assert b"piped-canary-77" not in done.stdout + done.stderr
    assert b'"event": "write"' in done.stderr and b'"event": "summary"' in done.stderr


@pytest.mark.slow
def test_500_repos_against_a_running_syncer_fakehub() -> None:
    """`syncer set` against `syncer fakehub --repos 500` in their own processes: all 500 written,
    exactly one public-key GET and one PUT per repository."""
    # limits off: 500 writes at full speed; pacing has tests of its own
    with fakehub_process("--plain-names", "--org", "acme", "--repos", "500", "--envs", "production,staging",
                         "--no-limits") as fh:
        done = syncer_process(
            ["set", "BULK", "--org", "acme", "--value-from", "env:V", "--concurrency", "32",
             "--points-per-minute", "0"],
            {"GITHUB_API_URL": fh.url, "GITHUB_TOKEN": fh.token, "V": VALUE})
        assert done.returncode == 0, done.stderr[-2000:]
        state = fh.state()
    calls = state["calls"]
    assert calls["GET /repos/{owner}/{repo}/actions/secrets/public-key"] == 500
    assert calls["PUT /repos/{owner}/{repo}/actions/secrets/{secret_name}"] == 500
    import base64
    values = {(s["repo"], s["name"]): base64.b64decode(s["plaintext_b64"])
              for s in state["secrets"]}
    assert len(values) == 500 and set(values.values()) == {VALUE.encode()}


def test_older_server_environment_routes() -> None:
    """Against a server that only serves /repositories/{id}/environments/..., environment
    secrets still land: the first 404 switches to the older form for the rest of the run."""
    # limits off: like the older Enterprise Server it stands for; 20 writes, not pacing
    hub = FakeHub(tokens=(TOKEN,), legacy_env_routes_only=True, limits=Limits.off())
    hub.add_org("acme")
    hub.add_repos("acme", 20, environments=("production",))
    with hub.serve_in_thread() as url:
        done = syncer_process(["set", "E", "--org", "acme", "--env", "production",
                               "--value-from", "env:V", "--points-per-minute", "0"],
                              {"GITHUB_API_URL": url + "/api/v3", "GITHUB_TOKEN": TOKEN,
                               "V": VALUE})
    assert done.returncode == 0, done.stderr[-2000:]
    assert all(hub.plaintext("E", repo=f"acme/repo-{i:04d}", env="production") == VALUE.encode()
               for i in range(1, 21))
    legacy = "/repositories/{repository_id}/environments/{environment_name}/secrets"
    assert hub.count("PUT", legacy + "/{secret_name}") == 20
    # owner/repo attempts that 404 before the choice is made: at most one per concurrent writer
    assert hub.count("GET", "<unmatched>") <= 16


def test_key_cache_skips_key_gets_until_a_key_is_rejected(hub, url, monkeypatch) -> None:
    """--key-cache: a second run sends no public-key GET; a key rotated since is rejected once
    (422), fetched once, and the value lands under the new key."""
    args = ["set", "K", "--org", "acme", "--value-from", "env:SECRET_SRC", "--key-cache",
            "--points-per-minute", "0", "--repos", "repo-000*"]
    key_route = "/repos/{owner}/{repo}/actions/secrets/public-key"
    assert run_cli(args, env_for(url), monkeypatch) == 0
    assert hub.count("GET", key_route) == 9
    new_key = hub.rotate_key(repo="acme/repo-0005")
    hub.reset_counters()
    assert run_cli([*args, "--fresh"], env_for(url), monkeypatch) == 0
    assert hub.count("GET", key_route) == 1
    assert hub.count("PUT", "/repos/{owner}/{repo}/actions/secrets/{secret_name}") == 10
    assert hub.secret("K", repo="acme/repo-0005")["key_id"] == new_key


@pytest.mark.parametrize("args", [["set", "X", "--org", "acme", "--concurrency", "500"],
                                  ["set", "X"], ["rotate", "X", "--org", "a", "--generate", "x"]])
def test_argument_errors_are_one_line_exit_2(args: list[str]) -> None:
    """Argument errors, like every bad input, are one line on stderr and exit 2."""
    done = syncer_process(args, {})
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("syncer ") and "error:" in lines[0]


def test_a_dry_run_needs_no_value_and_says_create_or_update(hub, url, monkeypatch,
                                                            capsys) -> None:
    """--dry-run reads no value, so it asks for none; each line says create or update."""
    hub.set_secret("D", b"old", repo="acme/repo-0002")
    code = run_cli(["set", "D", "--org", "acme", "--dry-run", "--repos", "repo-000[12]"],
                   env_for(url), monkeypatch)
    assert code == 0
    assert capsys.readouterr().out == ("would create D in acme/repo-0001\n"
                                       "would update D in acme/repo-0002\n")


def test_a_dry_run_says_who_may_read_an_org_secret_before_and_after(hub, url, monkeypatch,
                                                                   capsys) -> None:
    """An org secret selected for 3 repositories, previewed with --visibility all: the line
    says both selections and that every repository may read it then."""
    hub.set_secret("W", b"old", org="acme", visibility="selected",
                   selected=["repo-0001", "repo-0002", "repo-0003"])
    code = run_cli(["set", "W", "--org", "acme", "--dry-run", "--org-level", "--visibility",
                    "all"], env_for(url), monkeypatch)
    assert code == 0
    assert capsys.readouterr().out == (
        "would update W in acme (visibility selected (3 repositories) → visibility all: "
        "every repository of the org may read it then)\n")


def test_an_environment_no_repository_has_is_refused_before_writing(hub, url, monkeypatch,
                                                                   capsys) -> None:
    """`--env prod` where the repositories have `production`: exit 2, nothing but the
    listings sent, and the error names `production`."""
    code = run_cli(["set", "E", "--org", "acme", "--value-from", "env:SECRET_SRC", "--env",
                    "prod"], env_for(url), monkeypatch)
    assert code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == ("syncer: error: no selected repository of acme has an environment 'prod'; "
                    "nothing was written; did you mean 'production'?")
    assert hub.count("PUT") == 0
    assert hub.count("GET", "/repos/{owner}/{repo}/actions/secrets/public-key") == 0
    assert hub.count("GET", "/repos/{owner}/{repo}/environments/{environment_name}/secrets/"
                            "public-key") == 0
