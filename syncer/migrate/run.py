"""`syncer migrate --from SRC --to DST`: copy an organisation's secrets to another organisation.

GitHub never returns a secret's value, so what migrates is the *shape* — names, scopes,
visibility, selected repositories — and the values come from the operator. SRC and DST may be
on different hosts (an Enterprise Server and github.com): each side has its own API URL, token
and pacing (`--from-api-url`/`--to-api-url`, `--from-token-env`/`--to-token-env`).

Inventory (read from SRC, nothing written there): Actions, Dependabot, Codespaces and agents
secrets and Actions and agents variables (with their values: GitHub returns them) of the
organisation (visibility; selected repositories), of every repository (`--repos GLOB` narrows
which; archived ones are included, their secrets still exist) and Actions secrets and variables
of every environment; `--name GLOB` keeps only the secrets and variables so called. Variables
are planned by value (as `apply` plans them), so one DST holds already is unchanged. Each
goes to the same place in DST, matched by name: see syncer/migrate/mapping.py for the mapping and for
the values-file key syntax (`actions:repo:api:DB_PASSWORD`, `actions:env:api:production:TOKEN`,
`dependabot:org:NPM`, `codespaces:repo:api:REGISTRY`, or a bare `NAME` for every secret so
called). `--repos` narrows repository and environment secrets only; org secrets always migrate,
with their whole selection.

The report counts each status and lists the items under it, unchanged ones only with
--verbose; its cost (requests, retries, waits, paced time, seconds since the process started)
is one RunCost shared by the text, the JSON and the log's summary event.

Modes (one per run):
  --plan-out FILE      write the plan (JSON: every target, its source and DST scope, visibility
                       and selection, status ok / missing target) and a values template beside
                       it (FILE with its suffix replaced by `.values.toml`); write nothing to DST.
                       The template is never overwritten (once filled in it holds secrets).
  --values FILE        migrate: values from a .env, .toml or .json file (see values_file.py).
                       Missing values and missing targets are listed; without --allow-partial
                       nothing is written when anything is missing. Writes go through the
                       engine with DST's settings; the state file (as for `syncer apply`) makes
                       a second run with the same values write nothing. --dry-run plans only.
  --export-workflow FILE
                       write a GitHub Actions workflow for SRC that reads each secret by name
                       and seals it with DST's public key (fetched now; the workflow holds
                       public keys and key ids only), uploading ciphertexts as artifacts. Where
                       to put it and how to run it is in the workflow's header; in short: the
                       same file on the default branch of every listed SRC repository, each job
                       runs only in its own repository. Dependabot secrets, and secrets of
                       archived SRC repositories, cannot be read by a workflow: they are listed
                       for --values.
  --import-sealed PATH write the workflow's ciphertexts to DST as they are, with their key ids
                       (PATH: a file, or a directory of them as `gh run download` leaves them;
                       repeatable). A key id DST no longer accepts (422) is reported as stale —
                       re-export — without failing the others.

Exit codes: 0 done; 1 something missing, stale or failed (listed on stdout); 2 bad input, nothing
written; 3 token missing or rejected; 4 another run holds the state lock.

Why the import reuses the engine: the engine asks a KeyCache for each scope's key and a Sealer
to seal; here the cache is seeded with the exported key ids and the sealer hands back the
exported ciphertext, so pacing, retries, per-target failures, interruption and outcome events
are the engine's own and there is still a single code path that writes secrets. A stale key_id
makes the engine refresh the key once; the seeded cache answers that refresh with a 422
naming the problem instead of fetching (re-sealing needs the plaintext, which syncer does not
have), and that target alone fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, TypeVar

import structlog

from ..commands.migrate import add_arguments  # noqa: F401 - migrate's options, re-exported
from ..core.model import VARIABLE_APPS, Action, App, Op, Outcome, PublicKey, Repo, Result, Scope, SecretValue
from ..core.plan import WRITES, Change, Desired, PlanItem, make_plan, variables_over_limit
from ..core.selection import matches, no_match, unmatched_patterns
from ..execution.connect import Run, Settings, connect
from ..execution.crypto import Sealer
from ..execution.discover import existing, for_each
from ..execution.engine import Engine
from ..execution.interrupt import Interrupt
from ..execution.keys import KeyCache
from ..execution.writes import host_of, remembered_in, state_key, write_planned, writer_locks
from ..exits import AuthError, UsageError
from ..github import errors
from ..github.api import SecretInfo, SecretsAPI, VariableInfo
from ..github.client import TokenSource
from ..inputs import InputTooLarge, read_capped
from ..observe import redact
from ..observe.clock import seconds_since_start
from ..observe.progress import Progress
from ..store.state import State, default_state_path
from .export import artifact_action, plan_export, render_workflow
from .mapping import (
    MIGRATED_APPS,
    Destination,
    Inventory,
    SourceSecret,
    Target,
    index_repos,
    key_of,
    map_targets,
    repos_needing_environments,
    secrets_only,
)
from .plan_out import plan_document
from .report import (
    FAILED,
    MIGRATED,
    NOT_WRITTEN,
    ReportItem,
    RunCost,
    build_report,
    counts_event,
    render_report_json,
    render_report_text,
    report_counts,
    report_exit_code,
    stopped_why,
)
from .sealed import SealedEntry, import_rounds, parse_sealed, sealed_against_source
from .values import match_values, template_path, values_template
from .values_file import ValuesFile, ValuesFileError, read_values_file

log = structlog.get_logger("syncer.migrate")

#: Beyond this many jobs one workflow file may hit GitHub's limits (256 jobs per run is the
#: documented matrix limit; a cap for plain jobs is not documented): warn, suggest --repos.
LARGE_WORKFLOW_JOBS = 250

Side = Literal["from", "to"]
_T = TypeVar("_T")


@dataclass(frozen=True)
class MigrateRequest:
    source: str
    dest: str
    repos: tuple[str, ...] = ()
    names: tuple[str, ...] = ()  # --name globs: only secrets so called
    values: str | None = None
    allow_partial: bool = False
    dry_run: bool = False
    plan_out: str | None = None
    export_workflow: str | None = None
    import_sealed: tuple[str, ...] = ()
    state: str | None = None
    fresh: bool = False
    format: str = "text"
    quiet: bool = False
    report: str | None = None  # --report PATH: the run's JSON report
    verbose: bool = False  # list unchanged items too


async def run_migrate_command(request: MigrateRequest, *,
                              settings_for: Callable[[str], Settings],
                              token_for: Callable[[str], str | TokenSource],
                              stop: Interrupt | None = None) -> int:
    if request.import_sealed:
        return await _import_sealed(request, settings_for, token_for, stop)
    values = _read_values(request.values) if request.values else None
    src_settings, dst_settings = settings_for("from"), settings_for("to")
    if (host_of(src_settings.api_url) == host_of(dst_settings.api_url)
            and request.source.lower() == request.dest.lower()):
        raise UsageError(f"--from and --to are the same organisation ({request.source}) on the "
                         "same host")
    if request.plan_out and os.path.exists(template_path(request.plan_out)):
        raise UsageError(f"{template_path(request.plan_out)} exists and may hold values: move "
                         "it aside to get a new template")
    if request.plan_out:
        _refuse_to_replace(request.plan_out, b'{\n  "syncer_migration_plan":', "migration plan")
    if request.export_workflow:
        _refuse_to_replace(request.export_workflow, b"# syncer migrate --export-workflow:",
                           "export workflow")
    writing = not (request.plan_out or request.export_workflow or request.dry_run)
    state = _open_state(request.state) if not (request.plan_out or request.export_workflow) \
        else None
    with state.lock() if state is not None and writing else contextlib.nullcontext():
        async with _connect_both(src_settings, token_for("from"), dst_settings,
                                 token_for("to"), stop) as (src, dst):
            inventory = await _read_source(src, request)
            destination = await _read_destination(dst, request.dest, inventory)
            inventory = _leave_behind_absent(inventory, destination)
            targets = map_targets(inventory, destination)
            _log_inventory(inventory, targets)
            if request.plan_out:
                return _write_plan(request, inventory, targets, src_settings, dst_settings)
            if request.export_workflow:
                return await _export(request, dst, inventory, targets, src_settings)
            assert state is not None
            return await _migrate(request, src, dst, inventory, targets, values, state,
                                  writing=writing)


# -- connections -------------------------------------------------------------------------------

@asynccontextmanager
async def _connect_both(src_settings: Settings, src_token: str | TokenSource,
                        dst_settings: Settings, dst_token: str | TokenSource,
                        stop: Interrupt | None) -> AsyncIterator[tuple[Run, Run]]:
    """One connection when both sides are the same host and token (one budget to pace), else two."""
    if src_settings == dst_settings and src_token == dst_token:
        async with connect(dst_settings, dst_token, stop=stop) as run:
            yield run, run
        return
    async with connect(src_settings, src_token, stop=stop) as src, \
            connect(dst_settings, dst_token, stop=stop) as dst:
        yield src, dst


@contextlib.contextmanager
def _reading(side: str) -> Iterator[None]:
    """GitHub's refusals while reading an organisation, as the errors cli.py reports."""
    try:
        yield
    except errors.AuthFailed as exc:
        raise AuthError(f"{side}: the token was rejected ({exc.message})") from None
    except errors.NotFound as exc:
        why = exc.message if "lacks access" in exc.message else \
            f"{exc.message}: organization not found or token lacks access"
        raise UsageError(f"{side}: {why}") from None
    except errors.RateLimited:
        raise  # the CLI says until when
    except errors.GitHubError as exc:  # exit 1, as for every command: not a usage problem
        raise errors.GitHubError(f"{side}: {exc}") from None



# -- reading both sides ------------------------------------------------------------------------

async def _read_source(src: Run, request: MigrateRequest) -> Inventory:
    api, org = src.api, request.source
    with _reading(f"reading {org}"):
        repos = [r async for r in api.org_repos(org)]
        if unmatched := unmatched_patterns((r.name for r in repos), request.repos):
            raise UsageError(f"{no_match(org, unmatched)}; nothing was written")
        chosen = sorted((r for r in repos if matches(r.name, request.repos)),
                        key=lambda r: r.name.lower())
        outside = frozenset(r.name.lower() for r in repos if not matches(r.name, request.repos))
        names_by_id = {r.id: r.name for r in repos}
        org_infos: list[tuple[Scope, Listed]] = []
        seen_names: set[str] = set()  # every secret and variable name of SRC's chosen places

        def wanted(infos: Sequence[Listed]) -> list[Listed]:
            seen_names.update(i.name for i in infos)
            return [i for i in infos if matches(i.name, request.names)]

        lister = _Lister(api)
        for scope in _stores(Scope.of_org(org)):
            org_infos += [(scope, i) for i in wanted(await lister.listing(scope))]
        selected: dict[tuple[Scope, str], tuple[str, ...]] = {}

        async def read_selection(item: tuple[Scope, Listed]) -> None:
            scope, info = item
            ids = await api.selected_repository_ids(scope, info.name)
            selected[(scope, info.name)] = tuple(sorted(
                (names_by_id[i] for i in ids if i in names_by_id), key=str.lower))

        await for_each([x for x in org_infos if x[1].visibility == "selected"], read_selection,
                    src.settings.concurrency)
        per_repo: dict[str, list[SourceSecret]] = {}

        async def read_repo(repo: Repo) -> None:
            found: list[SourceSecret] = []
            for scope in _stores(Scope.of_repo(org, repo.name, repo_id=repo.id)):
                found += [SourceSecret(scope, i.name, value=_value_of(i))
                          for i in wanted(await lister.listing(scope))]
            for env in sorted(await _environments(api, org, repo.name), key=str.lower):
                for scope in _stores(Scope.of_env(org, repo.name, env, repo.id)):
                    found += [SourceSecret(scope, i.name, value=_value_of(i))
                              for i in wanted(await lister.listing(scope))]
            per_repo[repo.name] = found

        await for_each(chosen, read_repo, src.settings.concurrency)
    if unmatched := unmatched_patterns(seen_names, request.names):
        raise UsageError("no secret or variable of " + org + " matches "
                         + " ".join(f"--name {p!r}" for p in unmatched) + "; nothing was written")
    secrets = [SourceSecret(scope, info.name, info.visibility or "private",  # type: ignore[arg-type]
                            selected.get((scope, info.name), ()), _value_of(info))
               for scope, info in org_infos]
    secrets += [s for r in chosen for s in per_repo[r.name]]
    left_out = frozenset(n.upper() for n in seen_names if not matches(n, request.names))
    for why in lister.unread.values():
        log.warning("migrate.unread", message=why)
    return Inventory(org, tuple(repos), tuple(secrets), outside, left_out,
                     tuple(lister.unread.values()))


Listed = SecretInfo | VariableInfo
#: apps GitHub Enterprise Server lacks (their org listing answers 404 there)
OPTIONAL_APPS: tuple[App, ...] = ("codespaces", "agents")
_STORE_NAMES = {"codespaces": "Codespaces", "agents": "agents", "actions": "Actions"}


def _stores(place: Scope) -> list[Scope]:
    """The secret and variable stores of a place that migrate copies, in inventory order:
    every app's secrets, then the variables (an environment: Actions' of each)."""
    if place.kind == "env":
        return [place, place.variables()]
    return ([replace(place, app=app) for app in MIGRATED_APPS]
            + [replace(place, app=app).variables() for app in VARIABLE_APPS])


def _value_of(info: Listed) -> str | None:
    return info.value if isinstance(info, VariableInfo) else None


class _Lister:
    """SRC's secrets and variables, store by store. Codespaces and agents stores, and variables
    (older Enterprise Servers lack them), are optional: where SRC's host has none (the org's
    listing is 404, as on Enterprise Server) no repository's is asked for; where the token may
    not read them (403: a classic token without the codespace scope, a fine-grained token or
    an App without the permission) the first refusal leaves that level unread (the permission
    is the token's, not the place's), and the report says what was left behind and why."""

    def __init__(self, api: SecretsAPI) -> None:
        self.api = api
        #: (store, scope kind) not asked for
        self.skipped: set[tuple[str, str]] = set()
        #: (store, scope kind) → why it was not read
        self.unread: dict[tuple[str, str], str] = {}

    async def listing(self, scope: Scope) -> Sequence[Listed]:
        if scope.app not in OPTIONAL_APPS and scope.target == "secret":
            return await _secrets_of(self.api, scope)
        if (scope.store, scope.kind) in self.skipped:
            return []
        try:
            return await _listed_of(self.api, scope)
        except errors.NotFound:
            if scope.kind == "org":  # the host has none: nothing to leave behind
                log.info("migrate.no_store", org=scope.org, store=scope.store)
                self.skipped.update((scope.store, kind) for kind in ("org", "repo", "env"))
            return []
        except errors.PermissionDenied as exc:
            self.skipped.add((scope.store, scope.kind))
            where = (f"the organisation {scope.org}" if scope.kind == "org" else
                     f"the repositories of {scope.org}" if scope.kind == "repo" else
                     f"the environments of {scope.org}")
            what = f"{_STORE_NAMES.get(scope.app, scope.app)} {scope.target}s"
            self.unread.setdefault((scope.store, scope.kind),
                                   f"{what} of {where} were not read ({exc}); none of them "
                                   "is migrated")
            return []


async def _listed_of(api: SecretsAPI, scope: Scope) -> list[Listed]:
    found: Sequence[Listed] = (await api.secrets(scope) if scope.target == "secret"
                               else await api.variables(scope))
    return sorted(found, key=lambda i: i.name)


async def _secrets_of(api: SecretsAPI, scope: Scope) -> list[Listed]:
    """A scope's secrets by name; a missing optional scope (Dependabot, an environment) is empty."""
    try:
        return await _listed_of(api, scope)
    except errors.NotFound:
        if scope.kind == "org" and scope.app == "actions":
            raise
        log.info("migrate.no_listing", scope=str(scope), kind=scope.kind, app=scope.app)
        return []


async def _environments(api: SecretsAPI, org: str, repo: str) -> list[str]:
    try:
        return await api.environments(org, repo)
    except errors.NotFound:
        return []


async def _read_destination(dst: Run, org: str, inventory: Inventory) -> Destination:
    with _reading(f"reading {org}"):
        repos = index_repos([r async for r in dst.api.org_repos(org)])
        environments: dict[str, dict[str, str]] = {}

        async def read(name: str) -> None:
            environments[name.lower()] = {e.lower(): e for e in
                                          await _environments(dst.api, org, name)}

        await for_each(repos_needing_environments(inventory, repos), read, dst.settings.concurrency)
        unavailable: dict[str, str] = {}
        for app in OPTIONAL_APPS:
            if not any(s.scope.app == app for s in inventory.secrets):
                continue
            try:
                await dst.api.secrets(Scope.of_org(org, app))
            except errors.NotFound:
                unavailable[app] = (f"{org} has no {_STORE_NAMES[app]} secrets (404: GitHub "
                                    "Enterprise Server has none)")
            except errors.PermissionDenied:
                pass  # its targets fail on their own, each saying what the token lacks
    return Destination(org, repos, environments, unavailable)


def _leave_behind_absent(inventory: Inventory, dest: Destination) -> Inventory:
    """Agents' secrets and variables, where DST's host has none (Enterprise Server), are left
    behind with a note rather than failed: nothing the operator gives could make them land.
    (Codespaces secrets stay missing targets there, as they always were.)"""
    why = dest.unavailable.get("agents")
    if why is None:
        return inventory
    kept = tuple(s for s in inventory.secrets if s.scope.app != "agents")
    note = (f"{len(inventory.secrets) - len(kept)} agents secrets and variables of "
            f"{inventory.org}: {why.replace(' secrets (404', ' secrets or variables (404')}")
    return replace(inventory, secrets=kept, unread=(*inventory.unread, note))


def _log_inventory(inventory: Inventory, targets: Sequence[Target]) -> None:
    log.info("migrate.inventory", org=inventory.org, repositories=len(inventory.repos),
             outside_repos=len(inventory.outside),
             secrets=sum(not s.is_variable for s in inventory.secrets),
             variables=sum(s.is_variable for s in inventory.secrets),
             targets=len(targets), missing_targets=sum(not t.writable for t in targets))


# -- --plan-out --------------------------------------------------------------------------------

def _write_plan(request: MigrateRequest, inventory: Inventory, targets: Sequence[Target],
                src_settings: Settings, dst_settings: Settings) -> int:
    assert request.plan_out is not None
    template = template_path(request.plan_out)
    document = plan_document(targets, source=host_of(src_settings.api_url),
                             source_org=request.source, dest=host_of(dst_settings.api_url),
                             dest_org=request.dest, unread=inventory.unread)
    _write_file(request.plan_out, json.dumps(document, indent=2) + "\n")
    _write_file(template, values_template(targets, source_org=request.source,
                                          dest_org=request.dest), private=True)
    log.info("migrate.plan_out", plan=request.plan_out, template=template, **document["counts"])
    if request.format == "json":
        print(json.dumps({"plan": request.plan_out, "template": template,
                          "counts": document["counts"], "left_behind": list(inventory.unread)},
                         indent=2))
    else:
        counts = ", ".join(f"{k} {v}" for k, v in document["counts"].items())
        print(f"plan of {request.source} -> {request.dest}: {counts}")
        print(f"wrote {request.plan_out} and the values template {template}")
        for why in inventory.unread:
            print(f"  left behind: {why}")
        for t in targets:
            if not t.writable:
                print(f"  missing target: {t.name} in {t.scope}: {t.missing}")
            for repo in t.unmapped:
                print(f"  missing selected repository: {t.name} in {t.scope}: {repo}")
    return 0


def _refuse_to_replace(path: str, ours: bytes, what: str) -> None:
    """An existing file is replaced only if it is empty or an earlier run's `what`: the path
    given may be a values file one tab-completion away."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(len(ours))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    if start and start != ours:
        raise UsageError(f"{path} exists and is not a {what} syncer wrote; refusing to "
                         "overwrite it (move it aside, or give another path)")


def _write_file(path: str, text: str, *, private: bool = False) -> None:
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
        with open(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


# -- --values: the migration itself -------------------------------------------------------------

def _read_values(path: str) -> ValuesFile:
    try:
        values = read_values_file(path)
    except ValuesFileError as exc:
        raise UsageError("the values file cannot be used:\n" + "\n".join(exc.problems)) from None
    for entry in values.entries:
        redact.register(entry.value.reveal())
    return values


def _open_state(path: str | None) -> State:
    state = State.open(path or default_state_path())
    for warning in state.warnings:
        log.warning("state", message=warning)
    return state


async def _migrate(request: MigrateRequest, src: Run, dst: Run, inventory: Inventory,
                   targets: Sequence[Target], values: ValuesFile | None, state: State, *,
                   writing: bool) -> int:
    matching = match_values(targets, values, inventory.outside, inventory.left_out_names)
    if matching.problems:
        raise UsageError("the values file does not fit the inventory of "
                         f"{request.source}:\n" + "\n".join(matching.problems))
    for note in matching.ignored:
        log.warning("migrate.ignored_key", message=note)
    api_url = dst.settings.api_url
    value_of = {(t.scope, t.name): matching.values[key_of(t.source)]
                for t in secrets_only(targets) if key_of(t.source) in matching.values}
    value_of |= {(t.scope, t.name): SecretValue(t.source.value.encode())  # GitHub returned it
                 for t in targets if t.source.value is not None and t.writable}

    def fingerprint(scope: Scope, name: str, value: bytes) -> str:
        return state.fingerprint(value, state_key(api_url, scope, name))

    desired = [Desired(t.scope, t.name,
                       fingerprint(t.scope, t.name, value_of[(t.scope, t.name)].reveal()),
                       t.selection)
               for t in targets if (t.scope, t.name) in value_of]
    with _reading(f"reading {request.dest}"):
        # a variable's listed value fingerprinted as ours: one DST already holds is unchanged
        actual = await existing(dst.api, [d.scope for d in desired], dst.settings.concurrency,
                                value_fingerprint=fingerprint)
    if over := variables_over_limit(desired, actual):  # GitHub would refuse the writes past it
        raise UsageError("\n".join(f"{o}; nothing was written" for o in over))

    plan = make_plan(desired, actual, remembered_in(state, api_url))
    missing = bool(matching.missing) or any(not t.writable or t.unmapped for t in targets)
    blocked = missing and not request.allow_partial
    to_write = [item for item in plan if item.change in WRITES]
    outcomes: list[Outcome] = []
    resumed: list[Action] = []
    if writing and not blocked and to_write:
        outcomes, resumed = await _write_resumably(request, dst, to_write, value_of, state)
    why = "dry run" if not writing else "held back"
    items = build_report(targets, matching.missing, plan, outcomes, not_written_why=why,
                         resumed=[(a.scope, a.name) for a in resumed])
    cost = _cost(src, dst)
    log.info("summary", source=request.source, dest=request.dest,
             drifted=sum(i.change is Change.DRIFTED for i in plan),
             **_summary_event(dst, outcomes, items, cost))
    notes = [*(f"left behind: {why}" for why in inventory.unread),
             *(f"note: {n}" for n in matching.ignored)]
    if blocked and to_write and writing:
        notes.append(f"nothing written: {len(to_write)} writes held back because items are "
                     "missing; supply them, or pass --allow-partial to migrate the rest")
    _print_report(request, items, src.settings, dst.settings, cost, notes)
    code = report_exit_code(items, outcomes)
    if request.report:
        from ..observe import report

        # the report's durations, as the text's, from the process start
        summary = dst.summary(outcomes, time.monotonic() - cost.seconds)
        report.write(request.report, report.build(
            "migrate", code, summary, plan=plan, targets=report.plan_targets(plan, outcomes),
            extra_counts={"migration": report.snake_keys(report_counts(items))}))
    return code


async def _write_resumably(request: MigrateRequest, dst: Run, to_write: list[PlanItem],
                           value_of: dict[tuple[Scope, str], SecretValue], state: State
                           ) -> tuple[list[Outcome], list[Action]]:
    """The writes, journalled exactly as `syncer apply` journals them (resume.write_planned):
    a migration killed half-way resumes when run again with the same inputs."""
    return await write_planned(dst, state, to_write, lambda a: value_of[(a.scope, a.name)],
                               command="migrate", labels=[request.source, request.dest],
                               fresh=request.fresh,
                               show_progress=False if request.quiet else None)


async def _write_sealed(dst: Run, engine: Engine, writes: list[Action],
                        value_for: Callable[[Action], SecretValue], state: State, quiet: bool
                        ) -> list[Outcome]:
    """Pre-sealed writes through `engine`; each success's old fingerprint is forgotten as it
    lands, and the state is saved however the run ends."""
    progress = Progress(len(writes), enabled=False if quiet else None,
                        pacer=dst.client.pacer, retries=dst.client.stats)

    def on_outcome(outcome: Outcome) -> None:
        progress(outcome)
        _forget_written(state, dst.settings.api_url, outcome)

    engine.on_outcome = on_outcome
    try:
        return await engine.run(writes, value_for)
    finally:
        progress.close()
        state.save()



def _cost(*runs: Run) -> RunCost:
    """What the run cost on both sides (one connection counted once), timed from the process
    start: reading the inventory is part of what a person waited for."""
    distinct = list({id(r): r for r in runs}.values())
    return RunCost(requests=sum(r.client.pacer.stats.requests for r in distinct),
                   retries=sum(r.client.stats.retries for r in distinct),
                   rate_limit_waits=sum(r.client.pacer.stats.waits for r in distinct),
                   wait_seconds=sum(r.client.pacer.stats.wait_seconds for r in distinct),
                   paced_seconds=sum(r.client.pacer.paced_seconds for r in distinct),
                   seconds=seconds_since_start())


def _summary_event(dst: Run, outcomes: list[Outcome], items: Sequence[ReportItem],
                   cost: RunCost) -> dict[str, object]:
    """The log's summary event says what the report says: the engine's own fields (created,
    updated, pace changes) under the report's counts and the run's cost."""
    engine = dst.summary(outcomes, time.monotonic()).as_event()  # its seconds are replaced
    return {**engine, **counts_event(items), **cost.as_json()}


def _print_report(request: MigrateRequest, items: Sequence[ReportItem], src: Settings | None,
                  dst: Settings, cost: RunCost, notes: Sequence[str] = (),
                  title: str = "migrate") -> None:
    """The report on stdout; `src` None for an import, whose report names DST only."""
    source = f"{request.source} ({host_of(src.api_url)})" if src else None
    dest = f"{request.dest} ({host_of(dst.api_url)})"
    if request.format == "json":
        print(render_report_json(items, {"command": title, "from": source, "to": dest,
                                         "notes": list(notes)}, cost))
    else:
        header = f"{title} {source} -> {dest}" if source else f"{title} into {dest}"
        print(render_report_text(items, header, notes, cost=cost, verbose=request.verbose))


# -- --export-workflow -------------------------------------------------------------------------

async def _export(request: MigrateRequest, dst: Run, inventory: Inventory,
                  targets: Sequence[Target], src_settings: Settings) -> int:
    assert request.export_workflow is not None
    jobs, skipped = plan_export(inventory, targets)
    needed = set().union(*(j.scopes for j in jobs))
    keys: dict[Scope, PublicKey] = {}

    async def fetch(scope: Scope) -> None:
        # Straight from DST, never a cached key: the import cannot re-seal, so a stale key
        # here would only come back as a failed import.
        keys[scope] = await dst.api.public_key(scope)

    with _reading(f"reading {request.dest}'s public keys"):
        await for_each(sorted(needed, key=str), fetch, dst.settings.concurrency)
    text = render_workflow(jobs, keys, source_org=request.source, dest_org=request.dest,
                           upload_action=artifact_action(src_settings.api_url),
                           file_name=Path(request.export_workflow).name)
    _write_file(request.export_workflow, text)
    exported = sum(len(j.targets) for j in jobs)
    if len(jobs) > LARGE_WORKFLOW_JOBS:
        log.warning("migrate.large_workflow", jobs=len(jobs), message="a workflow this large may "
                    "exceed GitHub's limits; export with --repos in parts if GitHub refuses it")
    log.info("migrate.export", workflow=request.export_workflow, jobs=len(jobs),
             exported=exported, not_exported=len(skipped))
    if request.format == "json":
        print(json.dumps({
            "workflow": request.export_workflow,
            "jobs": [{"id": j.id, "repository": j.repository, "environment": j.environment,
                      "secrets": [t.name for t in j.targets]} for j in jobs],
            "not_exported": [{"name": s.target.name, "scope": str(s.target.scope),
                              "key": s.target.key, "why": s.why} for s in skipped],
            "left_behind": list(inventory.unread),
        }, indent=2))
    else:
        print(f"wrote {request.export_workflow}: {len(jobs)} jobs sealing {exported} secrets "
              f"of {request.source} for {request.dest}")
        for job in jobs:
            where = job.repository + (f" environment {job.environment}" if job.environment else "")
            print(f"  {job.id} in {where}: {', '.join(t.name for t in job.targets)}")
        for why in inventory.unread:
            print(f"left behind: {why}")
        if skipped:
            print(f"not exported ({len(skipped)}):")
            for s in skipped:
                print(f"  {s.target.name} in {s.target.scope}  [{s.target.key}]: {s.why}")
    return 0


# -- --import-sealed ---------------------------------------------------------------------------

class _PreSealed(Sealer):
    """A Sealer for values sealed elsewhere: the 'value' is already the ciphertext."""

    def __init__(self) -> None:  # no worker pool: nothing to seal
        pass

    async def seal(self, public_key_b64: str, value: SecretValue) -> str:
        return value.reveal().decode("ascii")

    def close(self) -> None:
        pass


def _exported_keys(entries: Sequence[SealedEntry], stale: set[tuple[Scope, str]],
                   current_key: Callable[[Scope], Awaitable[PublicKey]]) -> KeyCache:
    """A key cache that knows each scope's exported key_id and cannot fetch another: after DST
    answered 422 for that key_id, the write fails with a message saying why. GitHub answers a
    stale key_id and a ciphertext it cannot open alike; DST's current key tells them apart."""
    async def refuse(scope: Scope, previous: PublicKey | None) -> PublicKey:
        key_id = previous.key_id if previous else "?"
        try:
            current = (await current_key(scope)).key_id
        except errors.RUN_ENDING:
            raise
        except errors.GitHubError as exc:
            raise errors.KeyMismatch(422, f"{scope} refused the ciphertext for key_id {key_id}, "
                                          f"and its current key could not be read ({exc}); most "
                                          "likely the key changed since the export: export "
                                          "again and import") from None
        if current == key_id:
            raise errors.KeyMismatch(422, f"{scope} could not decrypt the ciphertext with its "
                                          f"key_id {key_id}, which is current: the artifact is "
                                          "damaged or was not sealed by the export workflow")
        stale.add((scope, key_id))
        raise errors.KeyMismatch(422, f"{scope} no longer accepts key_id {key_id}: the key "
                                      "changed since the export; export again and import")

    return KeyCache(refuse, {e.scope: PublicKey(e.key_id, "") for e in entries})


def _read_sealed(paths: Sequence[str], dest_org: str) -> list[SealedEntry]:
    files: list[Path] = []
    problems: list[str] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.json") if p.is_file())
            if not found:
                problems.append(f"{given}: no .json files in this directory")
            files += found
        elif path.exists():  # a file, or what is not one (a device) and is refused as read
            files.append(path)
        else:
            problems.append(f"{given}: no such file or directory")
    entries: list[SealedEntry] = []
    for file in files:
        try:
            document = json.loads(read_capped(file).decode("utf-8"))
        except (OSError, UnicodeDecodeError, InputTooLarge) as exc:
            problems.append(f"{file}: cannot read: {exc}")
            continue
        except json.JSONDecodeError as exc:
            problems.append(f"{file}:{exc.lineno}: not valid JSON: {exc.msg}")
            continue
        except RecursionError:
            problems.append(f"{file}: not sealed values: arrays or objects nested too deeply")
            continue
        parsed, bad = parse_sealed(document, str(file), dest_org)
        entries += parsed
        problems += bad
    if problems:
        raise UsageError("cannot import:\n" + "\n".join(problems))
    return entries


async def _import_sealed(request: MigrateRequest, settings_for: Callable[[str], Settings],
                        token_for: Callable[[str], str | TokenSource],
                        stop: Interrupt | None) -> int:
    entries = _read_sealed(request.import_sealed, request.dest)
    rounds, problems = import_rounds(entries)
    if problems:
        raise UsageError("cannot import:\n" + "\n".join(problems))
    settings = settings_for("to")
    state = _open_state(request.state)
    stale: set[tuple[Scope, str]] = set()
    outcomes: list[Outcome] = []
    with state.lock():
        async with _connect_both(settings_for("from"), token_for("from"), settings,
                                 token_for("to"), stop) as (src, dst):
            inventory = await _read_source(src, request)
            targets = map_targets(inventory, await _read_destination(dst, request.dest,
                                                                     inventory))
            if problems := sealed_against_source(entries, targets):
                raise UsageError("cannot import (nothing was written):\n" + "\n".join(problems))
            if not request.dry_run:
                ids = await _repository_ids(dst, entries)
                entries = [_with_repo_id(e, ids) for e in entries]
                rounds = [[_with_repo_id(e, ids) for e in chosen] for chosen in rounds]
            by_target = {(e.scope, e.name): e for e in entries}
            writes = [] if request.dry_run else [(host_of(settings.api_url), e.scope.org, e.name)
                                                 for e in entries]
            with writer_locks(writes):
                for chosen in rounds:
                    if request.dry_run:
                        break
                    engine = Engine(dst.api, _PreSealed(),
                                    _exported_keys(chosen, stale, dst.api.public_key),
                                    settings.concurrency)
                    actions = [Action(Op.PUT, e.scope, e.name, e.selection, "import")
                               for e in chosen]
                    outcomes += await _write_sealed(
                        dst, engine, actions,
                        lambda a: SecretValue(
                            by_target[(a.scope, a.name)].encrypted_value.encode()),
                        state, request.quiet)
            cost = _cost(src, dst)
            items = _import_report(entries, outcomes, stale, dry_run=request.dry_run)
            event = _summary_event(dst, outcomes, items, cost)
    log.info("summary", dest=request.dest, stale=sum(i.why.startswith("stale") for i in items),
             **event)
    notes = []
    if any(i.status == FAILED and i.why.startswith("stale") for i in items):
        notes.append("stale key_id: DST's key changed since the export; run the export "
                     "workflow again and import its new output")
    _print_report(request, items, None, settings, cost, notes, title="import")
    return report_exit_code(items, outcomes)


async def _repository_ids(dst: Run, entries: Sequence[SealedEntry]) -> dict[str, int]:
    """The ids of the repositories holding environment entries: an older Enterprise Server
    only serves environments by repository id. A repository that cannot be read is left out
    (its writes then fail, each on its own)."""
    wanted = sorted({e.scope.repo for e in entries if e.scope.kind == "env" and e.scope.repo})
    ids: dict[str, int] = {}

    async def read(repo: str) -> None:
        try:
            ids[repo] = (await dst.api.repo(entries[0].scope.org, repo)).id
        except errors.RUN_ENDING:
            raise
        except errors.GitHubError:
            pass

    await for_each(wanted, read, dst.settings.concurrency)
    return ids


def _with_repo_id(entry: SealedEntry, ids: Mapping[str, int]) -> SealedEntry:
    scope = entry.scope
    repo_id = ids.get(scope.repo or "") if scope.kind == "env" else None
    return entry if repo_id is None else replace(entry, scope=replace(scope, repo_id=repo_id))


def _forget_written(state: State, api_url: str, outcome: Outcome) -> None:
    """A sealed import changes the value without syncer knowing it: drop our fingerprint, so the
    next `--values` run compares afresh instead of trusting an old record."""
    if outcome.result in (Result.CREATED, Result.UPDATED):
        state.forget(state_key(api_url, outcome.action.scope, outcome.action.name))


def _import_report(entries: Sequence[SealedEntry], outcomes: Sequence[Outcome],
                   stale: set[tuple[Scope, str]], *, dry_run: bool) -> list[ReportItem]:
    done = {(o.action.scope, o.action.name): o for o in outcomes}
    items: list[ReportItem] = []
    for entry in entries:
        outcome = done.get((entry.scope, entry.name))
        key = entry.origin
        if outcome is None:
            items.append(ReportItem(NOT_WRITTEN, entry.scope, entry.name, key,
                                    "dry run" if dry_run else "not written"))
        elif outcome.result in (Result.CREATED, Result.UPDATED):
            items.append(ReportItem(MIGRATED, entry.scope, entry.name, key,
                                    outcome.result.value))
        elif outcome.result is Result.SKIPPED:
            items.append(ReportItem(NOT_WRITTEN, entry.scope, entry.name, key,
                                    stopped_why(outcome)))
        elif (entry.scope, entry.key_id) in stale and outcome.status == 422:
            items.append(ReportItem(FAILED, entry.scope, entry.name, key,
                                    f"stale key_id {entry.key_id}: export again"))
        else:
            items.append(ReportItem(FAILED, entry.scope, entry.name, key,
                                    outcome.error or outcome.result.value))
    order = {s: i for i, s in enumerate((FAILED, NOT_WRITTEN, MIGRATED))}
    return sorted(items, key=lambda i: order.get(i.status, 9))

