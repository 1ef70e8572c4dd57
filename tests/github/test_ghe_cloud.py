"""GitHub Enterprise Cloud with data residency: the API at https://api.SUBDOMAIN.ghe.com (no
/api/v3), and gh's token for SUBDOMAIN.ghe.com, never github.com's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import fake_gh_dir, syncer_process

from syncer.github import local_tokens as auth


@pytest.mark.parametrize("api_url,host", [
    ("https://api.github.com", "github.com"),
    ("https://api.octo.ghe.com", "octo.ghe.com"),
    ("https://API.Octo-Corp.GHE.com/", "octo-corp.ghe.com"),
    ("https://ghe.example.com/api/v3", "ghe.example.com"),
    # an Enterprise Server whose host happens to start with "api.": its own name, not a guess
    ("https://api.example.com/api/v3", "api.example.com"),
    ("https://api.example.com", "api.example.com"),
    ("https://api.octo.ghe.com.evil.example", "api.octo.ghe.com.evil.example"),
])
def test_gh_hostname_maps_ghe_com_and_nothing_else(api_url: str, host: str) -> None:
    """api.SUBDOMAIN.ghe.com is filed by gh under SUBDOMAIN.ghe.com, api.github.com under
    github.com; every other host (Enterprise Server, whatever its name) is asked as it is."""
    assert auth.gh_hostname(api_url) == host


def test_set_with_a_ghe_com_api_url_asks_gh_for_that_host(tmp_path: Path) -> None:
    """`syncer set --api-url https://api.octo.ghe.com` with no token variable asks
    `gh auth token --hostname octo.ghe.com` and, gh having none, stops with exit 3 naming
    `gh auth login --hostname octo.ghe.com`, before any request."""
    asked = tmp_path / "gh-args"
    bin_dir = fake_gh_dir(tmp_path, f'echo "$@" >> {asked}\nexit 1')
    done = syncer_process(
        ["set", "X", "--org", "acme", "--value-from", "env:X", "--api-url",
         "https://api.octo.ghe.com", "--state", str(tmp_path / "state.json")],
        {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "X": "v"})
    assert done.returncode == 3, done.stderr
    assert asked.read_text().split() == ["auth", "token", "--hostname", "octo.ghe.com"]
    assert b"gh auth login --hostname octo.ghe.com" in done.stderr
