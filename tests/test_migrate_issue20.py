"""`syncer migrate` as a new user meets it (issue 20): `--name` filters, output that stays short
on a re-run, one set of counts and durations for text, JSON and the log, Codespaces secrets.

End to end against fakehub over loopback TCP, through migrate's own parser (see
test_migrate_e2e.migrate).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import TOKEN
from test_migrate_e2e import CANARY, migrate

from syncer.exits import UsageError
from syncer.fakehub import FakeHub, Limits
from syncer.observe import logs


@pytest.fixture(autouse=True)
def json_logs() -> None:
    """Logs as cli.py configures them: JSON lines on stderr, so stdout holds only the report."""
    logs.configure("json", "info")


@pytest.fixture
def named() -> FakeHub:
    """src: 3 repositories, each with NPM_TOKEN, NPM_AUTH and DB_PASSWORD; an org NPM_PUBLISH
    and an org Dependabot SENTRY_DSN; dst: the same 3 repositories."""
    hub = FakeHub(tokens=(TOKEN,), limits=Limits.off())  # limits off: about filters, not pacing
    for org in ("src", "dst"):
        hub.add_org(org)
        hub.add_repos(org, 3)
    hub.set_secret("NPM_PUBLISH", b"old", org="src", visibility="private")
    hub.set_secret("SENTRY_DSN", b"old", org="src", app="dependabot", visibility="private")
    for i in range(1, 4):
        for name in ("NPM_TOKEN", "npm_auth", "DB_PASSWORD"):
            hub.set_secret(name, b"old", repo=f"src/repo-{i:04d}")
    return hub


@pytest.fixture
def named_url(named: FakeHub) -> Iterator[dict[str, str]]:
    with named.serve_in_thread() as url:
        yield {"from": url, "to": url}


def test_name_globs_migrate_only_the_secrets_so_called(named, named_url, tmp_path,
                                                       capsys) -> None:
    """`--name 'npm_*' --name SENTRY_DSN`: only NPM_* secrets (any case, as GitHub compares
    names) and SENTRY_DSN are migrated; a values-file line for a secret --name leaves out is
    ignored with a note, not an error; DB_PASSWORD stays behind."""
    values = tmp_path / "v.env"
    values.write_text(f"NPM_PUBLISH={CANARY}-p\nNPM_TOKEN={CANARY}-t\nNPM_AUTH={CANARY}-a\n"
                      f"SENTRY_DSN={CANARY}-s\nDB_PASSWORD={CANARY}-db\n")
    assert migrate(named_url, tmp_path, "--from", "src", "--to", "dst", "--values", str(values),
                   "--name", "npm_*", "--name", "SENTRY_DSN", "--format", "json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["migrated"] == 1 + 1 + 3 * 2
    assert {i["name"].upper() for i in report["items"]} == {
        "NPM_PUBLISH", "SENTRY_DSN", "NPM_TOKEN", "NPM_AUTH"}
    assert report["notes"] == [f"note: {values}:5: a secret --name leaves out, ignored"]
    assert named.plaintext("NPM_TOKEN", repo="dst/repo-0002") == f"{CANARY}-t".encode()
    assert named.plaintext("NPM_AUTH", repo="dst/repo-0003") == f"{CANARY}-a".encode()
    assert named.plaintext("SENTRY_DSN", org="dst", app="dependabot") == f"{CANARY}-s".encode()
    assert named.plaintext("DB_PASSWORD", repo="dst/repo-0001") is None


def test_a_name_glob_that_matches_nothing_is_refused(named, named_url, tmp_path) -> None:
    """`--name NPM_TOKNE` (a typo) would migrate nothing of it without a word: exit 2 naming
    the pattern, before any output file is written."""
    with pytest.raises(UsageError, match="no secret of src matches --name 'NPM_TOKNE'"):
        migrate(named_url, tmp_path, "--from", "src", "--to", "dst", "--name", "NPM_TOKEN",
                "--name", "NPM_TOKNE", "--plan-out", str(tmp_path / "plan.json"))
    assert not (tmp_path / "plan.json").exists()
