"""`syncer plan -c FILE` and `syncer apply -c FILE`: make GitHub match a config file.

plan reads GitHub and the state file and shows what apply would do; it never writes.
apply writes only what is missing, changed, or drifted (changed on GitHub by someone else),
and records each write's keyed fingerprint and time in the state file.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace

import structlog

from ..config import Config
from ..desired import desired_from_config, orgs_needing_repos
from ..discover import existing, org_repos
from ..exits import Exit, UsageError
from ..github import errors
from ..github.auth import acting_for
from ..github.client import TokenSource
from ..model import Action, Op, Outcome, Result, Scope, SecretValue
from ..observe.summary import Summary
from ..plan import WRITES, Change, Desired, PlanItem, Remembered, make_plan
from ..resume import host_of, inputs_id, resumable, state_key, where, write_resumably
from ..runtime import Run, Settings, connect
from ..state import Record, State

log = structlog.get_logger("syncer.sync")


@dataclass
class SyncResult:
    plan: list[PlanItem]
    outcomes: list[Outcome]
    summary: Summary | None = None

    @property
    def exit_code(self) -> Exit:
        failed = any(o.result in (Result.FAILED, Result.SKIPPED) for o in self.outcomes)
        missing = any(i.change is Change.MISSING_TARGET for i in self.plan)
        return Exit.FAILED if failed or missing else Exit.OK


async def run_sync(config: Config, values: Mapping[tuple[int, str], SecretValue],
                   settings: Settings, token: str | TokenSource, state: State, *,
                   apply: bool, prune: bool, fresh: bool = False,
                   show_progress: bool | None = None) -> SyncResult:
    started = time.monotonic()
    async with connect(settings, token) as run:
        plan, value_keys = await _plan(run, config, values, state, prune)
        if config.sync.create_environments:
            plan = _creating_environments(plan)
            if apply:
                await _create_environments(run, plan)
        if not apply:
            return SyncResult(plan, [], run.summary([], started))
        to_write = [item for item in plan if item.change in WRITES]
        fingerprints = {(i.scope, i.name): i.desired.fingerprint for i in to_write if i.desired}

        def fingerprint(action: Action) -> str:
            return fingerprints[(action.scope, action.name)]

        inputs = inputs_id("apply", host_of(settings.api_url), config.path, *sorted(
            f"{where(i.scope)}|{i.scope.app}|{i.name}|{fingerprints.get((i.scope, i.name), '')}"
            for i in to_write))
        outcomes: list[Outcome] = []
        try:
            with resumable(state, inputs, fingerprint, fresh=fresh) as resume:
                actions = [i.action() for i in to_write]
                _adopt(state, settings.api_url, plan, resume.split(actions)[1])
                outcomes = await write_resumably(
                    run, resume, actions,
                    lambda a: values[(value_keys[(a.scope, a.name)], a.name)], show_progress)
        finally:
            _record(state, settings.api_url, outcomes, fingerprints)
            state.save()
        return SyncResult(plan, outcomes, run.summary(outcomes, started))


async def _plan(run: Run, config: Config, values: Mapping[tuple[int, str], SecretValue],
                state: State, prune: bool) -> tuple[list[PlanItem], dict[tuple[Scope, str], int]]:
    api_url = run.settings.api_url
    repos = {}
    for org in orgs_needing_repos(config):
        try:
            with acting_for(org):
                repos[org] = await org_repos(run.api, org)
        except errors.NotFound as exc:
            raise UsageError(exc.message) from None

    def fingerprint(scope: Scope, name: str, index: int) -> str:
        return state.fingerprint(values[(index, name)], state_key(api_url, scope, name))

    desired, duplicates = desired_from_config(config, repos, fingerprint)
    for problem in selects_nothing(config, desired):
        log.warning("selects_nothing", problem=problem)
    if duplicates:
        raise UsageError("\n".join(f"{config.path}: {d}" for d in duplicates))
    try:
        actual = await existing(run.api, [d.scope for d in desired], run.settings.concurrency)
    except errors.NotFound as exc:
        raise UsageError(f"{exc.message}: organization not found or token lacks access") from None

    def remembered(scope: Scope, name: str) -> Remembered | None:
        record = state.get(state_key(api_url, scope, name))
        return Remembered(record.fingerprint, record.updated_at) if record else None

    plan = make_plan(desired, actual, remembered, prune=prune or config.sync.prune,
                     prune_prefix=config.sync.prune_prefix)
    value_keys = {(d.scope, d.name): d.value_key for d in desired}
    return plan, value_keys


def selects_nothing(config: Config, desired: list[Desired]) -> list[str]:
    """Targets of the config that match no repository: likely a typo in a pattern."""
    repo_targets = {d.value_key for d in desired if d.scope.kind != "org"}
    problems = []
    for index, spec in enumerate(config.secrets):
        if spec.repos is not None and index not in repo_targets:
            problems.append(f"secret[{index}] {spec.name}: [secret.repos] matches no repository "
                            f"of {spec.org}")
        org = next((d for d in desired if d.value_key == index and d.scope.kind == "org"), None)
        if org and org.selection and org.selection.visibility == "selected" \
                and not org.selection.repository_ids:
            problems.append(f"secret[{index}] {spec.name}: selected_repos matches no repository "
                            f"of {spec.org}; the org secret would be visible to none")
    return problems


def _creating_environments(plan: list[PlanItem]) -> list[PlanItem]:
    """With create_environments, a missing environment is created and its secret then is too."""
    return [replace(i, change=Change.CREATE, why=f"environment {i.scope.env!r} created first")
            if i.change is Change.MISSING_TARGET and i.scope.kind == "env" else i for i in plan]


async def _create_environments(run: Run, plan: list[PlanItem]) -> None:
    """Create each environment the plan needs; one that fails makes its writes fail alone."""
    needed = sorted({(i.scope.org, i.scope.repo or "", i.scope.env or "") for i in plan
                     if i.why.startswith("environment ") and i.why.endswith(" created first")})
    for org, repo, env in needed:
        try:
            with acting_for(org):
                await run.api.create_environment(org, repo, env)
            log.info("environment_created", scope=f"{org}/{repo}:{env}")
        except errors.GitHubError as exc:
            log.warning("environment_not_created", scope=f"{org}/{repo}:{env}", error=str(exc))


def _adopt(state: State, api_url: str, plan: list[PlanItem], done: list[Action]) -> None:
    """Writes the interrupted run completed: GitHub's updated_at, read just now, is theirs."""
    by_target = {(i.scope, i.name): i for i in plan}
    for action in done:
        item = by_target[(action.scope, action.name)]
        key = state_key(api_url, action.scope, action.name)
        if action.op is Op.DELETE:
            state.forget(key)
        elif item.desired is not None:
            state.put(key, Record.now(item.desired.fingerprint, item.github_updated_at))


def _record(state: State, api_url: str, outcomes: list[Outcome],
            fingerprints: Mapping[tuple[Scope, str], str]) -> None:
    """Remember each successful write: the value's keyed fingerprint and GitHub's time of it."""
    for outcome in outcomes:
        action: Action = outcome.action
        key = state_key(api_url, action.scope, action.name)
        if outcome.result is Result.DELETED:
            state.forget(key)
        elif outcome.result in (Result.CREATED, Result.UPDATED):
            state.put(key, Record.now(fingerprints[(action.scope, action.name)],
                                      outcome.updated_at))
