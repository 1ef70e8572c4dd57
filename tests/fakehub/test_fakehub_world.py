"""fakehub's generated world: `syncer fakehub` gives each org repositories as an organisation
has them (names, topics, archived, forks, public, environments on some), deterministically;
`--plain-names` gives the repo-NNNN world; `--help` is complete."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.request
from typing import Any

from syncer.fakehub.cli import build_parser, hub_from_args


def get(url: str, path: str) -> Any:
    request = urllib.request.Request(url + path, headers={"Authorization": "Bearer t"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def listed(*argv: str) -> dict[str, dict[str, Any]]:
    """The repositories of org acme as GET /orgs/acme/repos answers them (one page of 100),
    each with the names of its environments under "environments"."""
    hub = hub_from_args(build_parser().parse_args(["--token", "t", *argv]))
    with hub.serve_in_thread() as url:
        repos = {r["name"]: r for r in get(url, "/orgs/acme/repos?per_page=100")}
        for name, repo in repos.items():
            envs = get(url, f"/repos/acme/{name}/environments")["environments"]
            repo["environments"] = sorted(e["name"] for e in envs)
    return repos


def test_default_world_is_varied_as_an_organisation() -> None:
    """By default the repositories have varied names (svc-*, web-*, api, deps-*, libs; no
    repo-NNNN), topics, and some are archived, forks or public; the deployable ones that
    are neither archived nor forks have the environments, the others none."""
    repos = listed("--repos", "40")
    names = set(repos)
    assert len(names) == 40 and {"api", "libs"} <= names
    for prefix in ("svc-", "web-", "deps-"):
        assert sum(n.startswith(prefix) for n in names) >= 2, prefix
    assert not any(n.startswith("repo-") for n in names)
    topics = {t for r in repos.values() for t in r["topics"]}
    assert {"backend", "frontend", "dependencies", "library"} <= topics
    for flag in ("archived", "fork"):
        assert 0 < sum(r[flag] for r in repos.values()) < 40, flag
    assert 0 < sum(r["visibility"] == "public" for r in repos.values()) < 40
    with_envs = {n for n, r in repos.items() if r["environments"]}
    assert all(repos[n]["environments"] == ["production", "staging"] for n in with_envs)
    assert 0 < len(with_envs) < 40
    deployable = ("api", "svc-", "web-", "infra-")
    assert with_envs == {n for n, r in repos.items() if n.startswith(deployable)
                         and not r["archived"] and not r["fork"]}


def test_world_is_the_same_for_a_seed_and_differs_by_seed_and_org() -> None:
    """The same --seed gives the same repositories; another seed or another org keeps the
    first dozen and draws the rest differently; --repos N gives N uniquely named ones."""
    def world(*argv: str) -> dict[str, list[tuple[str, bool, bool, bool, tuple[str, ...]]]]:
        hub = hub_from_args(build_parser().parse_args(["--token", "t", *argv]))
        return {org.name: [(r.name, r.private, r.archived, r.fork, r.topics)
                           for r in org.repos.values()]
                for org in hub.world.orgs.values()}

    one = world("--org", "a", "--org", "b", "--repos", "30", "--seed", "7")
    assert one == world("--org", "a", "--org", "b", "--repos", "30", "--seed", "7")
    other = world("--org", "a", "--repos", "30", "--seed", "8")["a"]
    assert one["a"][:12] == one["b"][:12] == other[:12]
    assert one["a"][12:] != one["b"][12:] and one["a"][12:] != other[12:]
    many = world("--repos", "600")["acme"]
    assert len({name for name, *_ in many}) == 600


def test_plain_names_is_the_repo_nnnn_world() -> None:
    """--plain-names: repo-0001 ... repo-N, all private, no topics, none archived or a
    fork, every one with the --envs environments."""
    repos = listed("--plain-names", "--repos", "3", "--envs", "production")
    assert sorted(repos) == ["repo-0001", "repo-0002", "repo-0003"]
    assert all(r["visibility"] == "private" and not r["topics"] and not r["archived"]
               and not r["fork"] and r["environments"] == ["production"]
               for r in repos.values())


def test_help_names_syncer_fakehub_and_explains_every_option() -> None:
    """`syncer fakehub --help` says `usage: syncer fakehub`, and every option has help."""
    done = subprocess.run([sys.executable, "-m", "syncer", "fakehub", "--help"],
                          capture_output=True, text=True, timeout=30, check=True)
    assert done.stdout.startswith("usage: syncer fakehub ")
    silent = [a.option_strings[0] for a in build_parser()._actions
              if a.option_strings and (not a.help or a.help == argparse.SUPPRESS)]
    assert silent == []
    for option in ("--plain-names", "--seed", "--latency-ms", "--error-rate", "--slow-seconds"):
        assert option in done.stdout
