"""The pure decisions of `syncer migrate`: plain data in, plain data out, no I/O.

    Inventory (SRC) × Destination (DST) ──map_targets──► Targets (ok | missing target)
    Targets × values file ──match_values──► a value per target, missing values, bad keys
    Targets × DST public keys ──plan_export──► workflow jobs ──render_workflow──► YAML
    sealed documents ──parse_sealed / import_rounds──► pre-sealed writes

Variables (Scope.target "variable") are mapped as secrets are and bring their values from SRC;
they have no values-file key (reports name them `var:` + the key a secret there would have).

Mapping: an org secret goes to DST's org (same app, same visibility; `selected` repositories are
mapped by repository *name* to DST's ids); a repository secret to the same-named repository of
DST; an environment secret to the same environment of that repository. Names of repositories,
environments and secrets are compared case-insensitively, as GitHub does. Nothing is guessed: a
repository or environment DST lacks, or an archived DST repository (read-only), makes the target
"missing"; a selected repository DST lacks is listed and left out of the selection.

Value keys (values file and template):

    actions:org:NAME                  an organisation secret for Actions
    dependabot:org:NAME               an organisation secret for Dependabot (codespaces:, agents:)
    actions:repo:REPO:NAME            a repository secret (dependabot:, codespaces:, agents:)
    actions:env:REPO:ENV:NAME         an environment secret (Actions only)
    NAME                              the same value for every secret called NAME

Why this is unambiguous: a secret name is `[A-Za-z0-9_]` and a repository name has no colon, so
the first two fields, the third (the repository) and the last (the name) are fixed; whatever lies
between the repository and the name is the environment, colons and all. A scoped key wins over
a bare NAME; an empty value counts as not given (so a template's `""` placeholders fall back to
the bare NAME, or are reported as missing). The organisation is never part of a key: it is --from.
"""

from __future__ import annotations

import inspect
import json
import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..core.model import (
    APPS,
    App,
    OrgSelection,
    Outcome,
    PublicKey,
    Repo,
    Result,
    Scope,
    SecretValue,
    Visibility,
)
from ..core.names import secret_name_problem
from ..core.plan import Change, PlanItem
from ..observe.summary import stop_text
from .values_file import Entry, ValuesFile

MIGRATED_APPS: tuple[App, ...] = ("actions", "dependabot", "codespaces", "agents")
VISIBILITIES: tuple[Visibility, ...] = ("all", "private", "selected")
KEY_SYNTAX = ("APP:org:NAME, APP:repo:REPO:NAME, actions:env:REPO:ENV:NAME or NAME "
              "(APP: actions, dependabot, codespaces or agents)")
#: a variable's report key: its place as a secret's key says it, marked (no values file needs it)
VARIABLE_KEY_PREFIX = "var:"

# Report statuses, in the order reports show them.
MISSING_VALUE = "missing value"
MISSING_TARGET = "missing target"
# an org secret's selected repository DST lacks: the secret itself has its own item
MISSING_SELECTED = "missing selected repository"
FAILED = "failed"
NOT_WRITTEN = "not written"
MIGRATED = "migrated"
UNCHANGED = "unchanged"
STATUSES = (MISSING_VALUE, MISSING_TARGET, MISSING_SELECTED, FAILED, NOT_WRITTEN, MIGRATED,
            UNCHANGED)
PROBLEMS = (MISSING_VALUE, MISSING_TARGET, MISSING_SELECTED, FAILED)


# -- inventory and mapping ---------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SourceSecret:
    """One secret (or variable: `scope.target`) of SRC: where it lives, its name, and for org
    ones who may read it; a variable's value comes with it, as GitHub returns it."""

    scope: Scope
    name: str
    visibility: Visibility | None = None  # org secrets only
    selected: tuple[str, ...] = ()  # SRC repository names, when visibility is "selected"
    value: str | None = None  # variables only

    @property
    def is_variable(self) -> bool:
        return self.scope.target == "variable"


@dataclass(frozen=True, slots=True)
class Inventory:
    org: str
    repos: tuple[Repo, ...]  # every SRC repository, archived ones and those outside --repos too
    secrets: tuple[SourceSecret, ...]
    outside: frozenset[str] = frozenset()  # lower-case names of repos left out by --repos
    #: upper-case names of SRC secrets left out by --name
    left_out_names: frozenset[str] = frozenset()
    #: what is left behind, and why: stores SRC's token may not read (see migrate's _Lister),
    #: agents secrets and variables DST's host has none of
    unread: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Destination:
    org: str
    repos: Mapping[str, Repo]  # lower-case name → repository
    #: lower-case repository name → {lower-case environment name: its name}; read only for
    #: repositories that environment secrets go to.
    environments: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: apps whose secrets DST does not serve (Codespaces on Enterprise Server) → why
    unavailable: Mapping[str, str] = field(default_factory=dict)

    def repo(self, name: str) -> Repo | None:
        return self.repos.get(name.lower())

    def environment(self, repo: str, env: str) -> str | None:
        return self.environments.get(repo.lower(), {}).get(env.lower())


@dataclass(frozen=True, slots=True)
class Target:
    """Where one SRC secret goes in DST, or why it cannot go there."""

    source: SourceSecret
    scope: Scope  # in DST, with repo_id when the repository exists
    selection: OrgSelection | None = None  # org secrets: visibility and mapped ids
    missing: str | None = None  # why the target cannot be written; None: it can
    unmapped: tuple[str, ...] = ()  # selected SRC repositories DST does not have

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def key(self) -> str:
        return value_key(self.source)

    @property
    def writable(self) -> bool:
        return self.missing is None


def index_repos(repos: Iterable[Repo]) -> dict[str, Repo]:
    return {r.name.lower(): r for r in repos}


def map_targets(inventory: Inventory, dest: Destination) -> list[Target]:
    """Each SRC secret's (or variable's) target in DST, in inventory order."""
    return [_in_store(_map_one(secret, dest)) for secret in inventory.secrets]


def _in_store(target: Target) -> Target:
    """A variable's target is among DST's variables of the place the mapping found."""
    if target.source.is_variable:
        return replace(target, scope=target.scope.variables())
    return target


def secrets_only(targets: Iterable[Target]) -> list[Target]:
    """The targets that need a value from the operator (variables bring their own)."""
    return [t for t in targets if not t.source.is_variable]


def _map_one(secret: SourceSecret, dest: Destination) -> Target:
    src = secret.scope
    if src.app in dest.unavailable:
        scope = (Scope.of_org(dest.org, src.app) if src.kind == "org" else
                 Scope.of_repo(dest.org, src.repo or "", src.app))
        return Target(secret, scope, missing=dest.unavailable[src.app])
    if src.kind == "org":
        visibility: Visibility = secret.visibility or "private"
        if visibility != "selected":
            return Target(secret, Scope.of_org(dest.org, src.app), OrgSelection(visibility))
        ids: list[int] = []
        unmapped: list[str] = []
        for name in secret.selected:
            found = dest.repo(name)
            if found is None:
                unmapped.append(name)
            else:
                ids.append(found.id)
        return Target(secret, Scope.of_org(dest.org, src.app),
                      OrgSelection("selected", tuple(sorted(set(ids)))), unmapped=tuple(unmapped))
    assert src.repo is not None
    repo = dest.repo(src.repo)
    repo_name = repo.name if repo else src.repo
    repo_id = repo.id if repo else None
    if src.kind == "repo":
        scope = Scope.of_repo(dest.org, repo_name, src.app, repo_id)
    else:
        assert src.env is not None
        env = dest.environment(repo_name, src.env) if repo else None
        scope = Scope.of_env(dest.org, repo_name, env or src.env, repo_id)
    if repo is None:
        return Target(secret, scope, missing=f"repository {src.repo} does not exist in {dest.org}")
    if repo.archived:
        return Target(secret, scope, missing=f"{dest.org}/{repo.name} is archived (read-only)")
    if src.kind == "env" and dest.environment(repo.name, src.env or "") is None:
        return Target(secret, scope, missing=f"environment {src.env} does not exist in "
                                             f"{dest.org}/{repo.name}")
    return Target(secret, scope)


def repos_needing_environments(inventory: Inventory, dest_repos: Mapping[str, Repo]) -> list[str]:
    """DST repositories whose environments must be read: targets of environment secrets (and
    variables)."""
    wanted = {s.scope.repo.lower() for s in inventory.secrets
              if s.scope.kind == "env" and s.scope.repo}
    return sorted(dest_repos[n].name for n in wanted
                  if n in dest_repos and not dest_repos[n].archived)


# -- value keys --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ValueKey:
    """A parsed key, normalised for comparison (names upper-case, repo and env lower-case)."""

    name: str
    app: str | None = None  # None: a bare NAME
    kind: str | None = None
    repo: str | None = None
    env: str | None = None

    @property
    def scoped(self) -> bool:
        return self.kind is not None


def value_key(secret: SourceSecret) -> str:
    """The key that names one SRC secret in a values file; a variable's, prefixed with
    VARIABLE_KEY_PREFIX, names it in reports only."""
    scope = secret.scope
    mark = VARIABLE_KEY_PREFIX if secret.is_variable else ""
    if scope.kind == "org":
        return f"{mark}{scope.app}:org:{secret.name}"
    if scope.kind == "repo":
        return f"{mark}{scope.app}:repo:{scope.repo}:{secret.name}"
    return f"{mark}{scope.app}:env:{scope.repo}:{scope.env}:{secret.name}"


def key_of(secret: SourceSecret) -> ValueKey:
    scope = secret.scope
    return ValueKey(secret.name.upper(), scope.app, scope.kind,
                    scope.repo.lower() if scope.repo else None,
                    scope.env.lower() if scope.env else None)


def parse_value_key(text: str) -> ValueKey:
    """A key of the syntax in the module docstring, or ValueError saying what is wrong."""
    parts = text.strip().split(":")
    if len(parts) == 1:
        return ValueKey(_checked_name(parts[0]))
    app, kind = parts[0].lower(), parts[1].lower() if len(parts) > 1 else ""
    if app not in MIGRATED_APPS:
        raise ValueError(f"a scoped key starts with actions:, dependabot:, codespaces: or "
                         f"agents:; expected {KEY_SYNTAX}")
    if kind == "org" and len(parts) == 3:
        return ValueKey(_checked_name(parts[2]), app, "org")
    if kind == "repo" and len(parts) == 4 and parts[2]:
        return ValueKey(_checked_name(parts[3]), app, "repo", parts[2].lower())
    if kind == "env" and len(parts) >= 5 and parts[2] and all(parts[3:-1]):
        if app != "actions":
            raise ValueError("environment secrets exist for actions only")
        env = ":".join(parts[3:-1])
        return ValueKey(_checked_name(parts[-1]), app, "env", parts[2].lower(), env.lower())
    raise ValueError(f"expected {KEY_SYNTAX}")


def _checked_name(name: str) -> str:
    problem = secret_name_problem(name.strip())
    if problem is not None:
        raise ValueError(problem)
    return name.strip().upper()


@dataclass(frozen=True)
class Matching:
    """What a values file gives: a value per writable target, what is missing, what is wrong."""

    values: dict[ValueKey, SecretValue]
    missing: tuple[Target, ...]
    problems: tuple[str, ...]  # malformed or unknown keys, "FILE:LINE: ..."
    ignored: tuple[str, ...] = ()  # keys for repositories left out by --repos


def match_values(targets: Sequence[Target], values: ValuesFile | None,
                 outside: Iterable[str] = (), left_out_names: Iterable[str] = ()) -> Matching:
    """Each writable target's value: its scoped key, else its bare NAME; empty means not given.

    Keys that name nothing in the inventory are problems, except keys that may concern the
    repositories --repos left out (`outside`, lower-case names): a scoped key for one of them,
    or a bare NAME when some were left out; and keys naming a secret --name left out
    (`left_out_names`, upper-case). Those are only ignored (and noted).
    """
    targets = secrets_only(targets)
    outside = frozenset(outside)
    left_out = frozenset(left_out_names)
    by_key = {key_of(t.source): t for t in targets}
    names = {t.name.upper() for t in targets}
    scoped: dict[ValueKey, Entry] = {}
    bare: dict[str, Entry] = {}
    problems: list[str] = []
    ignored: list[str] = []
    seen_at: dict[ValueKey, str] = {}
    for entry in values.entries if values else ():
        where = values.where(entry) if values else ""
        try:
            key = parse_value_key(entry.key)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if key in seen_at:  # differently written keys for the same secret (case)
            problems.append(f"{where}: names the same secret as {seen_at[key]}")
            continue
        seen_at[key] = where
        if key.name in left_out and key.name not in names:
            ignored.append(f"{where}: a secret --name leaves out, ignored")
        elif not key.scoped:
            if key.name in names:
                bare[key.name] = entry
            elif outside:  # it may name secrets of the repositories --repos left out
                ignored.append(f"{where}: no secret of that name in the "
                               "repositories selected by --repos, ignored")
            else:
                problems.append(f"{where}: no secret of that name in the source")
        elif key in by_key:
            scoped[key] = entry
        elif key.repo is not None and key.repo in outside:
            ignored.append(f"{where}: repository outside --repos, ignored")
        else:
            problems.append(f"{where}: no such secret in the source")
    chosen: dict[ValueKey, SecretValue] = {}
    missing: list[Target] = []
    for target in targets:
        if not target.writable:
            continue
        key = key_of(target.source)
        given = scoped.get(key)
        if given is None or not len(given.value):
            given = bare.get(key.name)
        if given is None or not len(given.value):
            missing.append(target)
        else:
            chosen[key] = given.value
    return Matching(chosen, tuple(missing), tuple(problems), tuple(ignored))


def host_of(api_url: str) -> str:
    return urlsplit(api_url).netloc or api_url


# -- the plan file and the values template -----------------------------------------------------

def scope_json(scope: Scope) -> dict[str, Any]:
    return {"org": scope.org, "app": scope.app, "kind": scope.kind, "repo": scope.repo,
            "env": scope.env}


def plan_document(targets: Sequence[Target], *, source: str, source_org: str,
                  dest: str, dest_org: str, unread: Sequence[str] = ()) -> dict[str, Any]:
    """The migration plan as JSON-able data: every target, its status, and no value; `unread`
    says which Codespaces secrets SRC's token could not list (Inventory.unread)."""
    rows = []
    for t in targets:
        row: dict[str, Any] = {
            "status": "ok" if t.writable else MISSING_TARGET,
            "why": t.missing or "",
            "target": t.scope.target,
            "name": t.name,
            "key": t.key,
            "source": {**scope_json(t.source.scope), "scope": str(t.source.scope)},
            "destination": {**scope_json(t.scope), "scope": str(t.scope)},
        }
        if t.selection is not None:
            row["visibility"] = t.selection.visibility
            if t.selection.visibility == "selected":
                row["selected_repositories"] = list(t.source.selected)
                row["selected_repository_ids"] = list(t.selection.repository_ids)
                row["missing_selected_repositories"] = list(t.unmapped)
        rows.append(row)
    writable = sum(t.writable for t in targets)
    return {
        "syncer_migration_plan": 1,
        "from": {"host": source, "org": source_org},
        "to": {"host": dest, "org": dest_org},
        "counts": {"ok": writable, MISSING_TARGET: len(targets) - writable,
                   "missing selected repositories": sum(len(t.unmapped) for t in targets),
                   "variables": sum(t.source.is_variable for t in targets)},
        "left_behind": list(unread),
        "targets": rows,
    }


def template_path(plan_path: str) -> str:
    """The values template beside a plan file: plan.json → plan.values.toml."""
    path = Path(plan_path)
    return str(path.with_suffix(".values.toml") if path.suffix else
               path.with_name(path.name + ".values.toml"))


def values_template(targets: Sequence[Target], *, source_org: str, dest_org: str) -> str:
    """A TOML values file with every key that needs a value, each set to "" (not given).
    Variables need none: they are copied with the values SRC holds."""
    variables = len(targets) - len(secrets_only(targets))
    targets = secrets_only(targets)
    counts: dict[str, int] = {}
    for t in targets:
        if t.writable:
            counts[t.name] = counts.get(t.name, 0) + 1
    lines = [
        f"# Values for: syncer migrate --from {source_org} --to {dest_org} --values THIS_FILE",
        "#",
        "# Keys (quoted, because they contain colons):",
        '#   "actions:org:NAME"            organisation secret for Actions',
        '#   "dependabot:org:NAME"         organisation secret for Dependabot (codespaces:, agents:)',
        '#   "actions:repo:REPO:NAME"      repository secret (dependabot:, codespaces:, agents:)',
        '#   "actions:env:REPO:ENV:NAME"   environment secret',
        "#   NAME                          the same value for every secret called NAME",
        "# A scoped key wins over NAME. An empty value (\"\") counts as not given: the secret then",
        "# takes its NAME line, or is reported as a missing value. Names, repositories and",
        "# environments match case-insensitively; a key that matches no secret is an error.",
        "# Write values as 'literal' or '''multi-line literal''' strings to avoid escaping.",
        "# This file will hold secrets: keep it out of version control, delete it afterwards.",
        *([f"# {variables} variables are copied with the values {source_org} holds: none here."]
          if variables else []),
        "",
        "# -- the same value wherever the name occurs (uncomment to use) --",
    ]
    for name in sorted(counts):
        lines.append(f'# {name} = ""  # {counts[name]} target{"s" if counts[name] != 1 else ""}')
    section = None
    kinds = {"org": 0, "repo": 1, "env": 2}
    ordered = sorted((t for t in targets if t.writable), key=lambda t: (
        MIGRATED_APPS.index(t.source.scope.app) if t.source.scope.app in MIGRATED_APPS else 9,
        kinds[t.source.scope.kind]))  # stable: inventory order within each section
    for t in ordered:
        heading = f"{t.source.scope.app}: {t.source.scope.kind}"
        if heading != section:
            section = heading
            lines += ["", f"# -- {heading} secrets --"]
        note = ""
        if t.selection is not None:
            note = f"  # visibility {t.selection.visibility}"
            if t.selection.visibility == "selected":
                note += f", {len(t.selection.repository_ids)} repositories"
                if t.unmapped:
                    note += f" ({len(t.unmapped)} missing in {dest_org})"
        lines.append(f'{json.dumps(t.key)} = ""{note}')
    missing = [t for t in targets if not t.writable]
    if missing:
        lines += ["", f"# -- targets missing in {dest_org}: no value needed until they exist --"]
        lines += [f'# {json.dumps(t.key)} = ""  # {t.missing}' for t in missing]
    return "\n".join(lines) + "\n"


# -- the report --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ReportItem:
    status: str
    scope: Scope  # in DST
    name: str
    key: str  # the values-file key of its source secret
    why: str = ""
    #: a sealed import failed on a key id DST no longer accepts: its export must be run again
    stale_key: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "target": self.scope.target, "name": self.name,
                "scope": str(self.scope),
                **{k: v for k, v in scope_json(self.scope).items()}, "key": self.key,
                "why": self.why}


def build_report(targets: Sequence[Target], missing_values: Iterable[Target],
                 plan: Iterable[PlanItem], outcomes: Iterable[Outcome], *,
                 resumed: Iterable[tuple[Scope, str]] = (),
                 not_written_why: str = "not written") -> list[ReportItem]:
    """One item per target, and one per selected repository DST lacks, grouped by status.

    `plan` holds what the planner decided for each target that has a value; `outcomes` what the
    engine did with each write it attempted; `resumed` the writes an interrupted run had done
    (its journal says so). A planned write with neither was not written (`not_written_why` says
    why: a dry run, or a run blocked by missing items).
    """
    key_for = {(t.scope, t.name): t.key for t in targets}
    done = {(o.action.scope, o.action.name): o for o in outcomes}
    earlier = set(resumed)
    items: list[ReportItem] = []
    for t in targets:
        if t.missing is not None:
            items.append(ReportItem(MISSING_TARGET, t.scope, t.name, t.key, t.missing))
        for repo in t.unmapped:
            items.append(ReportItem(MISSING_SELECTED, t.scope, t.name, t.key,
                                    f"selected repository {repo} does not exist in {t.scope.org}"))
    items += [ReportItem(MISSING_VALUE, t.scope, t.name, t.key, "no value given")
              for t in missing_values]
    for plan_item in plan:
        scope, name = plan_item.scope, plan_item.name
        key = key_for.get((scope, name), name)
        outcome = done.get((scope, name))
        if plan_item.change is Change.UNCHANGED:
            items.append(ReportItem(UNCHANGED, scope, name, key))
        elif plan_item.change is Change.MISSING_TARGET:
            items.append(ReportItem(MISSING_TARGET, scope, name, key, plan_item.why))
        elif plan_item.change is Change.UNREADABLE:
            items.append(ReportItem(FAILED, scope, name, key, plan_item.why))
        elif outcome is None and (scope, name) in earlier:
            items.append(ReportItem(MIGRATED, scope, name, key, "by the interrupted run"))
        elif outcome is None:
            items.append(ReportItem(NOT_WRITTEN, scope, name, key,
                                    f"{not_written_why} (would {plan_item.change.value})"))
        elif outcome.result in (Result.CREATED, Result.UPDATED):
            items.append(ReportItem(MIGRATED, scope, name, key, outcome.result.value))
        elif outcome.result is Result.SKIPPED:  # a stop (a signal, a spent budget) kept it back
            items.append(ReportItem(NOT_WRITTEN, scope, name, key, stopped_why(outcome)))
        else:
            items.append(ReportItem(FAILED, scope, name, key,
                                    outcome.error or outcome.result.value))
    order = {s: i for i, s in enumerate(STATUSES)}
    return sorted(items, key=lambda i: order[i.status])


def report_counts(items: Iterable[ReportItem], kind: str | None = None) -> dict[str, int]:
    """Items by status; of one kind ("secret" or "variable") when `kind` is given."""
    counts = {s: 0 for s in STATUSES}
    for item in items:
        if kind is None or item.scope.target == kind:
            counts[item.status] += 1
    return counts


def variable_counts_line(items: Sequence[ReportItem]) -> list[str]:
    """'of which variables: migrated 2, unchanged 1' (non-zero statuses), where any."""
    counts = {s: n for s, n in report_counts(items, "variable").items() if n}
    return [f"of which variables: {', '.join(f'{s} {n}' for s, n in counts.items())}"] \
        if counts else []


def report_exit_code(items: Iterable[ReportItem], outcomes: Iterable[Outcome] = ()) -> int:
    """1 when anything is missing or failed, or a stop (a spent budget) kept writes back."""
    stopped = any(o.result is Result.SKIPPED for o in outcomes)
    return 1 if stopped or any(i.status in PROBLEMS for i in items) else 0


def stopped_why(outcome: Outcome) -> str:
    """Why a stop kept a write back ("interrupted", "rate limit budget spent until ...")."""
    return (stop_text(outcome.stopped_by) if outcome.stopped_by else "") or "stopped"


@dataclass(frozen=True, slots=True)
class RunCost:
    """What a run cost, as each of its summaries says it (text, JSON and the log's summary
    event), rounded once so that they agree to the digit."""

    requests: int  # sent to either side
    retries: int
    rate_limit_waits: int
    wait_seconds: float  # waits announced for GitHub's rate limits
    #: wall-clock time during which requests waited for room under the pace; a pacer lets
    #: one request wait at a time, and the two sides are read one after the other, so it never
    #: exceeds `seconds`
    paced_seconds: float
    seconds: float  # since the process started

    def as_json(self) -> dict[str, int | float]:
        return {"requests": self.requests, "retries": self.retries,
                "rate_limit_waits": self.rate_limit_waits,
                "wait_s": round(self.wait_seconds, 2), "paced_s": round(self.paced_seconds, 2),
                "seconds": round(self.seconds, 2)}

    def line(self) -> str:
        """'812 requests, 0 retries, 0 rate-limit waits (0.00 s), paced 95.20 s, 121.31 s'."""
        rounded = self.as_json()
        return (f"{self.requests} requests, {self.retries} retries, {self.rate_limit_waits} "
                f"rate-limit waits ({rounded['wait_s']:.2f} s), paced {rounded['paced_s']:.2f} s,"
                f" {rounded['seconds']:.2f} s since start")


def counts_event(items: Iterable[ReportItem]) -> dict[str, int]:
    """The report's counts as log fields: "not written" → not_written."""
    return {status.replace(" ", "_"): n for status, n in report_counts(items).items()}


def render_report_text(items: Sequence[ReportItem], header: str,
                       notes: Sequence[str] = (), *, cost: RunCost | None = None,
                       verbose: bool = False) -> str:
    """Counts, cost and notes, then every item by status, except unchanged ones unless
    `verbose`: a re-run over thousands of secrets must not print a line for each."""
    counts = report_counts(items)
    lines = [header, ", ".join(f"{s} {n}" for s, n in counts.items()),
             *variable_counts_line(items), *([cost.line()] if cost else []), *notes]
    for status in STATUSES:
        chosen = [i for i in items if i.status == status]
        if not chosen:
            continue
        if status == UNCHANGED and not verbose:
            lines.append(f"{status} ({len(chosen)}): not listed (-v lists them)")
            continue
        lines.append(f"{status} ({len(chosen)}):")
        for item in chosen:
            why = f": {item.why}" if item.why and status != MIGRATED else ""
            done = f" ({item.why})" if status == MIGRATED else ""
            lines.append(f"  {item.name} in {item.scope}{done}  [{item.key}]{why}")
    return "\n".join(lines)


def render_report_json(items: Sequence[ReportItem], head: Mapping[str, Any],
                       cost: RunCost | None = None) -> str:
    """Counts, cost and every item, unchanged ones too: a program filters by status."""
    return json.dumps({**head, "counts": report_counts(items),
                       "variable_counts": report_counts(items, "variable"),
                       **({"run": cost.as_json()} if cost else {}),
                       "items": [i.as_json() for i in items]}, indent=2)


# -- export: a workflow in SRC that seals values for DST ---------------------------------------

def seal_for_export(values_by_name: Mapping[str, str | bytes],
                    export_spec: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Seal each spec entry's value (looked up by secret name) with the entry's DST public key.

    Entries without a value (empty: the secret was not readable where this ran) are left out;
    the caller reports them. The output carries ciphertexts and public data only. This function
    is copied verbatim into the export workflow, so it must stay self-contained.
    """
    import base64

    from nacl.public import PublicKey as NaclPublicKey
    from nacl.public import SealedBox

    sealed: list[dict[str, Any]] = []
    for entry in export_spec:
        value = values_by_name.get(entry["name"])
        if not value:
            continue
        raw = value.encode("utf-8") if isinstance(value, str) else value
        box = SealedBox(NaclPublicKey(base64.b64decode(entry["key"])))
        sealed.append({
            "dst": entry["dst"],
            "name": entry["name"],
            "key_id": entry["key_id"],
            "encrypted_value": base64.b64encode(box.encrypt(raw)).decode("ascii"),
            "visibility": entry.get("visibility"),
            "selected_repository_ids": entry.get("selected_repository_ids"),
        })
    return sealed


_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
ENV_PREFIX = "SYNCER_EXPORT_"  # + each secret's name
# Outside ENV_PREFIX, so that no secret name (OUT, SPEC) can take their place.
SPEC_VARIABLE = "SYNCER_SPEC"
OUT_VARIABLE = "SYNCER_OUT"
SEALED_FORMAT = "syncer_sealed"

_SCRIPT_MAIN = '''

def main() -> int:
    spec = json.loads(os.environ["SYNCER_SPEC"])
    values = {e["name"]: os.environ.get("SYNCER_EXPORT_" + e["name"], "") for e in spec}
    unreadable = sorted(name for name, value in values.items() if not value)
    sealed = seal_for_export(values, spec)
    document = {"syncer_sealed": 1, "sealed": sealed}
    with open(os.environ.get("SYNCER_OUT", "sealed.json"), "w") as handle:
        json.dump(document, handle, indent=1)
    print(json.dumps(document))  # public keys' ciphertexts only: safe to show
    for name in unreadable:
        print(f"::error::{name} was empty in this job: not readable here, so not exported")
    return 1 if unreadable else 0


sys.exit(main())
'''


def export_script() -> str:
    """The sealing step's Python: seal_for_export's own source, and a main around it."""
    source = textwrap.dedent(inspect.getsource(seal_for_export))
    head = ("# syncer migrate --export-workflow: seal this job's secrets with DST's public keys.\n"
            "from __future__ import annotations\n\n"
            "import json\nimport os\nimport sys\n"
            "from typing import Any, Mapping, Sequence\n\n\n")
    return head + source + _SCRIPT_MAIN


@dataclass(frozen=True, slots=True)
class ExportJob:
    id: str
    title: str
    repository: str  # "org/repo" the job must run in
    environment: str | None
    targets: tuple[Target, ...]

    def spec(self, keys: Mapping[Scope, PublicKey]) -> list[dict[str, Any]]:
        """What the sealing step is given: names, DST scopes, public keys; never a value."""
        return [export_entry(t, keys[t.scope]) for t in self.targets]

    @property
    def scopes(self) -> set[Scope]:
        return {t.scope for t in self.targets}


@dataclass(frozen=True, slots=True)
class NotExported:
    target: Target
    why: str


def export_entry(target: Target, key: PublicKey) -> dict[str, Any]:
    selection = target.selection
    return {
        "name": target.name,
        "dst": scope_json(target.scope),
        "key_id": key.key_id,
        "key": key.key,
        "visibility": selection.visibility if selection else None,
        "selected_repository_ids": list(selection.repository_ids)
        if selection and selection.visibility == "selected" else None,
    }


def plan_export(inventory: Inventory, targets: Sequence[Target]
                ) -> tuple[list[ExportJob], list[NotExported]]:
    """Jobs that can read each exportable secret, and the secrets no workflow can read.

    A workflow reads `secrets.NAME` with precedence environment > repository > organisation, so:
    repository secrets are read by a job in that repository, environment secrets by a job with
    `environment:` set there, and org secrets by a job in a repository that can see them and has
    no repository secret of the same name (which would shadow them), chosen greedily so few
    jobs cover all. Dependabot secrets are invisible to Actions workflows; workflows do not run
    in archived repositories.
    """
    targets = secrets_only(targets)  # variables need no export: SRC returns their values
    skipped: list[NotExported] = []
    org_targets: list[Target] = []
    per_place: dict[tuple[str, str | None], list[Target]] = {}
    repos = index_repos(inventory.repos)
    for t in targets:
        src = t.source.scope
        if not t.writable:
            skipped.append(NotExported(t, f"{MISSING_TARGET}: {t.missing}"))
        elif src.app != "actions":
            skipped.append(NotExported(t, f"{src.app} secrets cannot be read by an Actions "
                                          "workflow: give this value with --values"))
        elif src.kind == "org":
            org_targets.append(t)
        elif repos.get((src.repo or "").lower(), Repo("", 0, archived=True)).archived:
            skipped.append(NotExported(t, f"{src.full_repo} is archived: workflows cannot run "
                                          "there; give this value with --values"))
        else:
            per_place.setdefault((src.repo or "", src.env), []).append(t)
    jobs: list[ExportJob] = []
    hosts, unreadable = _org_hosts(inventory, org_targets)
    for number, (host, chosen) in enumerate(hosts, 1):
        jobs.append(ExportJob(f"org_{number}", f"org secrets (read in {inventory.org}/{host.name})",
                              f"{inventory.org}/{host.name}", None, tuple(chosen)))
    skipped += [NotExported(t, "no repository of the source can read it in a workflow "
                               "(visibility, or shadowed by a repository secret): give this "
                               "value with --values") for t in unreadable]
    places = sorted(per_place, key=lambda p: (p[0].lower(), p[1] is not None, (p[1] or "").lower()))
    numbers = {"repo": 0, "env": 0}
    for repo, env in places:
        kind = "env" if env else "repo"
        numbers[kind] += 1
        title = f"{inventory.org}/{repo}" + (f" environment {env}" if env else "")
        jobs.append(ExportJob(f"{kind}_{numbers[kind]}", title, f"{inventory.org}/{repo}", env,
                              tuple(per_place[(repo, env)])))
    return jobs, skipped


def _org_hosts(inventory: Inventory, org_targets: Sequence[Target]
               ) -> tuple[list[tuple[Repo, list[Target]]], list[Target]]:
    repo_names: dict[str, set[str]] = {}
    for s in inventory.secrets:
        if s.scope.kind == "repo" and s.scope.app == "actions" and s.scope.repo \
                and not s.is_variable:
            repo_names.setdefault(s.scope.repo.lower(), set()).add(s.name.upper())
    candidates = sorted((r for r in inventory.repos
                         if not r.archived and r.name.lower() not in inventory.outside),
                        key=lambda r: r.name.lower())

    def readable(repo: Repo, target: Target) -> bool:
        secret = target.source
        if secret.name.upper() in repo_names.get(repo.name.lower(), set()):
            return False
        if secret.visibility == "selected":
            return repo.name.lower() in {n.lower() for n in secret.selected}
        if secret.visibility == "private":
            return repo.private
        return True

    hosts: list[tuple[Repo, list[Target]]] = []
    remaining = list(org_targets)
    while remaining and candidates:
        best = max(candidates, key=lambda r: sum(readable(r, t) for t in remaining))
        chosen = [t for t in remaining if readable(best, t)]
        if not chosen:
            break
        hosts.append((best, chosen))
        remaining = [t for t in remaining if t not in chosen]
    return hosts, remaining


@dataclass(frozen=True, slots=True)
class PinnedAction:
    """An action the export workflow uses, pinned to a commit: a tag can be moved to other
    code, and this workflow runs beside the source org's secrets (GitHub's security hardening
    guide for Actions asks for full-length commit SHAs)."""

    name: str  # owner/repo
    commit: str  # the full 40-hex commit the release tag named when this was written
    version: str  # that tag, for people reading the workflow

    @property
    def uses(self) -> str:
        """The value of a step's `uses:`, with the version as a YAML comment."""
        return f"{self.name}@{self.commit}  # {self.version}"


# Checked against each action's repository: the commit its release tag (and major tag) names.
SETUP_PYTHON = PinnedAction("actions/setup-python", "a26af69be951a213d495a4c3e4e4022e16d87065",
                            "v5.6.0")
UPLOAD_ARTIFACT_V4 = PinnedAction("actions/upload-artifact",
                                  "ea165f8d65b6e75b540449e92b4886f43607fa02", "v4.6.2")
UPLOAD_ARTIFACT_V3 = PinnedAction("actions/upload-artifact",
                                  "ff15f0306b3f739f7b6fd43fb5d26cd321bd4de5", "v3.2.1")


def artifact_action(api_url: str) -> PinnedAction:
    """upload-artifact v4 on github.com (and GHE.com); Enterprise Server supports only v3."""
    host = host_of(api_url).lower()
    dotcom = host in ("api.github.com", "github.com") or host.endswith(".ghe.com")
    return UPLOAD_ARTIFACT_V4 if dotcom else UPLOAD_ARTIFACT_V3


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    return json.dumps(text, ensure_ascii=False)


# What the sealing step imports, pinned to files whose hashes were checked when this was
# written: a new release, or a replaced file, of a package that runs beside the secrets is not
# taken on trust. Wheels for the workflow's Python 3.12 on Linux x86_64 and aarch64.
EXPORT_REQUIREMENTS = (
    "pynacl==1.6.2"
    " --hash=sha256:22de65bb9010a725b0dac248f353bb072969c94fa8d6b1f34b87d7953cf7bbe4"
    " --hash=sha256:8845c0631c0be43abdd865511c41eab235e0be69c81dc66a50911594198679b0",
    "cffi==2.1.1"
    " --hash=sha256:c1453022f490d2459a11819d83ad1d586e9ff65a12ac3e705ffebd46d3685dcf"
    " --hash=sha256:68e62fe11f30d5ca8289242866f0a5291402d8529ca2178ab8afc5c9694ae890",
    "pycparser==3.12"
    " --hash=sha256:a076f3f489b39b43ed13563a1dafe42447445bec2e294154ec5c57fcdda4c85e",
)


def render_workflow(jobs: Sequence[ExportJob], keys: Mapping[Scope, PublicKey], *,
                    source_org: str, dest_org: str, upload_action: PinnedAction,
                    file_name: str = "syncer-export.yml") -> str:
    """The export workflow as YAML text; it holds secret names, public keys and key ids only."""
    repositories = sorted({j.repository for j in jobs}, key=str.lower)
    script = export_script()
    out = [
        f"# syncer migrate --export-workflow: {source_org} -> {dest_org}",
        "#",
        "# Reads each secret by name inside the source organisation, seals it with the",
        f"# destination's ({dest_org}) public key and uploads only ciphertexts as artifacts.",
        "# A repository or environment secret can only be read by a workflow running in that",
        "# repository (and environment), so commit this file unchanged as",
        f"# .github/workflows/{file_name} on the default branch of each repository below;",
        "# every job runs only in its own repository (see its `if:`). Then, in each one:",
        f"#   gh workflow run {file_name} -R OWNER/REPO",
        "#   gh run download RUN_ID -R OWNER/REPO -D sealed/OWNER-REPO",
        "# and import:  syncer migrate --from ... --to ... --import-sealed sealed/",
        "# Environment jobs are subject to the environment's protection rules (reviewers,",
        "# branch policies). Delete the file afterwards. Repositories:",
        *[f"#   {r}" for r in repositories],
        f"name: {_q(f'syncer export {source_org} to {dest_org}')}",
        '"on":',
        "  workflow_dispatch: {}",
        "permissions: {}",
        "jobs:",
    ]
    if not jobs:
        out[-1] = "jobs: {}"
    indented_script = textwrap.indent(script, " " * 12)
    for job in jobs:
        out_file = f"sealed-{job.id}.json"
        spec = job.spec(keys)
        spec_text = json.dumps(spec, separators=(",", ":"))
        out += [
            f"  {job.id}:",
            f"    name: {_q(job.title)}",
            f"    if: {_q(f'github.repository == {_sq(job.repository)}')}",
            "    runs-on: ubuntu-latest",
        ]
        if job.environment is not None:
            out.append(f"    environment: {_q(job.environment)}")
        out += [
            "    steps:",
            f"      - uses: {SETUP_PYTHON.uses}",
            "        with:",
            '          python-version: "3.12"',
            "      - name: Install PyNaCl (pinned, hash-checked)",
            "        run: |",
            '          cat > "$RUNNER_TEMP/syncer-requirements.txt" <<\'EOF\'',
            *(f"          {line}" for line in EXPORT_REQUIREMENTS),
            "          EOF",
            "          python -m pip install --quiet --only-binary :all: --require-hashes "
            '-r "$RUNNER_TEMP/syncer-requirements.txt"',
            "      - name: Seal with the destination's public keys",
            "        shell: python",
            "        env:",
            f"          {OUT_VARIABLE}: {_q(out_file)}",
            f"          {SPEC_VARIABLE}: {_q(spec_text)}",
        ]
        out += [f"          {ENV_PREFIX}{e['name']}: {_q('${{ secrets.' + e['name'] + ' }}')}"
                for e in spec]
        out += [
            "        run: |",
            indented_script.rstrip("\n"),
            f"      - uses: {upload_action.uses}",
            "        if: always()",
            "        with:",
            f"          name: {_q(f'syncer-sealed-{job.id}')}",
            f"          path: {_q(out_file)}",
        ]
    return "\n".join(out) + "\n"


def _sq(text: str) -> str:
    """A single-quoted string of the Actions expression language."""
    return "'" + text.replace("'", "''") + "'"


# -- import of sealed values -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SealedEntry:
    scope: Scope  # in DST
    name: str
    key_id: str
    encrypted_value: str  # base64 ciphertext for key_id's key
    selection: OrgSelection | None
    origin: str  # "FILE entry N", for messages


def parse_sealed(document: Any, origin: str, dest_org: str
                 ) -> tuple[list[SealedEntry], list[str]]:
    """Entries of one sealed document (the workflow's JSON, or a bare list), and its problems.

    Ciphertexts are never quoted in problems.
    """
    raw = document.get("sealed") if isinstance(document, dict) else document
    if not isinstance(raw, list):
        expected = f'{{"{SEALED_FORMAT}": 1, "sealed": [...]}} from the export workflow'
        return [], [f"{origin}: expected {expected}"]
    entries: list[SealedEntry] = []
    problems: list[str] = []
    for number, item in enumerate(raw):
        where = f"{origin} entry {number}"
        try:
            entries.append(_sealed_entry(item, where, dest_org))
        except SealedProblem as exc:
            problems.append(f"{where}: {exc}")
    return entries, problems


class SealedProblem(Exception):
    """One sealed entry that cannot be imported; the message never quotes a ciphertext."""


def _sealed_entry(item: Any, where: str, dest_org: str) -> SealedEntry:
    if not isinstance(item, dict):
        raise SealedProblem("not an object")
    dst, name = item.get("dst"), item.get("name")
    key_id, sealed = item.get("key_id"), item.get("encrypted_value")
    if not isinstance(dst, dict) or not isinstance(name, str):
        raise SealedProblem('needs "dst" and "name"')
    if not isinstance(key_id, str) or not key_id or not isinstance(sealed, str) or not sealed:
        raise SealedProblem('needs "key_id" and "encrypted_value" strings')
    if not _BASE64.fullmatch(sealed):  # not repeated: it may be a value pasted by mistake
        raise SealedProblem('"encrypted_value" is not base64 (as a sealed box is)')
    if (problem := secret_name_problem(name)) is not None:
        raise SealedProblem(problem)
    org, app, kind = dst.get("org"), dst.get("app"), dst.get("kind")
    repo, env = dst.get("repo"), dst.get("env")
    if not isinstance(org, str) or org.lower() != dest_org.lower():
        raise SealedProblem(f"destination organisation is {org!r}, not --to {dest_org}")
    if app not in APPS or app in ("codespaces", "agents"):  # the export reads neither
        raise SealedProblem(f"unknown app {app!r}")
    selection = None
    if kind == "org":
        scope = Scope.of_org(dest_org, app)
        visibility = item.get("visibility")
        if visibility not in VISIBILITIES:
            raise SealedProblem("an org secret needs visibility all, private or selected")
        ids = item.get("selected_repository_ids") or []
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            raise SealedProblem("selected_repository_ids must be a list of numbers")
        selection = OrgSelection(visibility, tuple(sorted(ids)) if visibility == "selected"
                                 else ())
    elif kind == "repo" and isinstance(repo, str) and repo:
        scope = Scope.of_repo(dest_org, repo, app)
    elif kind == "env" and isinstance(repo, str) and repo and isinstance(env, str) and env:
        scope = Scope.of_env(dest_org, repo, env)
    else:
        raise SealedProblem("dst must name an org, a repo, or a repo and an env")
    return SealedEntry(scope, name.upper(), key_id, sealed, selection, where)


def sealed_against_source(entries: Sequence[SealedEntry], targets: Sequence[Target]
                          ) -> list[str]:
    """Problems of sealed entries against SRC's secrets now: an entry must be one of them, with
    the visibility and selection their mapping gives. The artifact brings ciphertexts, not the
    shape: an old or edited one must not create secrets or widen who reads one. Pure."""
    def place(scope: Scope, name: str) -> tuple[str, ...]:
        return (scope.app, scope.kind, scope.org.lower(), (scope.repo or "").lower(),
                (scope.env or "").lower(), name.upper())

    expected = {place(t.scope, t.name): t.selection for t in secrets_only(targets)}
    problems = []
    for entry in entries:
        where = f"{entry.origin}: {entry.name} in {entry.scope}"
        key = place(entry.scope, entry.name)
        if key not in expected:
            problems.append(f"{where}: SRC has no such secret now (or --repos or --name leaves it out)")
        elif entry.selection != expected[key]:
            problems.append(f"{where}: {_described(entry.selection)} in the export, "
                            f"{_described(expected[key])} from SRC now; run the export again")
    return problems


def _described(selection: OrgSelection | None) -> str:
    return "no visibility" if selection is None else selection.describe()


def import_rounds(entries: Sequence[SealedEntry]) -> tuple[list[list[SealedEntry]], list[str]]:
    """Entries in rounds where each scope has one key_id (the engine keeps one key per scope),
    and the problems: the same secret given twice."""
    seen: dict[tuple[Scope, str], str] = {}
    problems: list[str] = []
    rounds: list[list[SealedEntry]] = []
    round_of: dict[tuple[Scope, str], int] = {}  # (scope, key_id) → round
    next_round: dict[Scope, int] = {}
    for entry in entries:
        target = (entry.scope, entry.name)
        if target in seen:
            problems.append(f"{entry.origin}: {entry.name} in {entry.scope} is also in "
                            f"{seen[target]}")
            continue
        seen[target] = entry.origin
        placed = (entry.scope, entry.key_id)
        if placed not in round_of:
            round_of[placed] = next_round.get(entry.scope, 0)
            next_round[entry.scope] = round_of[placed] + 1
        number = round_of[placed]
        while len(rounds) <= number:
            rounds.append([])
        rounds[number].append(entry)
    return rounds, problems
