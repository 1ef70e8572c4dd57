"""`syncer migrate` as a new user meets it (issue 20): `--name` filters, output that stays short
on a re-run, one set of counts and durations for text, JSON and the log, Codespaces secrets.

End to end against fakehub over loopback TCP, through migrate's own parser (see
test_migrate_e2e.migrate).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import anyio
import pytest
from helpers import TOKEN, migration_urls, org_hub
from test_migrate_e2e import CANARY, migrate

from syncer.core.model import Scope
from syncer.execution.connect import Settings, connect
from syncer.exits import UsageError
from syncer.fakehub import FakeHub
from syncer.github.api import SecretInfo, SecretsAPI
from syncer.github.errors import PermissionDenied
from syncer.migrate.mapping import Destination, Inventory, map_targets
from syncer.migrate.plan_out import plan_document
from syncer.migrate.sides import read_source
from syncer.observe import logs
from syncer.observe.clock import elapsed_from_proc


@pytest.fixture(autouse=True)
def json_logs() -> None:
    """Logs as cli.py configures them: JSON lines on stderr, so stdout holds only the report."""
    logs.configure("json", "info")


@pytest.fixture
def named() -> FakeHub:
    """src: 3 repositories, each with NPM_TOKEN, NPM_AUTH and DB_PASSWORD; an org NPM_PUBLISH
    and an org Dependabot SENTRY_DSN; dst: the same 3 repositories."""
    hub = org_hub(3, "src", "dst")  # limits off: about filters, not pacing
    hub.set_secret("NPM_PUBLISH", b"old", org="src", visibility="private")
    hub.set_secret("SENTRY_DSN", b"old", org="src", app="dependabot", visibility="private")
    for i in range(1, 4):
        for name in ("NPM_TOKEN", "npm_auth", "DB_PASSWORD"):
            hub.set_secret(name, b"old", repo=f"src/repo-{i:04d}")
    return hub


@pytest.fixture
def named_url(named: FakeHub) -> Iterator[dict[str, str]]:
    yield from migration_urls(named)


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
    assert report["notes"] == [f"note: {values}:5 (DB_PASSWORD): a secret --name leaves out, ignored"]
    assert named.plaintext("NPM_TOKEN", repo="dst/repo-0002") == f"{CANARY}-t".encode()
    assert named.plaintext("NPM_AUTH", repo="dst/repo-0003") == f"{CANARY}-a".encode()
    assert named.plaintext("SENTRY_DSN", org="dst", app="dependabot") == f"{CANARY}-s".encode()
    assert named.plaintext("DB_PASSWORD", repo="dst/repo-0001") is None


def test_a_name_glob_that_matches_nothing_is_refused(named, named_url, tmp_path) -> None:
    """`--name NPM_TOKNE` (a typo) would migrate nothing of it without a word: exit 2 naming
    the pattern, before any output file is written."""
    with pytest.raises(UsageError, match="no secret or variable of src matches --name 'NPM_TOKNE'"):
        migrate(named_url, tmp_path, "--from", "src", "--to", "dst", "--name", "NPM_TOKEN",
                "--name", "NPM_TOKNE", "--plan-out", str(tmp_path / "plan.json"))
    assert not (tmp_path / "plan.json").exists()


@pytest.fixture
def many() -> FakeHub:
    """src and dst: 150 repositories; src has 5 secrets in each: 750 repository secrets."""
    hub = org_hub(150, "src", "dst")  # limits off: 750 writes, unpaced
    for i in range(1, 151):
        for n in range(5):
            hub.set_secret(f"KEY_{n}", b"old", repo=f"src/repo-{i:04d}")
    return hub


def summary_event(err: str) -> dict[str, object]:
    """The log's one summary event (JSON lines on stderr)."""
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    found = [e for e in events if e.get("event") == "summary"]
    assert len(found) == 1, found
    return found[0]


@pytest.mark.slow
def test_a_rerun_over_750_unchanged_secrets_prints_a_few_lines(many, tmp_path, capsys) -> None:
    """A re-run that changes nothing counts its 750 unchanged secrets in a few lines (at most
    20) instead of listing each; -v lists them; JSON still has an item per secret, and its
    counts and costs are the text's and the log's."""
    values = tmp_path / "v.env"
    values.write_text("".join(f"KEY_{n}={CANARY}-{n}\n" for n in range(5)))
    args = ("--from", "src", "--to", "dst", "--values", str(values))
    with many.serve_in_thread() as url:
        urls = {"from": url, "to": url}
        assert migrate(urls, tmp_path, *args) == 0
        capsys.readouterr()
        assert migrate(urls, tmp_path, *args) == 0
        rerun = capsys.readouterr()
        assert migrate(urls, tmp_path, *args, "-v") == 0
        verbose = capsys.readouterr().out
        assert migrate(urls, tmp_path, *args, "--format", "json") == 0
        as_json = capsys.readouterr()
    lines = rerun.out.splitlines()
    assert len(lines) <= 20, lines
    assert "unchanged 750" in lines[1]
    assert "unchanged (750): not listed (-v lists them)" in lines
    assert len(verbose.splitlines()) > 750
    assert "  KEY_3 in dst/repo-0149  [actions:repo:repo-0149:KEY_3]" in verbose.splitlines()
    report = json.loads(as_json.out)
    assert report["counts"]["unchanged"] == 750 and len(report["items"]) == 750
    event = summary_event(as_json.err)
    for status, count in report["counts"].items():
        assert event[status.replace(" ", "_")] == count, status
    for field, value in report["run"].items():
        assert event[field] == value, field


def test_dry_run_counts_and_durations_agree_in_text_json_and_log(named, named_url, tmp_path,
                                                                 capsys) -> None:
    """A dry run: the log's summary event says `not_written` as many as the report's "not
    written" (it said 0 beside a text's 733), and text, JSON and log give the same requests,
    paced and total seconds, the total timed from the process start."""
    values = tmp_path / "v.env"
    values.write_text(f"NPM_PUBLISH={CANARY}\nSENTRY_DSN={CANARY}\nNPM_TOKEN={CANARY}\n"
                      f"npm_auth={CANARY}\nDB_PASSWORD={CANARY}\n")
    args = ("--from", "src", "--to", "dst", "--values", str(values), "--dry-run")
    before = time.monotonic()
    assert migrate(named_url, tmp_path, *args, "--format", "json") == 0
    whole_command = time.monotonic() - before
    captured = capsys.readouterr()
    report, event = json.loads(captured.out), summary_event(captured.err)
    assert report["counts"]["not written"] == 11
    assert event["not_written"] == 11 and event["migrated"] == 0
    assert set(report["run"]) == {"requests", "retries", "rate_limit_waits", "wait_s",
                                  "paced_s", "seconds"}
    assert report["run"]["requests"] == event["requests"] > 0
    assert report["run"]["seconds"] == event["seconds"] >= report["run"]["paced_s"]
    # from the process start (here pytest's), so it covers the whole command, inventory too
    assert report["run"]["seconds"] >= whole_command
    assert migrate(named_url, tmp_path, *args) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[1] == ", ".join(f"{s} {n}" for s, n in report["counts"].items())
    assert re.fullmatch(rf"{report['run']['requests']} requests, 0 retries, 0 rate-limit waits "
                        r"\(0\.00 s\), paced 0\.00 s, \d+\.\d\d s since start", text[2]), text[2]


def test_process_age_is_read_from_proc_whatever_the_command_name() -> None:
    """/proc/PID/stat's start time (field 22, clock ticks since boot) against /proc/uptime; a
    command name with spaces and parentheses does not shift the fields; what does not parse is
    None (the caller falls back to its own clock)."""
    fields_after_name = ["S"] + ["0"] * 18 + ["12345"] + ["0"] * 20
    stat = "4242 (my (odd) name) " + " ".join(fields_after_name)
    assert elapsed_from_proc(stat, "200.50 400.00\n", 100) == pytest.approx(200.50 - 123.45)
    assert elapsed_from_proc("4242 (short) S 1 2", "200.50 400.00", 100) is None
    assert elapsed_from_proc(stat, "", 100) is None
    assert elapsed_from_proc(stat, "1.00 2.00", 100) == 0.0  # never negative


@pytest.fixture
def codespaces() -> FakeHub:
    """src: 4 repositories; Codespaces secrets at org level (selected: repo-0001, repo-0003)
    and in repo-0002, beside an Actions secret of the same name; dst: the same repositories."""
    hub = org_hub(4, "src", "dst")  # limits off: about shapes, not pacing
    hub.set_secret("CS_REGISTRY", b"old", org="src", app="codespaces",
                   selected=["repo-0001", "repo-0003"])
    hub.set_secret("CS_TOKEN", b"old", repo="src/repo-0002", app="codespaces")
    hub.set_secret("CS_TOKEN", b"old", repo="src/repo-0002")
    return hub


def test_codespaces_secrets_migrate_like_dependabot_ones(codespaces, tmp_path, capsys) -> None:
    """Codespaces secrets (org with its selection, and repository) are in the plan and the
    values template with codespaces: keys, land in dst with their values from --values, and
    the export workflow lists them for --values (a workflow cannot read them)."""
    hub = codespaces
    with hub.serve_in_thread() as url:
        urls = {"from": url, "to": url}
        plan = tmp_path / "plan.json"
        assert migrate(urls, tmp_path, "--from", "src", "--to", "dst", "--plan-out",
                       str(plan)) == 0
        keys = {t["key"]: t for t in json.loads(plan.read_text())["targets"]}
        assert set(keys) == {"codespaces:org:CS_REGISTRY", "codespaces:repo:repo-0002:CS_TOKEN",
                             "actions:repo:repo-0002:CS_TOKEN"}
        assert keys["codespaces:org:CS_REGISTRY"]["destination"]["app"] == "codespaces"
        template = (tmp_path / "plan.values.toml").read_text()
        assert '"codespaces:repo:repo-0002:CS_TOKEN" = ""' in template
        values = tmp_path / "v.toml"
        values.write_text(f"'codespaces:org:CS_REGISTRY' = '{CANARY}-r'\n"
                          f"'codespaces:repo:repo-0002:CS_TOKEN' = '{CANARY}-cs'\n"
                          f"CS_TOKEN = '{CANARY}-actions'\n")
        capsys.readouterr()
        assert migrate(urls, tmp_path, "--from", "src", "--to", "dst", "--values",
                       str(values)) == 0
        assert "migrated 3," in capsys.readouterr().out
        workflow = tmp_path / "export.yml"
        assert migrate(urls, tmp_path, "--from", "src", "--to", "dst", "--export-workflow",
                       str(workflow), "--format", "json") == 0
        exported = json.loads(capsys.readouterr().out)
    assert hub.plaintext("CS_REGISTRY", org="dst", app="codespaces") == f"{CANARY}-r".encode()
    registry = hub.secret("CS_REGISTRY", org="dst", app="codespaces")
    assert registry["visibility"] == "selected"
    assert sorted(registry["selected_repository_ids"]) == sorted(
        hub.repo_id(f"dst/repo-000{i}") for i in (1, 3))
    assert hub.plaintext("CS_TOKEN", repo="dst/repo-0002", app="codespaces") \
        == f"{CANARY}-cs".encode()
    assert hub.plaintext("CS_TOKEN", repo="dst/repo-0002") == f"{CANARY}-actions".encode()
    assert {(s["key"], s["why"]) for s in exported["not_exported"]} == {
        (key, "codespaces secrets cannot be read by an Actions workflow: give this value with "
              "--values") for key in ("codespaces:org:CS_REGISTRY",
                                      "codespaces:repo:repo-0002:CS_TOKEN")}


def test_codespaces_secrets_and_enterprise_server(codespaces, tmp_path, capsys) -> None:
    """Enterprise Server has no Codespaces: migrating from github.com to it lists each
    Codespaces secret as a missing target saying why (and counts them), the rest migrates
    with --allow-partial; reading an Enterprise Server source asks no repository for
    Codespaces secrets once the organisation's listing is 404."""
    hub = codespaces
    values = tmp_path / "v.env"
    values.write_text(f"CS_REGISTRY={CANARY}\nCS_TOKEN={CANARY}\n")
    with hub.serve_in_thread() as url:
        to_server = {"from": url, "to": url + "/api/v3"}
        assert migrate(to_server, tmp_path, "--from", "src", "--to", "dst", "--values",
                       str(values), "--allow-partial", "--format", "json") == 1
        report = json.loads(capsys.readouterr().out)
        from_server = {"from": url + "/api/v3", "to": url}
        before = hub.calls
        assert migrate(from_server, tmp_path, "--from", "dst", "--to", "src", "--plan-out",
                       str(tmp_path / "plan.json")) == 0
        asked = hub.calls - before
    assert report["counts"]["missing target"] == 2 and report["counts"]["migrated"] == 1
    missing = {i["key"]: i["why"] for i in report["items"] if i["status"] == "missing target"}
    assert missing == dict.fromkeys(("codespaces:org:CS_REGISTRY",
                                     "codespaces:repo:repo-0002:CS_TOKEN"),
                                    "dst has no Codespaces secrets (404: GitHub Enterprise "
                                    "Server has none)")
    # fakehub counts a route Enterprise Server lacks as unmatched: here the org's listings
    # only (Codespaces secrets, agents secrets, agents variables)
    assert asked[("GET", "<unmatched>")] == 3, asked
    assert not [path for _, path in asked if "codespaces" in path or "agents" in path], asked


class NoCodespacesPermission(SecretsAPI):
    """fakehub's API as a token without the Codespaces secrets permission sees it: GitHub
    answers 403 to every Codespaces listing (fakehub does not model per-permission tokens, so
    this one refusal is made here; every other request goes to fakehub)."""

    refused: list[str] = []

    async def secrets(self, scope: Scope) -> list[SecretInfo]:
        if scope.app == "codespaces":
            self.refused.append(scope.repo or scope.org)
            raise PermissionDenied(403, "Resource not accessible by personal access token",
                                   method="GET", path="/.../codespaces/secrets")
        return await super().secrets(scope)


def test_codespaces_secrets_the_token_cannot_read_are_said_to_be_left_behind(
        codespaces) -> None:
    """A token that may read Actions secrets but not Codespaces ones (a classic token without
    the codespace scope) still migrates the rest: the first refusal at each level stops the
    asking there, and the inventory says which Codespaces secrets were left behind, and why,
    for the report and the plan."""
    NoCodespacesPermission.refused = []

    async def read() -> Inventory:
        settings = Settings(api_url=url, concurrency=1, points_per_minute=0)
        async with connect(settings, TOKEN) as run:
            run.api = NoCodespacesPermission(run.client)
            return await read_source(run, "src")

    with codespaces.serve_in_thread() as url:
        inventory = anyio.run(read)
    assert [(s.scope.app, str(s.scope), s.name) for s in inventory.secrets] == [
        ("actions", "src/repo-0002", "CS_TOKEN")]
    assert NoCodespacesPermission.refused == ["src", "repo-0001"]
    assert len(inventory.unread) == 2
    assert inventory.unread[0].startswith("Codespaces secrets of the organisation src were not "
                                          "read (GET /.../codespaces/secrets: 403 Resource not "
                                          "accessible by personal access token")
    assert inventory.unread[1].startswith("Codespaces secrets of the repositories of src")
    assert all(u.endswith("; none of them is migrated") for u in inventory.unread)
    document = plan_document(map_targets(inventory, Destination("dst", {})), source="a",
                             source_org="src", dest="b", dest_org="dst", unread=inventory.unread)
    assert document["left_behind"] == list(inventory.unread)
