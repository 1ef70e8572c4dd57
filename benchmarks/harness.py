"""Processes for the benchmarks: fakehub in its own process, clients as their own processes.

Every client (syncer, the bare aiohttp loop, gh) runs as a child process so its wall time and
CPU (user + sys, from ``os.wait4``) are its own and nobody else's. fakehub's counters are read
from ``GET /_fakehub/state`` with the admin token.
"""

from __future__ import annotations

import json
import os
import platform
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
TOKEN = "ghp_bench0000000000000000000000000000"
ADMIN_TOKEN = "bench-admin"
#: fakehub enforces GitHub's limits unless told otherwise. With a limit off, fakehub's
#: headers report a constant 5,000 requests remaining, and syncer's own count of the hourly
#: budget then spreads every request after the 4,500th over the rest of the hour (see README,
#: "What the benchmark found"). Scenarios that mean "no limits" give fakehub a primary budget
#: large enough never to matter instead, and turn the secondary limits off.
UNLIMITED_PRIMARY = ("--primary-limit", "100000000", "--points-per-minute", "0",
                     "--max-concurrent", "0")


@dataclass(frozen=True)
class Counters:
    """What fakehub counted, from its admin endpoint."""

    calls: dict[str, int]
    violations: dict[str, int]
    secrets: int

    @property
    def requests(self) -> int:
        return sum(self.calls.values())

    @property
    def gets(self) -> int:
        return sum(n for k, n in self.calls.items() if k.split(" ", 1)[0] in ("GET", "HEAD"))

    @property
    def writes(self) -> int:
        return sum(n for k, n in self.calls.items()
                   if k.split(" ", 1)[0] in ("PUT", "POST", "PATCH", "DELETE"))

    @property
    def points(self) -> int:
        """GitHub's secondary-limit points: 1 per read, 5 per write."""
        return self.gets + 5 * self.writes

    def minus(self, before: Counters) -> Counters:
        calls = {k: n - before.calls.get(k, 0) for k, n in self.calls.items()}
        violations = {k: n - before.violations.get(k, 0) for k, n in self.violations.items()}
        return Counters({k: n for k, n in calls.items() if n},
                        {k: n for k, n in violations.items() if n}, self.secrets)


@dataclass
class Fakehub:
    url: str
    proc: subprocess.Popen[bytes]
    repos: int
    ca_file: str | None = None

    def repo_name(self, i: int) -> str:
        """fakehub's name of repository `i` (1-based): repo-0001, zero-padded to 4+ digits."""
        return f"repo-{i:0{max(4, len(str(self.repos)))}d}"

    @property
    def api_url(self) -> str:
        """The API root a client is given (Enterprise Server style under HTTPS, as gh uses)."""
        return self.url + "/api/v3" if self.url.startswith("https://") else self.url

    def counters(self) -> Counters:
        request = urllib.request.Request(
            self.url + "/_fakehub/state", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        context = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else None
        with urllib.request.urlopen(request, timeout=120, context=context) as response:
            state: dict[str, Any] = json.load(response)
        return Counters(dict(state["calls"]), dict(state["violations"]), len(state["secrets"]))

    def cpu_seconds(self) -> float:
        """fakehub's own CPU so far (user + sys), from /proc (Linux only; 0.0 elsewhere)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def fakehub(repos: int, *args: str, tls: tuple[str, str, str] | None = None) -> Iterator[Fakehub]:
    """``python -m syncer fakehub`` with `repos` repositories in org acme (``repo-0001`` ...,
    ``--plain-names``), no environments.

    `tls` is (cert, key, ca) PEM paths: serve HTTPS. Stopped with SIGTERM afterwards.
    """
    command = [sys.executable, "-m", "syncer", "fakehub", "--plain-names", "--repos", str(repos),
               "--envs", "", "--token", TOKEN, "--admin-token", ADMIN_TOKEN, *args]
    if tls is not None:
        command += ["--tls-cert", tls[0], "--tls-key", tls[1]]
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, cwd=REPO_ROOT,
                                env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline().decode().strip()
            if not first.startswith("GITHUB_API_URL="):
                errors.seek(0)
                raise RuntimeError(f"fakehub did not start: {errors.read().decode()[-2000:]}")
            yield Fakehub(first.split("=", 1)[1], proc, repos, tls[2] if tls else None)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass(frozen=True)
class ProcessRun:
    """One child process: wall time from spawn to exit, its own CPU, and what it printed."""

    command: tuple[str, ...]
    returncode: int
    wall: float
    user: float
    sys: float
    stdout: str
    stderr: str
    spawned_at: float = 0.0  # epoch seconds, to compare with the timestamps of its log lines
    max_rss_kib: int = 0  # its peak resident set size (ru_maxrss; KiB on Linux)

    @property
    def cpu(self) -> float:
        return self.user + self.sys

    def check(self) -> ProcessRun:
        if self.returncode != 0:
            raise RuntimeError(f"{' '.join(self.command)} exited {self.returncode}:\n"
                               f"{self.stderr[-3000:]}")
        return self

    def first_event_after(self, event: str) -> float | None:
        """Seconds from spawn to the first JSON log line named `event` (None if none)."""
        for line in self.stderr.splitlines():
            if line.startswith("{") and f'"event": "{event}"' in line:
                stamp = json.loads(line).get("timestamp")
                if stamp:
                    when = datetime.fromisoformat(stamp).timestamp()
                    return when - self.spawned_at
        return None

    def summary_event(self) -> dict[str, Any]:
        """syncer's closing JSON ``summary`` log event (its own count of requests and time)."""
        for line in reversed(self.stderr.splitlines()):
            if line.startswith("{") and '"event": "summary"' in line:
                event: dict[str, Any] = json.loads(line)
                return event
        return {}


def run_process(command: Sequence[str], env: Mapping[str, str] | None = None,
                stdin: bytes | None = None, timeout: float = 1800) -> ProcessRun:
    """Run `command` to completion and measure it with ``os.wait4`` (its rusage alone)."""
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_API_URL", "GH_HOST",
                             "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN")}
    # The syncer beside these benchmarks is the one measured, whatever else is installed.
    full_env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    full_env.update(env or {})
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        spawned_at, started = time.time(), time.perf_counter()
        proc = subprocess.Popen(list(command), stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                stdout=out, stderr=err, env=full_env, cwd=REPO_ROOT)
        if stdin:
            assert proc.stdin is not None
            proc.stdin.write(stdin)
            proc.stdin.close()
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.002)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ProcessRun(tuple(command), proc.returncode, wall, usage.ru_utime, usage.ru_stime,
                          out.read().decode(errors="replace"), err.read().decode(errors="replace"),
                          spawned_at, usage.ru_maxrss)


def syncer(*args: str, hub: Fakehub, env: Mapping[str, str] | None = None,
           state_home: str | None = None) -> ProcessRun:
    """``python -m syncer ARGS`` against `hub`, logging JSON to stderr as cron would capture.

    Each run gets a state folder of its own, so no run resumes or skips on another's record,
    unless `state_home` names one that runs share (to reuse the key cache, say).
    """
    command = [sys.executable, "-m", "syncer", *args, "--quiet", "--log-format", "json"]
    if hub.ca_file:
        command += ["--ca-bundle", hub.ca_file]
    with tempfile.TemporaryDirectory(prefix="syncer-bench-state-") as own_state_home:
        full_env = {"GITHUB_API_URL": hub.api_url, "GITHUB_TOKEN": TOKEN,
                    "XDG_STATE_HOME": state_home or own_state_home, **(env or {})}
        return run_process(command, full_env).check()


def python_script(script: str, *args: str, env: Mapping[str, str] | None = None) -> ProcessRun:
    return run_process([sys.executable, str(BENCH_DIR / script), *args], env).check()


@dataclass(frozen=True)
class TLSFiles:
    cert: str
    key: str
    ca: str

    def as_tuple(self) -> tuple[str, str, str]:
        return self.cert, self.key, self.ca


def tls_files(folder: Path) -> TLSFiles | None:
    """A throw-away CA and a server certificate for 127.0.0.1 (trustme); None without it."""
    try:
        import trustme
    except ImportError:
        return None
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    files = TLSFiles(str(folder / "server.pem"), str(folder / "server.key"), str(folder / "ca.pem"))
    server.cert_chain_pems[0].write_to_path(files.cert)
    for blob in server.cert_chain_pems[1:]:
        blob.write_to_path(files.cert, append=True)
    server.private_key_pem.write_to_path(files.key)
    ca.cert_pem.write_to_path(files.ca)
    return files


def byte_compile_syncer() -> str:
    """Compile syncer's modules to bytecode first, as `pip install` does, so no run pays for
    compiling them (with PYTHONDONTWRITEBYTECODE set, every process would, ~50 ms here)."""
    import compileall

    compileall.compile_dir(REPO_ROOT / "syncer", quiet=1)
    return "syncer's modules byte-compiled before the runs, as `pip install` does"


def machine_facts() -> dict[str, str]:
    facts = {
        "cores": str(os.cpu_count()),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                facts["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import aiohttp

        facts["aiohttp"] = aiohttp.__version__
    except ImportError:
        pass
    facts["load average at start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return facts
