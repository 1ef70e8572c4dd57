"""The worst bug we can have: a value or token anywhere it should not be.

Every command runs against fakehub with faults on (5xx, dropped connections, a rotated key),
with a canary value and a canary token; stdout, stderr, every log line, the state file, the
journal, the caches and every report are searched for both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from helpers import config_toml, managed, run_cli, syncer_process

from syncer.fakehub import FakeHub, Faults, Limits
from syncer.github import errors
from syncer.github.client import GitHubClient
from syncer.github.pacing import Pacer

CANARY_VALUE = "CANARY-VALUE-7f3a9c1e5b"
CANARY_TOKEN = "ghp_CANARYTOKEN0123456789abcdef"
CONFIG = config_toml(managed("secret", "CANARY_SECRET", "env:CANARY_SRC", repos=["repo-00*"]))


def everything_written(root: Path) -> str:
    return "".join(p.read_bytes().decode("latin-1") for p in root.rglob("*") if p.is_file())


def test_no_command_leaks_the_value_or_token(tmp_path, monkeypatch, capsys) -> None:
    """set, rotate, plan, apply, audit and migrate, at --log-level debug and with faults on:
    no canary in any output, log, state, journal, cache, plan or template."""
    hub = FakeHub(tokens=(CANARY_TOKEN,),  # limits off: every command over 80 repositories
                  faults=Faults(error_rate=0.1, drop_rate=0.03, seed=3), limits=Limits.off())
    hub.add_org("acme")
    hub.add_repos("acme", 40, environments=("production",))
    hub.add_org("acme-new")
    hub.add_repos("acme-new", 40, environments=("production",))
    state_home = tmp_path / "state-home"
    monkeypatch.setenv("XDG_STATE_HOME", str(state_home))
    config = tmp_path / "syncer.toml"
    config.write_text(CONFIG)
    output = tmp_path / "generated"
    values = tmp_path / "values.env"
    values.write_text(f"CANARY_SECRET={CANARY_VALUE}\n")
    migration_plan = tmp_path / "migration.json"
    with hub.serve_in_thread() as url:
        env = {"GITHUB_API_URL": url, "GITHUB_TOKEN": CANARY_TOKEN, "CANARY_SRC": CANARY_VALUE}
        common = ["--log-level", "debug", "--log-format", "json", "--points-per-minute", "0"]
        hub.rotate_key(repo="acme/repo-0003")
        runs = [
            ["set", "CANARY_SECRET", "--org", "acme", "--value-from", "env:CANARY_SRC", *common],
            ["set", "BAD-NAME", "--org", "acme", "--value-from", "env:CANARY_SRC", *common],
            ["set", "X", "--org", "acme", "--value-from", CANARY_VALUE, *common],
            ["rotate", "CANARY_SECRET", "--org", "acme", "--value-from", "env:CANARY_SRC",
             *common],
            ["plan", "-c", str(config), *common[:-2]],
            ["apply", "-c", str(config), *common[:-2]],
            ["plan", "-c", str(config), "--format", "json", *common[:-2]],
            ["audit", "--org", "acme", "--format", "json", *common],
            ["migrate", "--from", "acme", "--to", "acme-new", "--plan-out",
             str(migration_plan), *common],
            ["migrate", "--from", "acme", "--to", "acme-new", "--values", str(values),
             *common],
        ]
        for args in runs:
            run_cli(args, env, monkeypatch)
        hub.set_secret("GENERATED", b"old", repo="acme/repo-0001")
        assert run_cli(["rotate", "GENERATED", "--org", "acme", "--generate", "32",
                        "--output", str(output), *common], env, monkeypatch) == 0
        hub.revoke_token(CANARY_TOKEN)  # a rejected token must not be echoed either
        run_cli(runs[0], env, monkeypatch)
        assert run_cli(["rotate", "CANARY_SECRET", "--org", "acme", "--value-from",
                        "env:CANARY_SRC", *common], env, monkeypatch) == 3
    generated = output.read_text()
    captured = capsys.readouterr()
    reports = "".join(p.read_text() for p in tmp_path.glob("migration*"))
    text = captured.out + captured.err + everything_written(state_home) + reports
    assert '"event": "write"' in text and '"event": "retry"' in text  # the logs were there
    for canary in (CANARY_VALUE, CANARY_TOKEN, generated):
        assert canary not in text
    assert hub.plaintext("CANARY_SECRET", repo="acme/repo-0003") == CANARY_VALUE.encode()
    assert hub.plaintext("CANARY_SECRET", repo="acme-new/repo-0003") == CANARY_VALUE.encode()


def test_a_value_or_token_typed_where_a_name_belongs_is_not_repeated(tmp_path: Path) -> None:
    """A value typed as an argument, expanded by the shell into env:$VAR, or a token given to
    --token-env: refused with exit 2 before any request, and never echoed into a CI log."""
    config = tmp_path / "syncer.toml"
    config.write_text(CONFIG.replace("env:CANARY_SRC", f"env:{CANARY_VALUE}"))
    env = {"GITHUB_TOKEN": "tok-unused", "V": "v", "GITHUB_API_URL": "http://127.0.0.1:9"}
    mistakes = [
        ["set", "X", CANARY_VALUE, "--org", "acme", "--value-from", "env:V"],
        ["set", "X", "--org", "acme", f"--body={CANARY_VALUE}", "--value-from", "env:V"],
        ["set", "X", "--org", "acme", f"--v={CANARY_VALUE}", "--value-from", "env:V"],
        ["set", "X", "--org", "acme", f"--dry-run={CANARY_VALUE}", "--value-from", "env:V"],
        ["set", "X", f"-{CANARY_VALUE}", "--org", "acme", "--value-from", "env:V"],
        ["set", CANARY_TOKEN, "--org", "acme", "--value-from", "env:V"],
        ["set", "X", "--org", "acme", "--value-from", f"env:{CANARY_VALUE}"],
        ["set", "X", "--org", "acme", "--value-from", f"env:{CANARY_TOKEN}"],
        ["set", "X", "--org", "acme", "--value-from", "env:V", "--token-env", CANARY_TOKEN],
        ["migrate", "--from", "a", "--to", "b", "--to-token-env", CANARY_VALUE],
        ["plan", "-c", str(config)],
    ]
    for args in mistakes:
        done = syncer_process(args, env)
        said = (done.stdout + done.stderr).decode()
        assert done.returncode == 2, (args[:3], said)
        assert CANARY_VALUE not in said and CANARY_TOKEN not in said, said
    # values shaped like names: refused as unset variables, not repeated
    done = syncer_process(["set", "X", "--org", "acme", "--value-from", "env:npm_AbC123xyz"],
                          env)
    assert done.returncode == 2 and b"AbC123xyz" not in done.stdout + done.stderr
    done = syncer_process(["set", "X", "--org", "acme", "--value-from", "env:V",
                           "--token-env", "npm_AbC123xyz"], env)
    assert done.returncode == 3 and b"AbC123xyz" not in done.stdout + done.stderr


@pytest.mark.anyio
async def test_a_next_page_link_to_another_host_is_not_followed_with_the_token() -> None:
    """A Link header naming another host (a proxy's inner name, plain http, a tampered answer)
    would take the token there: the listing stops with an error saying why instead."""
    elsewhere_saw: list[str | None] = []

    async def elsewhere(request: web.Request) -> web.Response:
        elsewhere_saw.append(request.headers.get("Authorization"))
        return web.json_response([])

    async def first_page(request: web.Request) -> web.Response:
        link = f'<{other_url}/orgs/acme/repos?page=2&per_page=100>; rel="next"'
        return web.json_response([{"name": "api"}], headers={"Link": link})

    api = web.Application()
    api.router.add_get("/orgs/acme/repos", first_page)
    other = web.Application()
    other.router.add_get("/orgs/acme/repos", elsewhere)
    async with _serving(api) as api_url, _serving(other, host="127.0.0.2") as other_url:
        async with GitHubClient(api_url, CANARY_TOKEN, pacer=Pacer(points_per_minute=None)) as client:
            seen = []
            with pytest.raises(errors.ForeignLink, match="leaves .* not followed") as raised:
                async for repo in client.paginate("/orgs/acme/repos"):
                    seen.append(repo["name"])
    assert seen == ["api"] and elsewhere_saw == []
    assert CANARY_TOKEN not in str(raised.value)


@asynccontextmanager
async def _serving(app: web.Application, host: str = "127.0.0.1") -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
