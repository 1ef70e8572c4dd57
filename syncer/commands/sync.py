"""`syncer plan -c FILE` and `syncer apply -c FILE`: make GitHub match a config file.

plan reads GitHub and the state file and shows what apply would do; it never writes.
apply writes only what is missing, changed, or drifted (changed on GitHub by someone else),
and records each write's keyed fingerprint and time in the state file. Secrets and variables
go through the same plan; a variable's listed value tells its drift exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import structlog

from ..config.load import Config, SecretSpec
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
from ..execution.discover import existing, org_repos
from ..execution.interrupt import Interrupt
from ..execution.writes import remembered_in, state_key, write_planned
from ..exits import Exit, UsageError
from ..github import errors
from ..github.auth import acting_for
from ..github.client import TokenSource
from ..observe.progress import Reading
from ..observe.summary import Summary
from ..store.state import Record, State

log = structlog.get_logger("syncer.sync")


@dataclass
class SyncResult:
    plan: list[PlanItem]
    outcomes: list[Outcome]
    summary: Summary | None = None
    earlier: list[Action] = field(default_factory=list)  # done by the run this one resumed

    @property
    def exit_code(self) -> Exit:
        failed = any(o.result in (Result.FAILED, Result.SKIPPED) for o in self.outcomes)
        missing = any(i.change in (Change.MISSING_TARGET, Change.UNREADABLE) for i in self.plan)
        return Exit.FAILED if failed or missing else Exit.OK


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
                repos[org] = await org_repos(
                    run.api, org, None if reading is None else lambda _, org=org: reading.listed(org))
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


