"""Run the benchmarks and write RESULTS.md and the plot.

    python -m benchmarks            # full run (about 10 minutes), writes benchmarks/RESULTS.md
    python -m benchmarks --quick    # smoke run (about a minute), writes benchmarks/out/
    python -m benchmarks --only 1,3 # some scenarios only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from . import harness, report, scenarios
from .results import ScenarioResult
from .scenarios import Sizes


def syncer_version() -> str:
    import syncer

    where = harness.REPO_ROOT
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=where,
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "syncer"], cwd=where,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"syncer {syncer.__version__} (commit unknown: not a git checkout, or no git)"
    state = " with uncommitted changes under syncer/" if dirty else ""
    return f"syncer {syncer.__version__} at commit {commit}{state}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, a smoke run of about a minute; writes to benchmarks/out/")
    parser.add_argument("--only", default="1,2,3,4,5", metavar="LIST",
                        help="scenarios to run, e.g. 1,3 (default: all)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for RESULTS.md, the plot and the raw numbers (default: "
                        "benchmarks/ and benchmarks/out/, or benchmarks/out/ with --quick)")
    args = parser.parse_args(argv)
    sizes = scenarios.QUICK if args.quick else scenarios.FULL
    out: Path = args.out or (harness.BENCH_DIR / "out" if args.quick else harness.BENCH_DIR)
    out.mkdir(parents=True, exist_ok=True)
    wanted = {s.strip() for s in args.only.split(",") if s.strip()}
    command = "python -m benchmarks" + (" " + " ".join(sys.argv[1:] if argv is None else argv)
                                        if (sys.argv[1:] if argv is None else argv) else "")
    facts = harness.machine_facts()
    facts["bytecode"] = harness.byte_compile_syncer()
    started = time.time()
    started_utc = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    results: list[ScenarioResult] = []
    with tempfile.TemporaryDirectory(prefix="syncer-bench-") as work:
        steps: dict[str, Callable[[], ScenarioResult]] = {
            "1": lambda: scenarios.latency_bound(sizes),
            "2": lambda: scenarios.github_pacing(sizes),
            "3": lambda: scenarios.cpu_bound(sizes),
            "4": lambda: scenarios.nightly_noop(sizes),
            "5": lambda: scenarios.peers(sizes, Path(work)),
        }
        for key, step in steps.items():
            if key not in wanted:
                continue
            print(f"[{time.time() - started:6.1f} s] scenario {key} ...", file=sys.stderr,
                  flush=True)
            begun, load_before = time.perf_counter(), os.getloadavg()[0]
            result = step()
            result.seconds = time.perf_counter() - begun
            result.load = (load_before, os.getloadavg()[0])
            results.append(result)
            for check in result.checks:
                verdict = {True: "met", False: "NOT met", None: "not measured"}[check.met]
                print(f"    {check.target}: {check.measured} -> {verdict}", file=sys.stderr,
                      flush=True)
    minutes = (time.time() - started) / 60
    plot_note = report.write_plot(out / report.PLOT_NAME, results)
    report.write_results(out / "RESULTS.md", results, command=command,
                         started_utc=started_utc, minutes=minutes, facts=facts,
                         syncer_version=syncer_version(), plot_note=plot_note,
                         sizes_note=_sizes_note(sizes))
    raw_dir = args.out or harness.BENCH_DIR / "out"
    raw_dir.mkdir(exist_ok=True)
    (raw_dir / ("results-quick.json" if args.quick else "results.json")).write_text(
        json.dumps([asdict(r) for r in results], indent=1))
    print(f"wrote {out / 'RESULTS.md'} in {minutes:.1f} min", file=sys.stderr)
    return 0


def _sizes_note(sizes: Sizes) -> str:
    return (f"latency {sizes.latency_ms:g} ms; 1: repos {', '.join(f'{n:,}' for n in sizes.latency_repos)}"
            f" × C {', '.join(map(str, sizes.latency_concurrency))}; 2: {sizes.guidance_repos:,} "
            f"repos paced, {sizes.pair_repos:,} × 2 runs, {sizes.points_repos:,} points-bound "
            f"repos; 3: {sizes.cpu_repos:,} repos × {sizes.cpu_repeats} (lag: "
            f"{sizes.lag_repos:,}); 4: {sizes.noop_repos:,} repos; 5: {sizes.peer_repos:,} repos "
            f"(gh over {min(sizes.gh_repos, sizes.peer_repos):,})")


if __name__ == "__main__":
    sys.exit(main())
