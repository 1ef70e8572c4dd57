"""Problems across [[secret]] (or [[variable]]) tables that can be seen without asking GitHub:
two tables writing the same place, and more variables in one scope than GitHub allows. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from ..core.names import MAX_VARIABLES
from .model import RepoSelector, SecretSpec

__all__ = ["duplicate_problems", "kind_words", "variable_count_problems"]


def duplicate_problems(specs: Sequence[tuple[int, SecretSpec]]) -> list[tuple[int, str]]:
    """(index, message) for each secret that surely writes the same place as an earlier one.

    Same org, app, target kind and name, and for repository and environment targets selectors
    that surely overlap (see _surely_overlap): two values would overwrite each other every run.
    """
    found: list[tuple[int, str]] = []
    # Each spec's targets as keys two specs share exactly when _same_target finds them the same;
    # a spec is then compared with the first earlier one sharing a key, not with every earlier
    # one: a config of many thousands of secrets is checked in linear time.
    first_at: dict[tuple[object, ...], int] = {}
    for n, (index, spec) in enumerate(specs):
        keys = _target_keys(spec)
        sharing = [first_at[k] for k in keys if k in first_at]
        if sharing:
            earlier_index, earlier = specs[min(sharing)]
            if where := _same_target(earlier, spec):
                line = f" (line {earlier.line})" if earlier.line else ""
                message = (f"{spec.name} is already written to {where} by "
                           f"{earlier.target}[{earlier_index}]{line}; the two values would "
                           "overwrite each other on every run")
                found.append((index, message))
        for key in keys:
            first_at.setdefault(key, n)
    return found


def _target_keys(spec: SecretSpec) -> list[tuple[object, ...]]:
    """Keys of the places `spec` writes, such that two specs share one exactly when
    _same_target calls them the same place (see _surely_overlap for the selectors)."""
    group = (spec.name, spec.org.lower(), spec.app)
    keys: list[tuple[object, ...]] = [(*group, "org")] if spec.org_target else []
    selector = spec.repos
    if selector is None or selector.regex or selector.topics:
        return keys
    match = frozenset(m.lower() for m in selector.match)
    overlap = [match, "*"] if "*" in match else [match]  # both matching "*" overlap too
    if spec.writes_repo_secrets:
        keys += [(*group, "repo", o) for o in overlap]
    keys += [(*group, "env", env.lower(), o) for env in spec.environments for o in overlap]
    return keys


def _same_target(a: SecretSpec, b: SecretSpec) -> str | None:
    if a.name != b.name or a.org.lower() != b.org.lower() or a.app != b.app:
        return None
    suffix = "" if a.app == "actions" else f" ({a.app})"
    if a.org_target and b.org_target:
        return f"the org {b.target} of {b.org}{suffix}"
    if not (a.repos and b.repos and _surely_overlap(a.repos, b.repos)):
        return None
    if a.writes_repo_secrets and b.writes_repo_secrets:
        return f"the repository {b.target}s of the same repositories of {b.org}{suffix}"
    common = sorted({e.lower() for e in a.environments} & {e.lower() for e in b.environments})
    if common:
        return f"environment {common[0]!r} of the same repositories of {b.org}"
    return None


def variable_count_problems(specs: Sequence[tuple[int, SecretSpec]]) -> list[tuple[int, str]]:
    """(index, message) for each [[variable]] that would be one too many for GitHub in a scope,
    as far as the config alone tells: org variables of one org, and repository (or environment)
    variables of identical [variable.repos] tables, which surely land in the same repositories.
    What already exists on GitHub is counted when the plan has read it."""
    names: dict[tuple[object, ...], set[str]] = {}
    found: list[tuple[int, str]] = []
    for index, spec in specs:
        for key, kind, where in _variable_places(spec):
            held = names.setdefault(key, set())
            held.add(spec.name)
            if len(held) == MAX_VARIABLES[kind] + 1:
                found.append((index, f"{spec.name} would be variable {len(held)} of {where}; "
                              f"GitHub allows at most {MAX_VARIABLES[kind]} {kind_words(kind)}"))
    return found


def kind_words(kind: str) -> str:
    """"repository variables" and kin, for messages."""
    return {"org": "organization variables", "repo": "repository variables",
            "env": "environment variables"}[kind]


def _variable_places(spec: SecretSpec) -> list[tuple[tuple[object, ...], str, str]]:
    """(key, scope kind, words) of each group of scopes `spec` surely writes alike."""
    group = (spec.org.lower(), spec.app)
    places: list[tuple[tuple[object, ...], str, str]] = []
    if spec.org_target is not None:
        places.append(((*group, "org"), "org", f"the org {spec.org}"))
    if spec.repos is not None:
        r = spec.repos
        selector = (frozenset(m.lower() for m in r.match), r.regex,
                    frozenset(t.lower() for t in r.topics), frozenset(e.lower() for e in r.exclude),
                    r.include_archived, r.include_forks)
        repos = f"each repository of {spec.org} its [variable.repos] selects"
        if not spec.environments:
            places.append(((*group, "repo", selector), "repo", repos))
        places += [((*group, "env", env.lower(), selector), "env",
                    f"environment {env!r} of {repos}") for env in spec.environments]
    return places


def _surely_overlap(a: RepoSelector, b: RepoSelector) -> bool:
    """Identical match lists, or both matching "*", with no regex or topics narrowing either.

    Differing `exclude` lists still overlap in practice; a regex or topics may well split the
    repositories in two (one value for some, another for the rest), so those are not flagged.
    """
    if a.regex or b.regex or a.topics or b.topics:
        return False
    ma, mb = {m.lower() for m in a.match}, {m.lower() for m in b.match}
    return ma == mb or ("*" in ma and "*" in mb)

