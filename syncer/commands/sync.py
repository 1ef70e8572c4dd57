"""`syncer plan -c FILE` and `syncer apply -c FILE`: make GitHub match a config file.

plan reads GitHub and the state file and shows what apply would do; it never writes.
apply writes only what is missing, changed, or drifted (changed on GitHub by someone else),
and records each write's keyed fingerprint and time in the state file. Secrets and variables
go through the same plan; a variable's listed value tells its drift exactly.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import structlog

from ..config.load import load_config, read_all_values
from ..config.model import Config, SecretSpec
from ..core.desired import desired_from_config, indexed, named_but_missing, orgs_needing_repos
from ..core.model import Action, Outcome, Result, Scope, SecretValue
from ..core.plan import (
    WRITES,
    Change,
    Desired,
    PlanItem,
    Reason,
    Unreadable,
    make_plan,
    variables_over_limit,
)
from ..execution.connect import Run, Settings, connect
from ..execution.credentials import ssl_context_for, token_source_for
from ..execution.discover import existing, org_repos
from ..execution.interrupt import Interrupt
from ..execution.writes import remembered_in, state_key, write_planned
from ..exits import UsageError
from ..github import errors
from ..github.client import TokenSource
from ..github.org_tokens import acting_for
from ..observe import redact
from ..observe.planview import plan_text
from ..observe.progress import Reading
from ..observe.summary import Summary
from ..store import saved_plan
from ..store.saved_plan import PlanChanged, SavedPlan
from ..store.state import State
from ..store.state_format import Record
from . import Request, Session, options

log = structlog.get_logger("syncer.sync")


@dataclass
class SyncResult:
    plan: list[PlanItem]
    outcomes: list[Outcome]
    summary: Summary | None = None
    earlier: list[Action] = field(default_factory=list)  # done by the run this one resumed

    @property
    def complete(self) -> bool:
        """Every planned write done, and no target missing or unreadable."""
        failed = any(o.result in (Result.FAILED, Result.SKIPPED) for o in self.outcomes)
        missing = any(i.change in (Change.MISSING_TARGET, Change.UNREADABLE) for i in self.plan)
        return not (failed or missing)


Values = Mapping[tuple[int, str], SecretValue]  # (index in its table, name) → value


async def run_sync(config: Config, values: Values,
                   settings: Settings, token: str | TokenSource, state: State, *,
                   apply: bool, prune: bool, fresh: bool = False,
                   show_progress: bool | None = None,
                   before_writing: Callable[[list[PlanItem]], None] | None = None,
                   variable_values: Values | None = None,
                   stop: Interrupt | None = None) -> SyncResult:
    """`values` of the [[secret]] tables (config.read_values), `variable_values` of the
    [[variable]] tables (config.read_variable_values). `before_writing` sees the plan before
    apply writes anything (before environments are created): a saved plan's check raises
    there, the terminal shows the plan."""
    started = time.monotonic()
    by_target = {"secret": values, "variable": variable_values or {}}
    async with connect(settings, token, stop=stop) as run:
        reading = Reading(enabled=False if show_progress is False else None)
        try:
            plan, value_keys = await _plan(run, config, by_target, state, prune, reading)
        finally:
            reading.close()
        if config.sync.create_environments:
            plan = _creating_environments(plan)
        if apply and before_writing is not None:
            before_writing(plan)
        if apply and config.sync.create_environments:
            await _create_environments(run, plan)
        if not apply:
            return SyncResult(plan, [], run.summary([], started))
        to_write = [item for item in plan if item.change in WRITES]
        _adopt_values_in_place(state, settings.api_url, plan)  # saved with the writes' records
        outcomes, earlier = await write_planned(
            run, state, to_write,
            lambda a: by_target[a.scope.target][(value_keys[(a.scope, a.name)], a.name)],
            command="apply", labels=[config.path], fresh=fresh, show_progress=show_progress)
        return SyncResult(plan, outcomes, run.summary(outcomes, started), earlier)


async def _plan(run: Run, config: Config, values: Mapping[str, Values],
                state: State, prune: bool, reading: Reading | None = None,
                ) -> tuple[list[PlanItem], dict[tuple[Scope, str], int]]:
    api_url = run.settings.api_url
    repos = {}
    unreachable: dict[str, str] = {}  # org → why: its secrets are planned unreadable
    for org in orgs_needing_repos(config):
        try:
            with acting_for(org):
                # awaited here, before the loop moves on to the next org
                repos[org] = await org_repos(
                    run.api, org, None if reading is None else lambda _: reading.listed(org))  # noqa: B023
        except errors.RUN_ENDING:
            raise
        except errors.NotFound:  # a typo in the config, not a fault of GitHub's: exit 2
            raise UsageError(org_not_found(config, org)) from None
        except errors.GitHubError as exc:  # one org that cannot be listed does not stop the rest
            unreachable[org] = str(exc)

    def fingerprint(scope: Scope, name: str, index: int) -> str:
        return state.fingerprint(values[scope.target][(index, name)],
                                 state_key(api_url, scope, name))

    def listed_fingerprint(scope: Scope, name: str, value: bytes) -> str:
        return state.fingerprint(value, state_key(api_url, scope, name))

    desired, duplicates = desired_from_config(config, repos, fingerprint)
    if duplicates:  # before selects_nothing: the targets of a duplicate are not in `desired`
        raise UsageError("\n".join(f"{config.path}: {d}" for d in duplicates))
    desired = [d for d in desired if d.scope.org not in unreachable]
    for problem in selects_nothing(config, desired, skip_orgs=unreachable):
        log.warning("selects_nothing", problem=problem)
    if reading is not None:
        reading.to_read(dict.fromkeys(d.scope for d in desired))
    actual = await existing(run.api, [d.scope for d in desired], run.settings.concurrency,
                            None if reading is None else reading.read, listed_fingerprint)
    for scope, found in actual.items():
        if isinstance(found, Unreadable) and found.org_missing:
            raise UsageError(org_not_found(config, scope.org))
    if over := variables_over_limit(desired, actual):  # GitHub would refuse the writes past it
        raise UsageError("\n".join(f"{config.path}: {o}; nothing was written" for o in over))

    plan = make_plan(desired, actual, remembered_in(state, api_url), prune=prune or config.sync.prune,
                     prune_prefix=config.sync.prune_prefix)
    plan += [PlanItem(Change.UNREADABLE, _of_spec(spec, Scope.of_org(spec.org, spec.app)),  # type: ignore[arg-type]
                      spec.name, why=f"{unreachable[spec.org]}; nothing of it was read",
                      reason=Reason.ORG_UNREADABLE)
             for spec in config.specs if spec.org in unreachable]
    plan += [PlanItem(Change.MISSING_TARGET,
                      _of_spec(spec, Scope.of_repo(spec.org, name, spec.app)), spec.name,  # type: ignore[arg-type]
                      why=f"repository {name} does not exist in {spec.org}",
                      reason=Reason.REPOSITORY_MISSING)
             for spec in config.specs if spec.org in repos
             for name in named_but_missing(spec, repos[spec.org])]
    value_keys = {(d.scope, d.name): d.value_key for d in desired}
    return plan, value_keys


def org_not_found(config: Config, org: str) -> str:
    return (f"{config.path}: organization {org} not found, or the token cannot see it; "
            "nothing was written")


def _adopt_values_in_place(state: State, api_url: str, plan: list[PlanItem]) -> None:
    """Variables that already hold what the config wants (set by hand, or by a run whose state
    is gone) are recorded as syncer's, as its own write would be: a later change on GitHub is
    then drift, not an update. (A secret's value cannot be seen: it is rewritten instead.)"""
    for item in plan:
        if item.change is not Change.UNCHANGED or item.scope.target != "variable" \
                or item.desired is None:
            continue
        key = state_key(api_url, item.scope, item.name)
        want = item.desired
        selection = want.selection.as_text() if want.selection is not None else None
        record = state.get(key)
        if record is None or (record.fingerprint, record.selection) != (want.fingerprint,
                                                                        selection):
            state.put(key, Record.now(want.fingerprint, item.github_updated_at, selection))


def _of_spec(spec: SecretSpec, scope: Scope) -> Scope:
    """`scope`, or its variables for a [[variable]]."""
    return scope.variables() if spec.target == "variable" else scope


def selects_nothing(config: Config, desired: list[Desired],
                    skip_orgs: Mapping[str, str] | None = None) -> list[str]:
    """Targets of the config that match no repository: likely a typo in a pattern."""
    repo_targets = {(d.scope.target, d.value_key) for d in desired if d.scope.kind != "org"}
    problems = []
    for index, spec in indexed(config):
        table = spec.target
        if skip_orgs and spec.org in skip_orgs:
            continue
        if spec.repos is not None and (table, index) not in repo_targets:
            problems.append(f"{table}[{index}] {spec.name}: [{table}.repos] matches no "
                            f"repository of {spec.org}")
        org = next((d for d in desired if d.value_key == index and d.scope.kind == "org"
                    and d.scope.target == table), None)
        if org and org.selection and org.selection.visibility == "selected" \
                and not org.selection.repository_ids:
            problems.append(f"{table}[{index}] {spec.name}: selected_repos matches no "
                            f"repository of {spec.org}; the org {table} would be visible to none")
    return problems


def _creating_environments(plan: list[PlanItem]) -> list[PlanItem]:
    """With create_environments, a missing environment is created and its secret then is too."""
    return [replace(i, change=Change.CREATE, why=f"environment {i.scope.env!r} created first",
                    reason=Reason.ENVIRONMENT_CREATED_FIRST, exists=False)
            if i.change is Change.MISSING_TARGET and i.scope.kind == "env" else i for i in plan]


async def _create_environments(run: Run, plan: list[PlanItem]) -> None:
    """Create each environment the plan needs; one that fails makes its writes fail alone."""
    needed = sorted({(i.scope.org, i.scope.repo or "", i.scope.env or "") for i in plan
                     if i.creates_environment})
    for org, repo, env in needed:
        try:
            with acting_for(org):
                await run.api.create_environment(org, repo, env)
            log.info("environment_created", scope=f"{org}/{repo}:{env}")
        except errors.GitHubError as exc:
            log.warning("environment_not_created", scope=f"{org}/{repo}:{env}", error=str(exc))




# --- what plan and apply share as commands ---------------------------------------------------

def add_config_arguments(parser: argparse.ArgumentParser, *, config_required: bool) -> None:
    options.add_output(parser)
    options.add_connection(parser)
    options.add_resume(parser, "[sync].state, else $XDG_STATE_HOME/syncer/state.json")
    parser.add_argument("-c", "--config", required=config_required, metavar="FILE",
                        help="the TOML config")
    parser.add_argument("--prune", action="store_true",
                        help="also delete undeclared secrets (and variables) in the scopes "
                        "the config manages")
    parser.add_argument("--detailed-exitcode", action="store_true",
                        help="exit 5 instead of 0 when plan has writes to make, or when apply "
                        "undid changes made on GitHub: drifted secrets rewritten (a value, a "
                        "selection, a deletion), undeclared ones syncer never wrote pruned")


@dataclass(frozen=True)
class SyncRequest(Request):
    apply: bool
    config: str | None  # None: apply of a saved plan, which names its config
    plan_file: str | None  # apply's saved plan
    prune: bool
    detailed_exitcode: bool
    format: str
    out: str | None  # plan --out
    connection: options.Connection
    state: str | None
    fresh: bool
    report: str | None


def sync_request_from(namespace: argparse.Namespace, *, apply: bool) -> SyncRequest:
    return SyncRequest(apply, namespace.config, getattr(namespace, "plan_file", None),
                       namespace.prune, namespace.detailed_exitcode, namespace.format,
                       getattr(namespace, "out", None), options.connection_from(namespace),
                       namespace.state, namespace.fresh, namespace.report)


@dataclass
class SyncRun:
    """What plan or apply did, for its report."""

    result: SyncResult | None
    config_info: dict[str, str]
    shown: bool = False  # the plan was already shown on the terminal, before writing
    refused: PlanChanged | None = None  # apply PLAN: the saved plan no longer holds


async def run(request: SyncRequest, session: Session) -> SyncRun:
    options.check_report_path(request.report)
    saved = _saved_plan(request) if request.apply else None
    config_path = saved.config_path if saved is not None else request.config
    assert config_path is not None
    config = load_config(config_path)
    settings = replace(options.settings_from(request.connection, config),
                       response_cache=options.response_cache())
    if saved is not None and settings.api_url != saved.api_url:
        raise UsageError(f"{request.plan_file}: planned against {saved.api_url}, not "
                         f"{settings.api_url}; nothing was written")
    orgs = sorted({s.org for s in config.specs}, key=str.lower)
    token = token_source_for(config.github, options.effective(request.connection, config, "token_env"),
                             orgs[0] if len(orgs) == 1 else orgs, settings.api_url,
                             ssl_context_for(settings.ca_bundle),
                             token_env_in_config=request.connection.token_env is None)
    state = options.open_state(request.state or (saved.state_path if saved else None)
                               or config.sync.state)
    prune = saved.prune if saved is not None else request.prune
    done = SyncRun(None, {"path": str(Path(config_path).resolve()),
                          "sha256": saved_plan.config_digest(config_path)})

    def before_writing(plan: list[PlanItem]) -> None:
        if saved is not None:
            saved_plan.check(saved, request.plan_file or "", plan)
        elif sys.stderr.isatty() and any(i.change is not Change.UNCHANGED for i in plan):
            print(plan_text(plan), file=sys.stderr)  # what is about to be written, first
            done.shown = True

    with options.locked_unless_dry_run(not request.apply, state):
        values, variable_values = read_all_values(config)  # variables' are no secrets
        for value in values.values():
            redact.register(value.reveal())
        try:
            done.result = await run_sync(
                config, values, settings, token, state, apply=request.apply, prune=prune,
                fresh=request.fresh, show_progress=session.show_progress,
                before_writing=before_writing, variable_values=variable_values, stop=session.stop)
        except saved_plan.PlanChanged as refused:
            done.refused = refused
            return done
    if not request.apply and request.out:
        saved_plan.save(request.out, saved_plan.to_json(
            done.result.plan, config_path=config_path, state_path=str(state.path),
            api_url=settings.api_url, prune=prune or config.sync.prune))
    return done


def _saved_plan(request: SyncRequest) -> SavedPlan | None:
    """apply's saved plan, if given (then not -c), with its config unchanged since."""
    if request.plan_file is None:
        return None
    saved = saved_plan.load(request.plan_file)
    if saved_plan.config_digest(saved.config_path) != saved.config_sha256:
        raise UsageError(f"{request.plan_file}: the config {saved.config_path} changed since the "
                         "plan was saved; nothing was written: run plan --out again")
    return saved
