"""--import-sealed: the export workflow's ciphertexts, checked against SRC's secrets now and
put in rounds the engine can write (one key_id per scope and round)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core.model import (
    APPS,
    OrgSelection,
    Scope,
)
from ..core.names import secret_name_problem
from .export import SEALED_FORMAT
from .mapping import VISIBILITIES, Target, secrets_only

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
