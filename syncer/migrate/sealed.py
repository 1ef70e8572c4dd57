"""--import-sealed: the export workflow's ciphertexts read from their files, checked against
SRC's secrets now, put in rounds the engine can write (one key_id per scope and round), and
written to DST as they are.

Why the import reuses the engine: see run.py's docstring."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..core.model import APPS, Action, Op, OrgSelection, Outcome, PublicKey, Result, Scope, SecretValue
from ..core.names import secret_name_problem
from ..execution.connect import Run
from ..execution.crypto import Sealer
from ..execution.discover import for_each
from ..execution.engine import Engine
from ..execution.keys import KeyCache
from ..execution.writes import host_of, state_key, writer_locks
from ..exits import UsageError
from ..github import errors
from ..inputs import InputTooLarge, read_capped
from ..observe.progress import Progress
from ..store.state import State
from .export import SEALED_FORMAT
from .mapping import VISIBILITIES, Target, secrets_only
from .report import FAILED, MIGRATED, NOT_WRITTEN, ReportItem, Written, stopped_why
from .sides import cost_of

_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


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


# -- reading the sealed files and writing them -------------------------------------------------


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


def read_sealed(paths: Sequence[str], dest_org: str) -> list[SealedEntry]:
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
                                    f"stale key_id {entry.key_id}: export again",
                                    stale_key=True))
        else:
            items.append(ReportItem(FAILED, entry.scope, entry.name, key,
                                    outcome.error or outcome.result.value))
    order = {s: i for i, s in enumerate((FAILED, NOT_WRITTEN, MIGRATED))}
    return sorted(items, key=lambda i: order.get(i.status, 9))


@dataclass(frozen=True)
class Imported(Written):
    """What --import-sealed wrote; its report names DST only."""


async def import_sealed(entries: Sequence[SealedEntry], rounds: Sequence[Sequence[SealedEntry]],
                        src: Run, dst: Run, targets: Sequence[Target], state: State, *,
                        dry_run: bool, quiet: bool) -> Imported:
    """Write `rounds` of pre-sealed `entries` (import_rounds) to DST through the engine, once
    each entry is found to be one of SRC's secrets now (`targets`)."""
    if problems := sealed_against_source(entries, targets):
        raise UsageError("cannot import (nothing was written):\n" + "\n".join(problems))
    if not dry_run:
        ids = await _repository_ids(dst, entries)
        entries = [_with_repo_id(e, ids) for e in entries]
        rounds = [[_with_repo_id(e, ids) for e in chosen] for chosen in rounds]
    by_target = {(e.scope, e.name): e for e in entries}
    writes = [] if dry_run else [(host_of(dst.settings.api_url), e.scope.org, e.name)
                                 for e in entries]
    stale: set[tuple[Scope, str]] = set()
    outcomes: list[Outcome] = []
    with writer_locks(writes):
        for chosen in rounds:
            if dry_run:
                break
            engine = Engine(dst.api, _PreSealed(), _exported_keys(chosen, stale, dst.api.public_key),
                            dst.settings.concurrency, stop=dst.stop)
            actions = [Action(Op.PUT, e.scope, e.name, e.selection, "import") for e in chosen]
            outcomes += await _write_sealed(
                dst, engine, actions,
                lambda a: SecretValue(by_target[(a.scope, a.name)].encrypted_value.encode()),
                state, quiet)
    cost = cost_of(src, dst)
    items = _import_report(entries, outcomes, stale, dry_run=dry_run)
    return Imported(tuple(items), tuple(outcomes), cost,
                    dst.summary(outcomes, time.monotonic() - cost.seconds),
                    host_of(dst.settings.api_url))
