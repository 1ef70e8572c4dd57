"""`python -m benchmarks.memory` keeps working and keeps its section of RESULTS.md; no number of
it is judged here (memory goals live in the benchmark's own report)."""

import json
import subprocess
import sys
from pathlib import Path

from helpers import REPO_ROOT as ROOT

from benchmarks.memory import RUNS
from benchmarks.report import MEMORY_SECTION, kept_section, replace_section


def test_smoke_run_measures_every_run_at_every_size(tmp_path: Path) -> None:
    """A tiny run (1 and 20 repositories) measures a peak RSS for each of plan, apply and audit
    and writes one table row per run into the memory section."""
    done = subprocess.run([sys.executable, "-m", "benchmarks.memory", "--sizes", "20",
                           "--out", str(tmp_path)], check=False, cwd=ROOT, capture_output=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    measured = json.loads((tmp_path / "memory.json").read_text())
    assert sorted((m["repos"], m["run"]) for m in measured) == sorted(
        (n, label) for n in (1, 20) for label, _ in RUNS)
    assert all(m["max_rss_kib"] > 0 for m in measured)
    results = (tmp_path / "RESULTS.md").read_text()
    assert results.count(MEMORY_SECTION[0]) == 1 and "## Memory" in results
    for label, _ in RUNS:
        assert f"| {label} | " in results


def test_memory_section_is_replaced_in_place_and_survives_a_rewrite(tmp_path: Path) -> None:
    """The section is written between its markers (replacing an older one, else appended), and
    a full run's rewrite of RESULTS.md carries it over unchanged."""
    results = tmp_path / "RESULTS.md"
    results.write_text("# results\n\n## Plot\n")
    replace_section(results, MEMORY_SECTION, "## Memory\n\nold\n")
    replace_section(results, MEMORY_SECTION, "## Memory\n\nnew\n")
    text = results.read_text()
    assert text.startswith("# results\n\n## Plot\n") and "old" not in text
    assert text.count("## Memory") == 1 and "new" in text
    kept = kept_section(results, MEMORY_SECTION)
    assert kept.strip() == text[text.index(MEMORY_SECTION[0]):].strip()
    assert kept_section(tmp_path / "absent.md", MEMORY_SECTION) == ""
