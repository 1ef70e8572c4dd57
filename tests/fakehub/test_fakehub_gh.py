"""GitHub's own CLI as a witness: `gh` (when installed) sets secrets through fakehub.

gh has no API-URL setting; any other host is treated as an Enterprise Server over HTTPS, so
fakehub serves TLS with a throw-away self-signed certificate for 127.0.0.1 and gh trusts it
through SSL_CERT_FILE. Skipped when gh or openssl is missing.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import self_signed_cert

from syncer.fakehub import FakeHub

pytestmark = pytest.mark.skipif(
    shutil.which("gh") is None or shutil.which("openssl") is None,
    reason="needs the gh CLI and openssl",
)


@pytest.fixture
def gh_env(tmp_path: Path) -> Iterator[tuple[FakeHub, dict[str, str]]]:
    cert, key = self_signed_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    hub = FakeHub(tokens=("ghtok",))
    hub.add_repos("acme", 3, environments=("production",))
    config = tmp_path / "gh"
    config.mkdir()
    with hub.serve_in_thread(ssl=context) as url:
        env = {
            **os.environ,
            "GH_HOST": url.removeprefix("https://"),
            "GH_ENTERPRISE_TOKEN": "ghtok",
            "SSL_CERT_FILE": str(cert),
            "GH_CONFIG_DIR": str(config),
            "GH_PROMPT_DISABLED": "1",
            "NO_COLOR": "1",
        }
        for name in ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_ENTERPRISE_TOKEN"):
            env.pop(name, None)
        yield hub, env


def gh(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["gh", *args], env=env, capture_output=True, text=True, timeout=30, check=False
    )


def test_gh_sets_repo_environment_and_org_secrets(gh_env: tuple[FakeHub, dict[str, str]]) -> None:
    """gh encrypts with fakehub's keys and fakehub decrypts what gh sent: repo (names sent as
    typed, stored upper-case), environment, Dependabot, and an org secret whose --repos gh
    resolves through GraphQL; gh lists and deletes them too."""
    hub, env = gh_env
    steps = [
        ("secret", "set", "lower_name", "-R", "acme/repo-0001", "--body", "r1"),
        ("secret", "set", "ENV_S", "-R", "acme/repo-0001", "--env", "production", "--body", "e1"),
        ("secret", "set", "DEP", "-R", "acme/repo-0002", "--app", "dependabot", "--body", "d1"),
        ("secret", "set", "ORG_S", "--org", "acme", "--repos", "repo-0001,repo-0003",
         "--body", "o1"),
    ]
    for step in steps:
        done = gh(env, *step)
        assert done.returncode == 0, (step, done.stderr)
    assert hub.plaintext("LOWER_NAME", repo="acme/repo-0001") == b"r1"
    assert hub.plaintext("ENV_S", repo="acme/repo-0001", env="production") == b"e1"
    assert hub.plaintext("DEP", repo="acme/repo-0002", app="dependabot") == b"d1"
    org_secret = hub.secret("ORG_S", org="acme")
    assert org_secret is not None
    assert org_secret["visibility"] == "selected"
    assert org_secret["selected_repository_ids"] == sorted(
        hub.repo_id(f"acme/repo-000{i}") for i in (1, 3)
    )
    listed = gh(env, "secret", "list", "-R", "acme/repo-0001")
    assert listed.returncode == 0 and "LOWER_NAME" in listed.stdout
    assert gh(env, "secret", "delete", "lower_name", "-R", "acme/repo-0001").returncode == 0
    assert hub.plaintext("LOWER_NAME", repo="acme/repo-0001") is None
    missing = gh(env, "secret", "set", "X", "--org", "acme", "--repos", "nope", "--body", "x")
    assert missing.returncode != 0 and "Could not resolve" in missing.stderr
