"""Which value goes where: the values file read, matched to the targets, and the values
template that --plan-out writes for the operator to fill in (the key syntax is mapping.py's)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.model import SecretValue
from ..exits import UsageError
from ..observe import redact
from .mapping import MIGRATED_APPS, Target, ValueKey, key_of, parse_value_key, secrets_only
from .values_file import Entry, ValuesFile, ValuesFileError, read_values_file


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


def read_values(path: str) -> ValuesFile:
    """--values FILE, or a UsageError listing its problems; each value is registered for
    redaction before anything can log it."""
    try:
        values = read_values_file(path)
    except ValuesFileError as exc:
        raise UsageError("the values file cannot be used:\n" + "\n".join(exc.problems)) from None
    for entry in values.entries:
        redact.register(entry.value.reveal())
    return values
