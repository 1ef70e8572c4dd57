"""Shared helpers for tests: fakehub over loopback (in this process, or its own), syncer in this
process or as a real one, and the environment and config file every end-to-end run needs."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from syncer import cli
from syncer.fakehub import FakeHub, Limits

REPO_ROOT = Path(__file__).resolve().parent.parent  # the checkout: tests sit in tests/<package>/
TOKEN = "tok-e2e-5d41402abc4b2a76"
FAKEHUB_TOKEN = "tok"  # FakeHub()'s own default token, which fakehub's own tests use
Headers = Mapping[str, str]  # case-insensitive (aiohttp's CIMultiDict)


def org_hub(repos: int, *orgs: str, tokens: tuple[str, ...] = (TOKEN,),
            limits: Limits | None = None, environments: tuple[str, ...] = ("production",),
            **kwargs: Any) -> FakeHub:
    """fakehub for `TOKEN` with the organisations `orgs` (acme when none), each of `repos`
    repositories (repo-0001 ...). Limits are off unless given: end-to-end runs of hundreds of
    writes are about what is written, and pacing has its own tests."""
    hub = FakeHub(tokens=tokens, limits=limits or Limits.off(), **kwargs)
    for org in orgs or ("acme",):
        hub.add_org(org)
        if repos:
            hub.add_repos(org, repos, environments=environments)
    return hub


def migration_urls(hub: FakeHub) -> Iterator[dict[str, str]]:
    """`hub` served on loopback as both sides of a migration, for a fixture to yield from."""
    with hub.serve_in_thread() as url:
        yield {"from": url, "to": url}


def github_env(url: str, token: str | None = TOKEN, **values: str) -> dict[str, str]:
    """The environment of one syncer run against fakehub at `url`: its token and the values
    the run reads (`env:NAME` sources)."""
    return {"GITHUB_API_URL": url, **({"GITHUB_TOKEN": token} if token else {}), **values}


def config_toml(*tables: str, sync: str = "points_per_minute = 0", org: str = "acme") -> str:
    """A config for `org`: its [sync] table holds `sync` (by default no pacing: fakehub runs
    with its limits off in end-to-end tests, and pacing has its own tests), then `tables`."""
    return f'[github]\norg = "{org}"\n[sync]\n{sync}\n' + "".join(tables)


def managed(kind: str, name: str, value: str, *, environments: list[str] | None = None,
            app: str | None = None, repos: list[str] | None = None,
            exclude: list[str] | None = None, visibility: str | None = None,
            selected: list[str] | None = None) -> str:
    """One [[secret]] or [[variable]] table (`kind`) of a config, with its [kind.repos] (the
    `repos` patterns less `exclude`) or its [kind.org] (`visibility`, `selected` repos)."""
    lines = [f"[[{kind}]]", f"name = {json.dumps(name)}", f"value = {json.dumps(value)}"]
    if environments is not None:
        lines.append(f"environments = {json.dumps(environments)}")
    if app is not None:
        lines.append(f"app = {json.dumps(app)}")
    if visibility is not None:
        lines += [f"[{kind}.org]", f"visibility = {json.dumps(visibility)}"]
        if selected is not None:
            lines.append(f"selected_repos = {json.dumps(selected)}")
    if repos is not None:
        lines += [f"[{kind}.repos]", f"match = {json.dumps(repos)}"]
        if exclude is not None:
            lines.append(f"exclude = {json.dumps(exclude)}")
    return "\n".join(lines) + "\n"


def write_config(folder: Path, text: str, name: str = "syncer.toml") -> Path:
    """A config file in `folder` (a test's tmp_path) holding `text`."""
    path = folder / name
    path.write_text(text)
    return path


def rsa_key_pems() -> tuple[rsa.RSAPrivateKey, str, str]:
    """A fresh GitHub App key: the key, its private PEM (as GitHub hands it out) and its
    public PEM (what fakehub verifies JWTs with)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return key, private, public


APP_ID = 424242


@dataclass(frozen=True)
class Keys:
    """A GitHub App's key pair: its PEMs, and the key to sign with by hand."""

    private_pem: str
    public_pem: str
    key: rsa.RSAPrivateKey


def app_keys() -> Keys:
    key, private, public = rsa_key_pems()
    return Keys(private, public, key)


def app_hub(keys: Keys, *orgs: str, repos: int = 3, **kwargs: Any) -> FakeHub:
    """A fakehub with no fixed token: only the installation tokens of App APP_ID (installed
    on each of `orgs`, acme when none) get in."""
    # limits off unless a test sets them: these runs of up to 300 writes are about App tokens
    kwargs.setdefault("limits", Limits.off())
    hub = FakeHub(tokens=(), **kwargs)
    hub.register_app(APP_ID, keys.public_pem)
    for org in orgs or ("acme",):
        hub.add_repos(org, repos, environments=())
        hub.add_installation(org, APP_ID)
    return hub


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by itself, made by openssl: (cert, key) PEM files."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def fake_gh_dir(folder: Path, script: str) -> Path:
    """A folder holding a `gh` that runs the shell `script`, for the front of PATH."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(f"#!/bin/sh\n{script}\n")
    (bin_dir / "gh").chmod(0o755)
    return bin_dir


@asynccontextmanager
async def hub_session(hub: FakeHub, token: str | None = FAKEHUB_TOKEN
                      ) -> AsyncIterator[aiohttp.ClientSession]:
    """fakehub served on loopback and an HTTP session to it with `token` (None: anonymous)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with hub.serve() as url, aiohttp.ClientSession(url, headers=headers) as session:
        yield session


async def call(s: aiohttp.ClientSession, method: str, path: str, **kw: Any
               ) -> tuple[int, Any, Headers]:
    """One request: its status, its JSON body (None when empty) and its headers."""
    async with s.request(method, path, **kw) as r:
        raw = await r.read()
        return r.status, (await r.json() if raw else None), r.headers.copy()


def run_cli(args: list[str], env: Mapping[str, str], monkeypatch: Any,
            capsys: Any = None) -> int:
    """syncer's main() in this process, with exactly `env` for GitHub settings."""
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_API_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return cli.main(args)


def process_env(env: Mapping[str, str], *unset: str) -> dict[str, str]:
    """The environment of a syncer process: this one's, less GitHub settings and `unset`,
    plus exactly `env`."""
    dropped = {"GITHUB_TOKEN", "GH_TOKEN", "GITHUB_API_URL", *unset}
    return {**{k: v for k, v in os.environ.items() if k not in dropped}, **env}


def syncer_process(args: list[str], env: Mapping[str, str], *, stdin: bytes | None = None,
                   timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """syncer as a real subprocess, as a user's shell or cron would run it."""
    return subprocess.run([sys.executable, "-m", "syncer", *args], input=stdin,
                          capture_output=True, env=process_env(env), timeout=timeout,
                          check=False)


def syncer_popen(args: list[str], env: Mapping[str, str], **popen: Any
                 ) -> subprocess.Popen[bytes]:
    """syncer started as a real process and left running, for a test that signals, kills or
    watches it (`popen`: Popen's own options, such as where its output goes)."""
    return subprocess.Popen([sys.executable, "-m", "syncer", *args], env=process_env(env),
                            **popen)


def wait_until(proc: subprocess.Popen[bytes], reached: Callable[[], bool]) -> None:
    """Poll fakehub (through `reached`) until the run got as far as the test's kill point."""
    deadline = time.monotonic() + 60
    while not reached():
        assert proc.poll() is None, "the run ended before the kill point"
        assert time.monotonic() < deadline
        time.sleep(0.02)


@dataclass
class FakehubProcess:
    url: str
    token: str
    admin_token: str
    proc: subprocess.Popen[bytes]

    def state(self) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + "/_fakehub/state", headers={"Authorization": f"Bearer {self.admin_token}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)


@contextmanager
def fakehub_process(*args: str, admin_token: str = "admin-e2e") -> Iterator[FakehubProcess]:
    """`syncer fakehub` in its own process; stopped with SIGTERM afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncer", "fakehub", "--admin-token", admin_token, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        lines = dict(proc.stdout.readline().decode().strip().split("=", 1) for _ in range(3))
        yield FakehubProcess(lines["GITHUB_API_URL"], lines["GITHUB_TOKEN"], admin_token, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def run_on_terminal(args: list[str], env: dict[str, str], *, columns: int = 0,
                    stdout: str = "terminal") -> bytes:
    """syncer with stderr on a pseudo-terminal `columns` wide (0: size unset), and stdout on it
    too, to a pipe, or closed; everything drawn on the terminal."""
    leader, follower = pty.openpty()
    if columns:
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    full_env = process_env(env, "COLUMNS", "NO_COLOR", "TERM")
    command = [sys.executable, "-m", "syncer", *args]
    if stdout == "closed":
        command = ["sh", "-c", 'exec "$@" >&-', "sh", *command]
    proc = subprocess.Popen(command, env=full_env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE if stdout == "pipe" else follower,
                            stderr=follower)
    os.close(follower)
    drawn = bytearray()
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the process closed its end
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    if proc.stdout is not None:
        proc.stdout.read()
    assert proc.wait(timeout=60) == 0, drawn.decode(errors="replace")
    return bytes(drawn)


def progress_frames(text: str) -> list[str]:
    """The progress line's frames drawn in `text`, colours and cursor moves taken out."""
    plain = ANSI.sub("", text).replace("\r\n", "\n")
    return [f for line in plain.split("\n") for f in line.split("\r")
            if re.search(r" \d+/\d+", f) and not f.startswith(("2", "{"))]
