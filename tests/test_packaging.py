"""The container image and the example deployments: the YAML files parse and say what the
README says, and the Dockerfile builds and runs `syncer --version` as a non-root user where a
container engine runs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from syncer import __version__

ROOT = Path(__file__).parent.parent
SHA = re.compile(r"@[0-9a-f]{40}$")


def test_the_example_workflow_runs_nightly_and_by_hand_with_pinned_steps() -> None:
    """examples/nightly.yml: a schedule and workflow_dispatch, one run at a time, and every
    `uses:` a full commit SHA, except the placeholder for syncer's own release."""
    workflow = yaml.safe_load((ROOT / "examples" / "nightly.yml").read_text())
    on = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert on["schedule"][0]["cron"] and "workflow_dispatch" in on
    assert workflow["concurrency"]["cancel-in-progress"] is False
    uses = [s["uses"] for s in workflow["jobs"]["sync"]["steps"] if "uses" in s]
    assert uses[0].startswith("actions/checkout@") and SHA.search(uses[0])
    assert uses[1] == "OWNER/syncer@FULL_COMMIT_SHA"


def test_the_cronjob_keeps_the_state_on_a_volume_and_the_token_in_a_secret() -> None:
    """examples/cronjob.yaml: a PersistentVolumeClaim mounted where XDG_STATE_HOME points, the
    token from a Secret as an environment variable, a non-root user, no overlapping runs."""
    claim, cronjob = yaml.safe_load_all((ROOT / "examples" / "cronjob.yaml").read_text())
    assert claim["kind"] == "PersistentVolumeClaim" and cronjob["kind"] == "CronJob"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["GITHUB_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "syncer"
    state_dir = env["XDG_STATE_HOME"]["value"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert mounts["state"] == state_dir
    assert volumes["state"]["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert not any("token" in str(arg).lower() for arg in container["args"])


def test_the_dockerfile_is_pinned_multi_stage_and_non_root() -> None:
    """The base is pinned by digest, pip stays in the build stage, and the last stage runs
    syncer as a numeric non-root user."""
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"python:3\.\d+-slim\S*@sha256:[0-9a-f]{64}", text)
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    assert len(stages) == 2
    final = stages[-1]
    assert re.search(r"^USER 10001$", final, re.M) and 'ENTRYPOINT ["syncer"]' in final
    assert "pip install" not in final and "pip uninstall" in final


def _engine() -> str | None:
    docker = shutil.which("docker")
    if docker is None:
        return None
    info = subprocess.run([docker, "info"], capture_output=True, timeout=60, check=False)
    return docker if info.returncode == 0 else None


def test_the_image_builds_and_runs_syncer_version_as_non_root() -> None:
    """`docker build` then `docker run IMAGE --version` prints syncer's version, and the
    container's user is not root. Skipped, saying why, where no container engine runs."""
    docker = _engine()
    if docker is None:
        pytest.skip("no container engine runs here (`docker info` fails or docker is absent)")
    tag = "syncer-test:local"
    subprocess.run([docker, "build", "-t", tag, str(ROOT)], check=True, timeout=900)
    version = subprocess.run([docker, "run", "--rm", tag, "--version"], capture_output=True,
                             text=True, check=True, timeout=120)
    assert version.stdout.strip() == f"syncer {__version__}"
    user = subprocess.run([docker, "run", "--rm", "--entrypoint", "id", tag, "-u"],
                          capture_output=True, text=True, check=True, timeout=120)
    assert user.stdout.strip() == "10001"
