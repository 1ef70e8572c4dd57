"""syncer.migrate's pure decisions (mapping, values, report, export, sealed) over plain data,
and the migrate command's request and report, all without a server."""

from __future__ import annotations

import base64
import inspect
import json
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import pytest
from nacl.public import PrivateKey, SealedBox

from syncer.commands.migrate import report_exit_code
from syncer.core.model import (
    Action,
    Op,
    OrgSelection,
    Outcome,
    PublicKey,
    Repo,
    Result,
    Scope,
    SecretValue,
    Stop,
    StopReason,
)
from syncer.core.plan import Change, PlanItem
from syncer.migrate.export import (
    UPLOAD_ARTIFACT_V3,
    artifact_action,
    export_script,
    plan_export,
    render_workflow,
    seal_for_export,
)
from syncer.migrate.mapping import (
    Destination,
    Inventory,
    SourceSecret,
    Target,
    ValueKey,
    index_repos,
    key_of,
    map_targets,
    parse_value_key,
    repos_needing_environments,
    value_key,
)
from syncer.migrate.plan_out import plan_document
from syncer.migrate.report import (
    FAILED,
    MIGRATED,
    MISSING_SELECTED,
    MISSING_TARGET,
    MISSING_VALUE,
    NOT_WRITTEN,
    UNCHANGED,
    build_report,
    render_report_json,
    render_report_text,
)
from syncer.migrate.sealed import import_rounds, parse_sealed
from syncer.migrate.values import match_values, template_path, values_template
from syncer.migrate.values_file import parse_values

SECRET = "v4lue-canary-3c8e"


def repo(name: str, id: int, archived: bool = False, private: bool = True) -> Repo:
    return Repo(name, id, archived=archived, private=private)


def org_secret(name: str, visibility: str = "all", selected: tuple[str, ...] = (),
               app: str = "actions") -> SourceSecret:
    return SourceSecret(Scope.of_org("src", app), name, visibility, selected)  # type: ignore[arg-type]


def repo_secret(repo_name: str, name: str, app: str = "actions") -> SourceSecret:
    return SourceSecret(Scope.of_repo("src", repo_name, app), name)  # type: ignore[arg-type]


def env_secret(repo_name: str, env: str, name: str) -> SourceSecret:
    return SourceSecret(Scope.of_env("src", repo_name, env), name)


SRC_REPOS = (repo("api", 1), repo("web", 2), repo("legacy", 3, archived=True),
             repo("docs", 4, private=False))
DST = Destination("dst", index_repos([repo("API", 11), repo("web", 12), repo("legacy", 13),
                                      repo("frozen", 14, archived=True)]),
                  {"api": {"production": "Production"}, "web": {}})


def inventory(*secrets: SourceSecret, outside: frozenset[str] = frozenset()) -> Inventory:
    return Inventory("src", SRC_REPOS, secrets, outside)


# -- keys --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("db_password", ValueKey("DB_PASSWORD")),
    ("actions:org:NPM", ValueKey("NPM", "actions", "org")),
    ("Dependabot:ORG:npm", ValueKey("NPM", "dependabot", "org")),
    ("actions:repo:API:db", ValueKey("DB", "actions", "repo", "api")),
    ("dependabot:repo:my.repo-1:NPM", ValueKey("NPM", "dependabot", "repo", "my.repo-1")),
    ("codespaces:org:reg", ValueKey("REG", "codespaces", "org")),
    ("codespaces:repo:api:REG", ValueKey("REG", "codespaces", "repo", "api")),
    ("actions:env:api:Production:TOKEN", ValueKey("TOKEN", "actions", "env", "api", "production")),
    ("actions:env:api:stage:eu:TOKEN", ValueKey("TOKEN", "actions", "env", "api", "stage:eu")),
])
def test_value_keys_parse_and_normalise(text: str, expected: ValueKey) -> None:
    """Each documented key form parses; names upper-case, repo and env lower-case; whatever
    lies between the repository and the name is the environment, colons included."""
    assert parse_value_key(text) == expected


@pytest.mark.parametrize("text, fragment", [
    ("copilot:org:X", "a scoped key starts with actions:, dependabot:, codespaces: or agents:"),
    ("codespaces:env:api:prod:X", "environment secrets exist for actions only"),
    ("dependabot:env:api:prod:X", "environment secrets exist for actions only"),
    ("actions:repo:X", "expected APP:org:NAME"),
    ("actions:org:api:X", "expected APP:org:NAME"),
    ("actions:repo::X", "expected APP:org:NAME"),
    ("actions:env:api::X", "expected APP:org:NAME"),
    ("actions:team:X", "expected APP:org:NAME"),
    ("1NAME", "must not start with a digit"),
    ("actions:org:GITHUB_TOKEN", "must not start with GITHUB_"),
    ("actions:org:NO-DASH", "only contain letters"),
])
def test_malformed_value_keys_say_why(text: str, fragment: str) -> None:
    """Unknown apps or kinds, wrong field counts and invalid secret names are refused."""
    with pytest.raises(ValueError, match=fragment):
        parse_value_key(text)


def test_every_secret_key_round_trips() -> None:
    """value_key() writes what parse_value_key() reads back as the same secret, for each kind."""
    for secret in (org_secret("A"), org_secret("B", app="dependabot"), repo_secret("api", "C"),
                   repo_secret("api", "D", app="dependabot"), env_secret("api", "a:b", "E")):
        assert parse_value_key(value_key(secret)) == key_of(secret)


# -- mapping -----------------------------------------------------------------------------------

def test_org_secrets_keep_visibility_and_map_selection_by_name() -> None:
    """Selected repositories are mapped to DST ids by name (case-insensitively); one DST lacks
    is listed as unmapped and left out; non-selected visibilities carry no ids."""
    targets = map_targets(inventory(org_secret("ALL"), org_secret("PRIV", "private"),
                                    org_secret("PICK", "selected", ("api", "Web", "gone")),
                                    org_secret("NPM", "private", app="dependabot")), DST)
    assert [(t.scope, t.selection, t.unmapped, t.missing) for t in targets] == [
        (Scope.of_org("dst"), OrgSelection("all"), (), None),
        (Scope.of_org("dst"), OrgSelection("private"), (), None),
        (Scope.of_org("dst"), OrgSelection("selected", (11, 12)), ("gone",), None),
        (Scope.of_org("dst", "dependabot"), OrgSelection("private"), (), None),
    ]


def test_repo_and_env_secrets_go_to_the_same_named_place() -> None:
    """Same-named repository (DST's spelling and id), same environment (DST's spelling); an
    archived SRC repository is fine, a missing or archived DST repository or a missing
    environment is a missing target with the reason."""
    targets = map_targets(inventory(
        repo_secret("api", "A"), repo_secret("api", "N", "dependabot"),
        env_secret("api", "production", "E"), env_secret("web", "production", "E"),
        repo_secret("legacy", "A"), repo_secret("nowhere", "A"), repo_secret("frozen", "A")), DST)
    assert [(str(t.scope), t.scope.repo_id, t.missing) for t in targets] == [
        ("dst/API", 11, None),
        ("dst/API (dependabot)", 11, None),
        ("dst/API:Production", 11, None),
        ("dst/web:production", 12, "environment production does not exist in dst/web"),
        ("dst/legacy", 13, None),
        ("dst/nowhere", None, "repository nowhere does not exist in dst"),
        ("dst/frozen", 14, "dst/frozen is archived (read-only)"),
    ]


def test_environments_are_read_only_where_env_secrets_go() -> None:
    """Only DST repositories that receive environment secrets (and exist, unarchived) need
    their environments listed."""
    inv = inventory(repo_secret("web", "A"), env_secret("API", "x", "E"),
                    env_secret("frozen", "x", "E"), env_secret("nowhere", "x", "E"))
    assert repos_needing_environments(inv, DST.repos) == ["API"]


# -- values ------------------------------------------------------------------------------------

def values(text: str) -> Any:
    return parse_values(text, "dotenv", "v.env")


def test_scoped_key_wins_and_empty_means_not_given() -> None:
    """A scoped key beats the bare name; an empty scoped value falls back to the bare name; a
    target with neither is missing; missing targets need no value."""
    targets = map_targets(inventory(repo_secret("api", "A"), repo_secret("web", "A"),
                                    repo_secret("legacy", "A"), repo_secret("api", "B"),
                                    repo_secret("nowhere", "A")), DST)
    matching = match_values(targets, values(
        "A=everywhere\nactions:repo:api:A=api-only\nactions:repo:web:A=\n"
        "actions:repo:api:B=\n"))
    got = {k: v.reveal() for k, v in matching.values.items()}
    assert got == {ValueKey("A", "actions", "repo", "api"): b"api-only",
                   ValueKey("A", "actions", "repo", "web"): b"everywhere",
                   ValueKey("A", "actions", "repo", "legacy"): b"everywhere"}
    assert [t.key for t in matching.missing] == ["actions:repo:api:B"]
    assert matching.problems == ()


def test_unknown_keys_are_problems_with_file_and_line() -> None:
    """Keys that match no secret (by name or by scope), malformed keys, and two spellings of the
    same key are each reported with file, line and the key where it is shaped like one (a
    conventional name, scoped or not); a key that may be a pasted secret split at an '=', and
    every value, never appear."""
    targets = map_targets(inventory(repo_secret("api", "A"), org_secret("O")), DST)
    matching = match_values(targets, values(
        f"A={SECRET}\nZZZ={SECRET}\nactions:repo:web:A={SECRET}\nactions:org:O={SECRET}\n"
        f"actions:ORG:o={SECRET}\nactions:thing={SECRET}\ndependabot:org:O={SECRET}\n"))
    assert matching.problems == (
        "v.env:2 (ZZZ): no secret of that name in the source",
        "v.env:3 (actions:repo:web:A): no such secret in the source",
        "v.env:5: names the same secret as v.env:4 (actions:org:O)",
        ("v.env:6: expected APP:org:NAME, APP:repo:REPO:NAME, "
        "actions:env:REPO:ENV:NAME or NAME (APP: actions, dependabot, codespaces or agents)"),
        "v.env:7 (dependabot:org:O): no such secret in the source",
    )
    assert SECRET not in "".join(matching.problems)


def test_pasted_secrets_split_at_an_equals_sign_are_not_repeated() -> None:
    """A URL with a query or base64 with padding pasted on its own line splits at its '=' into
    what looks like a key: it is refused by line, never quoted."""
    targets = map_targets(inventory(repo_secret("api", "A")), DST)
    pasted = ("postgres://app:Hunter2Passw0rd@db.internal/app?sslmode", "QUJDREVGR0hJSktM")
    matching = match_values(targets, values(f"A=1\n{pasted[0]}=require\n{pasted[1]}==\n"))
    assert [p.split(": ")[0] for p in matching.problems] == ["v.env:2", "v.env:3"]
    assert not any(fragment in "".join(matching.problems)
                   for text in pasted for fragment in text.split(":"))


def test_keys_for_repositories_outside_repos_are_ignored_not_errors() -> None:
    """With --repos narrowing the inventory, a scoped key for a left-out repository and a bare
    name found nowhere in the chosen ones are only noted: one values file serves every run."""
    targets = map_targets(inventory(repo_secret("api", "A"), outside=frozenset({"web"})), DST)
    matching = match_values(targets, values("A=1\nactions:repo:web:A=2\nOTHER=3\n"),
                            outside={"web"})
    assert matching.problems == ()
    assert matching.ignored == (
        "v.env:2 (actions:repo:web:A): repository outside --repos, ignored",
        "v.env:3 (OTHER): no secret of that name in the repositories selected by --repos, "
        "ignored")


def test_without_a_values_file_every_writable_target_is_missing() -> None:
    """A dry run without --values lists each writable target as missing."""
    targets = map_targets(inventory(repo_secret("api", "A"), repo_secret("nowhere", "A")), DST)
    assert [t.key for t in match_values(targets, None).missing] == ["actions:repo:api:A"]


# -- plan file and template --------------------------------------------------------------------

def test_plan_document_and_template_hold_every_target_and_no_value() -> None:
    """The plan lists each target with source and DST scope, visibility, selection and status;
    the template has a key per writable target (all empty) and commented bare names."""
    targets = map_targets(inventory(org_secret("PICK", "selected", ("api", "gone")),
                                    repo_secret("api", "A"), env_secret("api", "production", "E"),
                                    repo_secret("nowhere", "A")), DST)
    doc = plan_document(targets, source="ghe.corp", source_org="src", dest="api.github.com",
                        dest_org="dst")
    assert doc["counts"] == {"ok": 3, "missing target": 1, "missing selected repositories": 1,
                             "variables": 0}
    pick = doc["targets"][0]
    assert (pick["status"], pick["visibility"], pick["selected_repositories"],
            pick["selected_repository_ids"], pick["missing_selected_repositories"]) == (
        "ok", "selected", ["api", "gone"], [11], ["gone"])
    assert doc["targets"][2]["destination"] == {"org": "dst", "app": "actions", "kind": "env",
                                                "repo": "API", "env": "Production",
                                                "scope": "dst/API:Production"}
    assert doc["targets"][3]["status"] == MISSING_TARGET
    template = values_template(targets, source_org="src", dest_org="dst")
    assert tomllib.loads(template) == {"actions:org:PICK": "", "actions:repo:api:A": "",
                                       "actions:env:api:production:E": ""}
    assert '# A = ""  # 1 target' in template
    assert '# "actions:repo:nowhere:A" = ""  # repository nowhere does not exist' in template
    # the template is itself a valid values file for these targets
    assert match_values(targets, parse_values(template, "toml")).problems == ()


def test_template_path_sits_beside_the_plan() -> None:
    """plan.json → plan.values.toml; a name without suffix gets the suffix appended."""
    assert template_path("out/plan.json") == "out/plan.values.toml"
    assert template_path("out/plan") == "out/plan.values.toml"


# -- report ------------------------------------------------------------------------------------

def test_report_sorts_each_target_into_one_status() -> None:
    """Missing targets, selected repositories DST lacks (apart from the secret's own item: a
    selection can be short while the secret migrates), missing values, unchanged, migrated, failed and
    not-written items, each by DST scope and name with its key; exit 1 on any problem."""
    targets = map_targets(inventory(
        org_secret("PICK", "selected", ("gone",)), repo_secret("api", "A"),
        repo_secret("web", "A"), repo_secret("legacy", "A"), repo_secret("api", "B"),
        repo_secret("nowhere", "A")), DST)
    pick, api_a, web_a, legacy_a, api_b, _ = targets
    plan = [PlanItem(Change.CREATE, pick.scope, "PICK"),
            PlanItem(Change.UNCHANGED, api_a.scope, "A"),
            PlanItem(Change.UPDATE, web_a.scope, "A"),
            PlanItem(Change.DRIFTED, legacy_a.scope, "A")]
    outcomes = [Outcome(Action(Op.PUT, pick.scope, "PICK"), Result.CREATED, 201),
                Outcome(Action(Op.PUT, web_a.scope, "A"), Result.FAILED, 422, error="422 bad")]
    items = build_report(targets, [api_b], plan, outcomes, not_written_why="held back")
    assert [(i.status, str(i.scope), i.name, i.why) for i in items] == [
        (MISSING_VALUE, "dst/API", "B", "no value given"),
        (MISSING_TARGET, "dst/nowhere", "A", "repository nowhere does not exist in dst"),
        (MISSING_SELECTED, "dst", "PICK", "selected repository gone does not exist in dst"),
        (FAILED, "dst/web", "A", "422 bad"),
        (NOT_WRITTEN, "dst/legacy", "A", "held back (would drifted)"),
        (MIGRATED, "dst", "PICK", "created"),
        (UNCHANGED, "dst/API", "A", ""),
    ]
    assert report_exit_code(items) == 1
    assert report_exit_code([i for i in items if i.status in (MIGRATED, UNCHANGED)]) == 0
    text = render_report_text(items, "migrate src -> dst")
    assert "missing value 1, missing target 1, missing selected repository 1, failed 1, " \
           "not written 1, migrated 1, unchanged 1" in text
    assert "  B in dst/API  [actions:repo:api:B]: no value given" in text
    assert "  PICK in dst (created)  [actions:org:PICK]" in text
    report = json.loads(render_report_json(items, {"command": "migrate"}))
    assert report["counts"][MISSING_TARGET] == 1 and len(report["items"]) == 7


def test_a_write_a_stop_kept_back_is_not_written_not_failed() -> None:
    """An interrupted run's unsent writes are reported as not written (the next run resumes
    them), not as failures."""
    (web_a,) = map_targets(inventory(repo_secret("web", "A")), DST)
    plan = [PlanItem(Change.UPDATE, web_a.scope, "A")]
    outcomes = [Outcome(Action(Op.PUT, web_a.scope, "A"), Result.SKIPPED,
                        stopped_by=StopReason(Stop.INTERRUPTED))]
    items = build_report([web_a], [], plan, outcomes)
    assert [(i.status, i.why) for i in items] == [(NOT_WRITTEN, "interrupted")]
    assert report_exit_code(items, outcomes) == 1  # not done: the exit code says so
    assert report_exit_code(items) == 0



def test_the_command_reports_what_the_migration_returned_and_decides_the_exit_code(
        tmp_path: Path) -> None:
    """report() alone prints a migration's result (the machinery prints nothing and returns no
    exit code): the text report on stdout, the --report file, exit 1 for a failed item; a
    written plan is reported with exit 0."""
    import io

    from syncer.commands import Output
    from syncer.commands import migrate as command
    from syncer.migrate.plan_out import PlanWritten
    from syncer.migrate.report import RunCost
    from syncer.migrate.run import Migrated
    from syncer.observe.summary import summarize

    (web_a,) = map_targets(inventory(repo_secret("web", "A")), DST)
    plan = [PlanItem(Change.UPDATE, web_a.scope, "A")]
    outcomes = [Outcome(Action(Op.PUT, web_a.scope, "A"), Result.FAILED, 422, error="422 bad")]
    items = build_report([web_a], [], plan, outcomes)
    cost = RunCost(requests=3, retries=0, rate_limit_waits=0, wait_seconds=0.0,
                   paced_seconds=0.0, seconds=1.0)
    result = Migrated(tuple(items), tuple(outcomes), cost,
                      summarize(outcomes, requests=3, retries=0, waits=0, wait_seconds=0.0,
                                seconds=1.0),
                      "dst.example", tuple(plan), "src.example", ("left behind: nothing",))
    argv = ("--from", "src", "--to", "dst", "--values", "v.env", "--report",
            str(tmp_path / "run.json"))
    request = command.request_from(parse_migrate(*argv, "--state", "s.json", "-q"))
    stdout, stderr = io.StringIO(), io.StringIO()
    assert command.report(request, result, Output(stdout, stderr)) == 1
    text = stdout.getvalue()
    assert text.startswith("migrate src (src.example) -> dst (dst.example)\n"), text
    assert "left behind: nothing" in text and "  A in dst/web  [actions:repo:web:A]: 422 bad" in text
    assert json.loads((tmp_path / "run.json").read_text())["command"] == "migrate"
    written = PlanWritten("p.json", "p.values.toml", {"ok": 1}, (), (web_a,))
    request = command.request_from(parse_migrate("--from", "src", "--to", "dst", "--plan-out",
                                                 "p.json", "--state", "s.json", "-q"))
    stdout = io.StringIO()
    assert command.report(request, written, Output(stdout, stderr)) == 0
    assert stdout.getvalue() == ("plan of src -> dst: ok 1\n"
                                 "wrote p.json and the values template p.values.toml\n")


# -- export ------------------------------------------------------------------------------------

def fake_keys(targets: list[Target]) -> dict[Scope, PublicKey]:
    return {t.scope: PublicKey(f"kid-{t.scope}", base64.b64encode(bytes(32)).decode())
            for t in targets}


def test_export_plan_places_each_secret_where_a_workflow_can_read_it() -> None:
    """Repo secrets in their repository, env secrets in a job with that environment, org secrets
    in one repository that can see them all and has no shadowing repo secret; Dependabot
    secrets, archived SRC repositories and missing targets are not exportable."""
    inv = inventory(
        org_secret("ALL"), org_secret("PRIV", "private"), org_secret("PICK", "selected",
                                                                       ("web", "docs")),
        org_secret("NPM", "private", app="dependabot"),
        repo_secret("api", "A"), repo_secret("api", "N", "dependabot"),
        env_secret("api", "production", "E"), repo_secret("web", "ALL"),
        repo_secret("legacy", "A"), repo_secret("nowhere", "A"))
    targets = map_targets(inv, DST)
    jobs, skipped = plan_export(inv, targets)
    assert [(j.id, j.repository, j.environment, [t.name for t in j.targets]) for j in jobs] == [
        ("org_1", "src/api", None, ["ALL", "PRIV"]),  # api, docs, web each read two (web's
        ("org_2", "src/docs", None, ["PICK"]),  # own ALL shadows); ties go by name
        ("repo_1", "src/api", None, ["A"]),
        ("env_1", "src/api", "production", ["E"]),
        ("repo_2", "src/web", None, ["ALL"]),
    ]
    assert [(t.target.key, t.why.split(":")[0]) for t in skipped] == [
        ("dependabot:org:NPM", "dependabot secrets cannot be read by an Actions workflow"),
        ("dependabot:repo:api:N", "dependabot secrets cannot be read by an Actions workflow"),
        ("actions:repo:legacy:A", "src/legacy is archived"),
        ("actions:repo:nowhere:A", "missing target"),
    ]


def test_org_secret_no_repository_can_read_is_not_exported() -> None:
    """A selected org secret whose only repository shadows it with its own secret cannot be
    read by any workflow."""
    inv = inventory(org_secret("X", "selected", ("api",)), repo_secret("api", "X"))
    jobs, skipped = plan_export(inv, map_targets(inv, DST))
    assert [j.id for j in jobs] == ["repo_1"]
    assert [s.target.key for s in skipped] == ["actions:org:X"]


def test_seal_for_export_seals_for_the_destination_key_and_skips_unreadable() -> None:
    """Each value is sealed with its entry's public key (the private key opens it); an entry
    whose value is empty is left out; the output carries no plaintext."""
    private = PrivateKey.generate()
    public = base64.b64encode(bytes(private.public_key)).decode()
    spec = [{"name": n, "dst": {"org": "dst", "app": "actions", "kind": "org", "repo": None,
                                "env": None}, "key_id": "k1", "key": public,
             "visibility": "selected", "selected_repository_ids": [5]} for n in ("A", "B")]
    sealed = seal_for_export({"A": SECRET, "B": ""}, spec)
    assert len(sealed) == 1 and SECRET not in json.dumps(sealed)
    entry = sealed[0]
    assert (entry["name"], entry["key_id"], entry["visibility"],
            entry["selected_repository_ids"]) == ("A", "k1", "selected", [5])
    opened = SealedBox(private).decrypt(base64.b64decode(entry["encrypted_value"]))
    assert opened == SECRET.encode()


def test_export_script_embeds_seal_for_export_verbatim_and_runs(tmp_path) -> None:
    """The workflow's script contains this module's seal_for_export source unchanged, holds no
    Actions expression, and, run by python, seals the env's values into the output file and
    fails (after writing it) for names it could not read."""
    script = export_script()
    assert textwrap.dedent(inspect.getsource(seal_for_export)) in script
    assert "${{" not in script
    private = PrivateKey.generate()
    spec = [{"name": n, "dst": {"org": "dst", "app": "actions", "kind": "repo", "repo": "api",
                                "env": None}, "key_id": "k", "key":
             base64.b64encode(bytes(private.public_key)).decode()} for n in ("A", "B")]
    path = tmp_path / "s.py"
    path.write_text(script)
    out = tmp_path / "out.json"
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, env={
        "SYNCER_SPEC": json.dumps(spec), "SYNCER_OUT": str(out),
        "SYNCER_EXPORT_A": SECRET, "SYNCER_EXPORT_B": ""}, check=False)
    assert done.returncode == 1 and "::error::B was empty" in done.stdout
    assert SECRET not in done.stdout + done.stderr
    document = json.loads(out.read_text())
    assert document["syncer_sealed"] == 1 and [e["name"] for e in document["sealed"]] == ["A"]
    sealed = base64.b64decode(document["sealed"][0]["encrypted_value"])
    assert SealedBox(private).decrypt(sealed) == SECRET.encode()


def test_workflow_yaml_shape() -> None:
    """Valid YAML: dispatch trigger, no permissions, per job an `if:` on the repository, the
    environment where needed, secrets referenced by name in the sealing step's env, the spec
    with public keys only, and the artifact action the source host supports."""
    yaml = pytest.importorskip("yaml")
    inv = inventory(org_secret("ALL"), env_secret("api", "production", "E"))
    targets = map_targets(inv, DST)
    jobs, _ = plan_export(inv, targets)
    text = render_workflow(jobs, fake_keys(targets), source_org="src", dest_org="dst",
                           upload_action=artifact_action("https://ghe.corp/api/v3"))
    workflow = yaml.safe_load(text)
    assert workflow["on"] == {"workflow_dispatch": {}} and workflow["permissions"] == {}
    env_job = workflow["jobs"]["env_1"]
    assert env_job["environment"] == "production"
    assert env_job["if"] == "github.repository == 'src/api'"
    step = next(s for s in env_job["steps"] if s.get("shell") == "python")
    assert step["env"]["SYNCER_EXPORT_E"] == "${{ secrets.E }}"
    spec = json.loads(step["env"]["SYNCER_SPEC"])
    assert spec == [{"name": "E", "dst": {"org": "dst", "app": "actions", "kind": "env",
                                          "repo": "API", "env": "Production"},
                     "key_id": "kid-dst/API:Production", "key": spec[0]["key"],
                     "visibility": None, "selected_repository_ids": None}]
    assert step["run"] == export_script()
    assert env_job["steps"][-1]["uses"] == f"actions/upload-artifact@{UPLOAD_ARTIFACT_V3.commit}"
    assert env_job["steps"][-1]["if"] == "always()"


def test_artifact_action_by_host() -> None:
    """upload-artifact v4 on github.com and GHE.com; v3 on an Enterprise Server."""
    assert artifact_action("https://api.github.com").version.startswith("v4.")
    assert artifact_action("https://api.acme.ghe.com").version.startswith("v4.")
    assert artifact_action("https://ghe.corp/api/v3").version.startswith("v3.")


# -- import ------------------------------------------------------------------------------------

def sealed_item(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"dst": {"org": "dst", "app": "actions", "kind": "repo",
                                    "repo": "api", "env": None},
                            "name": "a", "key_id": "k1", "encrypted_value": "c2VhbGVk"}
    item.update(changes)
    return item


def test_parse_sealed_reads_entries_and_refuses_bad_ones_without_quoting_ciphertexts() -> None:
    """Entries become scopes, names (upper-case), key ids and selections; a foreign org, a bad
    visibility, a missing field, a bad name or a ciphertext that is not base64 (a value pasted
    there, say) is a problem naming the entry."""
    org_dst = {"org": "DST", "app": "dependabot", "kind": "org", "repo": None, "env": None}
    env_dst = {"org": "dst", "app": "actions", "kind": "env", "repo": "api", "env": "prod"}
    good, problems = parse_sealed({"syncer_sealed": 1, "sealed": [
        sealed_item(), sealed_item(dst=org_dst, visibility="selected",
                                   selected_repository_ids=[3, 1]),
        sealed_item(dst=env_dst)]}, "f.json", "dst")
    assert problems == []
    assert [(e.scope, e.name, e.key_id, e.selection) for e in good] == [
        (Scope.of_repo("dst", "api"), "A", "k1", None),
        (Scope.of_org("dst", "dependabot"), "A", "k1", OrgSelection("selected", (1, 3))),
        (Scope.of_env("dst", "api", "prod"), "A", "k1", None)]
    _, problems = parse_sealed([
        sealed_item(dst={**sealed_item()["dst"], "org": "other"}),
        sealed_item(dst={**org_dst}, visibility="public"),
        sealed_item(key_id=""), sealed_item(name="1bad"),
        sealed_item(dst={**sealed_item()["dst"], "kind": "team"}), "nope",
        sealed_item(encrypted_value=f"{SECRET}é")], "f.json", "dst")
    assert [p.split(": ", 1)[0] for p in problems] == [f"f.json entry {i}" for i in range(7)]
    assert "not base64" in problems[6]
    assert "not --to dst" in problems[0] and "visibility" in problems[1]
    assert SECRET not in "".join(problems)
    assert parse_sealed({"other": 1}, "f.json", "dst")[1][0].startswith("f.json: expected")


def test_import_rounds_keep_one_key_id_per_scope_and_refuse_duplicates() -> None:
    """The engine knows one key per scope, so entries for the same scope under another key_id go
    in a later round; the same secret twice is a problem."""
    entries, _ = parse_sealed([sealed_item(name="A"), sealed_item(name="B", key_id="k2"),
                               sealed_item(name="C"), sealed_item(name="A", key_id="k3"),
                               sealed_item(name="D", dst={**sealed_item()["dst"], "repo": "web"},
                                           key_id="k9")], "f", "dst")
    rounds, problems = import_rounds(entries)
    assert [[(e.name, e.key_id) for e in r] for r in rounds] == [
        [("A", "k1"), ("C", "k1"), ("D", "k9")], [("B", "k2")]]
    assert problems == ["f entry 3: A in dst/api is also in f entry 0"]


def test_secret_values_stay_masked() -> None:
    """Values matched from a file are SecretValues: their repr never shows the value."""
    targets = map_targets(inventory(repo_secret("api", "A")), DST)
    matching = match_values(targets, values(f"A={SECRET}\n"))
    assert SECRET not in repr(matching) and SECRET not in str(matching.values)
    assert isinstance(next(iter(matching.values.values())), SecretValue)


# -- arguments ---------------------------------------------------------------------------------

def parse_migrate(*argv: str, parents: tuple[Any, ...] = ()) -> Any:
    import argparse

    from syncer.commands.migrate import add_arguments

    parser = argparse.ArgumentParser(parents=list(parents))
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_arguments_and_their_combinations() -> None:
    """--from/--to are required, the three modes exclude each other, --values goes with the
    migration only and is needed unless planning, exporting, importing or dry-running."""
    from syncer.commands import migrate
    from syncer.exits import UsageError

    def request_from(args: Any) -> Any:
        return migrate.request_from(args).migration

    args = parse_migrate("--from", "a", "--to", "b", "--values", "v.env", "--repos", "api-*",
                         "--repos", "web", "--allow-partial", "--format", "json")
    request = request_from(args)
    assert (request.source, request.dest, request.repos, request.values, request.allow_partial,
            request.format) == ("a", "b", ("api-*", "web"), "v.env", True, "json")
    imported = request_from(parse_migrate("--from", "a", "--to", "b", "--import-sealed", "x",
                                          "--import-sealed", "y"))
    assert imported.import_sealed == ("x", "y")
    with pytest.raises(SystemExit):
        parse_migrate("--from", "a", "--to", "b", "--plan-out", "p", "--export-workflow", "w")
    with pytest.raises(SystemExit):
        parse_migrate("--to", "b", "--values", "v.env")
    with pytest.raises(UsageError, match="--values cannot be combined with --plan-out"):
        request_from(parse_migrate("--from", "a", "--to", "b", "--plan-out", "p", "--values",
                                   "v.env"))
    with pytest.raises(UsageError, match="--values FILE is required"):
        request_from(parse_migrate("--from", "a", "--to", "b"))
    assert request_from(parse_migrate("--from", "a", "--to", "b", "--dry-run")).dry_run


def test_the_shared_state_and_format_options_reach_the_migration() -> None:
    """migrate takes the shared --state (and its own --format) like every command."""
    from syncer.commands import migrate

    args = parse_migrate("--from", "a", "--to", "b", "--dry-run", "--state", "s.json",
                         "--format", "json")
    request = migrate.request_from(args).migration
    assert (request.state, request.format) == ("s.json", "json")


def test_secrets_named_out_or_spec_do_not_collide_with_the_sealing_steps_settings() -> None:
    """Each secret reaches the sealing step as SYNCER_EXPORT_<NAME>; the step's own settings
    live outside that prefix, so secrets called OUT and SPEC change nothing but themselves."""
    inv = inventory(org_secret("OUT"), org_secret("SPEC"))
    targets = map_targets(inv, DST)
    jobs, _ = plan_export(inv, targets)
    text = render_workflow(jobs, fake_keys(targets), source_org="src", dest_org="dst",
                           upload_action=artifact_action("https://api.github.com"))
    keys = [line.split(":")[0].strip() for line in text.splitlines()
            if line.strip().startswith("SYNCER_")]
    assert sorted(keys) == ["SYNCER_EXPORT_OUT", "SYNCER_EXPORT_SPEC", "SYNCER_OUT",
                            "SYNCER_SPEC"]
