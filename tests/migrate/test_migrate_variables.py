"""`syncer migrate` copies variables with their values and agents secrets' shape (issue 21).

End to end against one fakehub with two organisations over loopback TCP, through migrate's own
parser (see test_migrate_e2e.migrate); the target is checked through fakehub's Python API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import migration_urls, org_hub
from test_migrate_e2e import CANARY, migrate

from syncer.fakehub import FakeHub
from syncer.observe import logs


@pytest.fixture(autouse=True)
def json_logs() -> None:
    """Logs as cli.py configures them: JSON lines on stderr, so stdout holds only the report."""
    logs.configure("json", "info")


@pytest.fixture
def hub() -> FakeHub:
    """src: 3 repositories, repo-0001 with an environment `production`; Actions variables at
    every level (an org one selected to repo-0001 and repo-0003, repo-0003 missing in dst),
    agents variables and agents secrets at org and repository level, one Actions secret.
    dst: repo-0001 and repo-0002 (with `production`)."""
    # limits off: these tests are about what is copied, not about pacing or quotas
    hub = org_hub(3, "src")
    hub.add_repos("dst", 2)
    for org in ("src", "dst"):
        hub.add_environment(org, "repo-0001", "production")
    hub.set_variable("REGION", "eu-west-1", org="src", visibility="private")
    hub.set_variable("CHANNEL", "#deploys", org="src", selected=["repo-0001", "repo-0003"])
    hub.set_variable("IMAGE", "app:1.2", repo="src/repo-0001")
    hub.set_variable("IMAGE", "app:2.0", repo="src/repo-0003")  # dst lacks repo-0003
    hub.set_variable("REPLICAS", "3", repo="src/repo-0001", env="production")
    hub.set_variable("MODEL", "large", org="src", app="agents", visibility="all")
    hub.set_variable("MODEL", "small", repo="src/repo-0002", app="agents")
    hub.set_secret("AGENT_TOKEN", b"old", org="src", app="agents", visibility="private")
    hub.set_secret("AGENT_TOKEN", b"old", repo="src/repo-0002", app="agents")
    hub.set_secret("DEPLOY_KEY", b"old", repo="src/repo-0001")
    return hub


@pytest.fixture
def urls(hub: FakeHub) -> Iterator[dict[str, str]]:
    yield from migration_urls(hub)


def test_variables_with_values_and_agents_secrets_then_a_rerun_writes_nothing(
        hub: FakeHub, urls: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Variables land in dst with src's values (org ones with their visibility and the
    selection mapped by repository name), agents secrets with the values file's values; the
    variable of a repository dst lacks is a missing target; a second run writes nothing, and
    the text report counts the variables apart."""
    values = tmp_path / "v.toml"
    values.write_text(f'"agents:org:AGENT_TOKEN" = "{CANARY}-org"\n'
                      f'"agents:repo:repo-0002:AGENT_TOKEN" = "{CANARY}-repo"\n'
                      f'DEPLOY_KEY = "{CANARY}-deploy"\n')
    assert migrate(urls, tmp_path, "--from", "src", "--to", "dst", "--values", str(values),
                   "--allow-partial", "--format", "json") == 1  # the missing target
    first = json.loads(capsys.readouterr().out)
    assert hub.variable_value("REGION", org="dst") == "eu-west-1"
    assert hub.variable("REGION", org="dst")["visibility"] == "private"  # type: ignore[index]
    channel = hub.variable("CHANNEL", org="dst")
    assert channel is not None and channel["value"] == "#deploys"
    assert channel["visibility"] == "selected"
    assert channel["selected_repository_ids"] == [hub.repo_id("dst/repo-0001")]
    assert hub.variable_value("IMAGE", repo="dst/repo-0001") == "app:1.2"
    assert hub.variable_value("REPLICAS", repo="dst/repo-0001", env="production") == "3"
    assert hub.variable_value("MODEL", org="dst", app="agents") == "large"
    assert hub.variable_value("MODEL", repo="dst/repo-0002", app="agents") == "small"
    assert hub.plaintext("AGENT_TOKEN", org="dst", app="agents") == f"{CANARY}-org".encode()
    assert hub.plaintext("AGENT_TOKEN", repo="dst/repo-0002", app="agents") \
        == f"{CANARY}-repo".encode()
    assert hub.plaintext("DEPLOY_KEY", repo="dst/repo-0001") == f"{CANARY}-deploy".encode()
    problems = {(i["status"], i["target"], i["key"]) for i in first["items"]
                if i["status"] != "migrated"}
    assert problems == {("missing target", "variable", "var:actions:repo:repo-0003:IMAGE"),
                        ("missing selected repository", "variable", "var:actions:org:CHANNEL")}
    assert first["variable_counts"]["migrated"] == 6
    assert first["counts"]["migrated"] == 9

    before = hub.calls
    assert migrate(urls, tmp_path, "--from", "src", "--to", "dst", "--values", str(values),
                   "--allow-partial", "--format", "json") == 1
    again = json.loads(capsys.readouterr().out)
    writes = [(m, p) for (m, p) in hub.calls - before if m in ("PUT", "POST", "PATCH")]
    assert writes == []
    assert again["counts"]["migrated"] == 0 and again["variable_counts"]["unchanged"] == 6
    assert migrate(urls, tmp_path, "--from", "src", "--to", "dst", "--values", str(values),
                   "--allow-partial") == 1
    text = capsys.readouterr().out.splitlines()
    assert text[2] == ("of which variables: missing target 1, missing selected repository 1, "
                       "unchanged 6")


def test_a_variable_changed_in_dst_is_rewritten_and_name_filters_variables(
        hub: FakeHub, urls: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Variables need no values file (--allow-partial without one copies them); --name picks
    variables as it picks secrets; a variable dst holds with another value is rewritten, one
    with the same value is left unchanged."""
    hub.set_variable("IMAGE", "app:0.9", repo="dst/repo-0001")  # another value: rewritten
    hub.set_variable("MODEL", "large", org="dst", app="agents")  # the same value: unchanged
    assert migrate(urls, tmp_path, "--from", "src", "--to", "dst", "--name", "IMAGE",
                   "--name", "MODEL", "--allow-partial", "--format", "json") == 1
    report = json.loads(capsys.readouterr().out)
    assert hub.variable_value("IMAGE", repo="dst/repo-0001") == "app:1.2"
    assert hub.variable_value("REGION", org="dst") is None  # --name left it out
    by_key = {i["key"]: i["status"] for i in report["items"]}
    assert by_key == {"var:actions:repo:repo-0001:IMAGE": "migrated",
                      "var:actions:repo:repo-0003:IMAGE": "missing target",
                      "var:agents:org:MODEL": "unchanged",
                      "var:agents:repo:repo-0002:MODEL": "migrated"}


def test_agents_secrets_are_listed_for_values_and_not_exported(
        urls: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The plan's values template asks for agents secrets' values and none for variables; the
    export workflow cannot read agents secrets and says so, as for Codespaces."""
    plan = tmp_path / "plan.json"
    assert migrate(urls, tmp_path, "--from", "src", "--to", "dst", "--plan-out", str(plan)) == 0
    template = (tmp_path / "plan.values.toml").read_text()
    assert '"agents:org:AGENT_TOKEN" = ""' in template
    assert '"agents:repo:repo-0002:AGENT_TOKEN" = ""' in template
    assert "IMAGE" not in template and "7 variables are copied" in template
    document = json.loads(plan.read_text())
    assert document["counts"]["variables"] == 7
    capsys.readouterr()
    assert migrate(urls, tmp_path, "--from", "src", "--to", "dst", "--export-workflow",
                   str(tmp_path / "export.yml"), "--format", "json") == 0
    exported = json.loads(capsys.readouterr().out)
    assert {(s["key"], s["why"]) for s in exported["not_exported"]} == {
        (key, "agents secrets cannot be read by an Actions workflow: give this value with "
              "--values") for key in ("agents:org:AGENT_TOKEN",
                                      "agents:repo:repo-0002:AGENT_TOKEN")}
    assert [s for j in exported["jobs"] for s in j["secrets"]] == ["DEPLOY_KEY"]


def test_a_destination_without_agents_leaves_them_behind_with_a_note(
        hub: FakeHub, urls: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An Enterprise Server destination (no agents endpoints: 404) gets everything else; the
    agents secrets and variables are left behind with a note, not failed or missing."""
    to_server = {"from": urls["from"], "to": urls["to"] + "/api/v3"}
    values = tmp_path / "v.env"
    values.write_text(f"DEPLOY_KEY={CANARY}\n")
    assert migrate(to_server, tmp_path, "--from", "src", "--to", "dst", "--values",
                   str(values), "--allow-partial", "--format", "json") == 1  # repo-0003
    report = json.loads(capsys.readouterr().out)
    assert not [i for i in report["items"] if "agents" in i["key"]]
    assert any("4 agents secrets and variables of src" in n and "404" in n
               for n in report["notes"]), report["notes"]
    assert hub.variable_value("IMAGE", repo="dst/repo-0001") == "app:1.2"
    assert hub.variable_value("MODEL", org="dst", app="agents") is None
