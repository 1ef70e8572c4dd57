"""`python -m benchmarks`: the documented command keeps working, and its arithmetic is right.

No speed is judged here (benchmarks report speed; tests never time anything): the smoke run
checks that every scenario ran and every target got a verdict, and the counts that do not
depend on the machine.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO_ROOT

from benchmarks.harness import Counters
from benchmarks.results import Table
from benchmarks.scenarios import QUICK, _latency_row

ROOT = REPO_ROOT
SCENARIOS = ["1. Latency-bound", "2. GitHub's pacing", "3. CPU-bound", "4. Nightly no-op",
             "5. Peers"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
                          check=False, cwd=ROOT, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return out


def test_quick_run_reports_every_scenario_and_judges_every_target(quick_run: Path) -> None:
    results = (quick_run / "RESULTS.md").read_text()
    for name in SCENARIOS:
        assert f"### {name}" in results
    targets = results.split("## Targets", 1)[1].split("## Scenarios", 1)[0]
    rows = [line for line in targets.splitlines() if line.startswith("| ") and "---" not in line]
    verdicts = [row.rstrip(" |").rsplit("| ", 1)[1] for row in rows[1:]]
    assert len(verdicts) == 13, targets
    assert set(verdicts) <= {"yes", "**no**", "not measured"}, verdicts
    raw = json.loads((quick_run / "results-quick.json").read_text())
    assert [scenario["name"] for scenario in raw] == SCENARIOS


def test_quick_run_counts_what_does_not_depend_on_the_machine(quick_run: Path) -> None:
    raw = {scenario["name"]: scenario for scenario in
           json.loads((quick_run / "results-quick.json").read_text())}
    for row in raw["1. Latency-bound"]["raw"]["rows"]:  # a key GET and a PUT per repository
        repos = int(row["repos"])
        assert row["requests"] == 2 * repos + math.ceil(repos / 100)
    noop = raw["4. Nightly no-op"]["raw"]
    assert noop["writes"] == 0
    results = (quick_run / "RESULTS.md").read_text()
    key_cache_row = next(line for line in results.splitlines()
                         if line.startswith("| syncer set --key-cache"))
    repos = QUICK.cpu_repos  # remembered keys: only the PUTs and the listing
    assert f"| {(repos + math.ceil(repos / 100)) / repos:.3f} |" in key_cache_row


def test_latency_ceiling_is_the_first_page_plus_two_requests_per_worker_target() -> None:
    """1,000 repos at C=64, 50 ms, 0.2 s of start-up and exit: the run cannot be shorter than
    33 latencies (the first page, then 16 targets of two requests on the busiest workers)."""
    counted = Counters(calls={"GET /orgs/{org}/repos": 10,
                              "GET /repos/{owner}/{repo}/actions/secrets/public-key": 1000,
                              "PUT /repos/{owner}/{repo}/actions/secrets/{secret_name}": 1000},
                       violations={}, secrets=1000)
    row = _latency_row(Table("t", []), "syncer", 1000, 64, counted, wall=2.0, own=1.8,
                       first=0.4, latency=0.05, hub_cpu=0.0)
    bound = 2010 * 0.05 / 64
    assert row["bound"] == pytest.approx(bound)
    assert row["efficiency"] == pytest.approx(bound / 2.0)
    assert row["ceiling"] == pytest.approx(bound / (0.2 + 0.05 * 33))
    assert row["ceiling"] < 0.85  # why 0.85 needs start-up + every overhead under 0.2 s
    # the target is judged against the floor of a streaming client, start-up excluded
    assert row["floor"] == pytest.approx(0.05 * 33)
    assert row["efficiency_floor"] == pytest.approx(0.05 * 33 / 1.8)
