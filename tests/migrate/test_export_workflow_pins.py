"""The export workflow runs beside the source org's secrets: every action it uses is pinned to a
full commit SHA (GitHub's security-hardening guidance for Actions), with the version beside it."""

from __future__ import annotations

import re

import pytest
from test_migrate_unit import DST, fake_keys, inventory, org_secret

from syncer.migrate.export import artifact_action, plan_export, render_workflow
from syncer.migrate.mapping import map_targets

_PINNED = re.compile(r"^\s*-?\s*uses:\s*[\w.-]+/[\w.-]+@[0-9a-f]{40}\s+#\s*v\d+(\.\d+)*\s*$")


@pytest.mark.parametrize("api_url", ["https://api.github.com", "https://ghe.corp/api/v3"])
def test_every_uses_line_names_a_full_commit_with_its_version(api_url: str) -> None:
    """Each `uses:` of the exported workflow (github.com's and Enterprise Server's artifact
    action alike) is `owner/repo@<40 hex>  # vX.Y.Z`: no tag or branch that could be moved."""
    inv = inventory(org_secret("ALL"))
    targets = map_targets(inv, DST)
    jobs, _ = plan_export(inv, targets)
    text = render_workflow(jobs, fake_keys(targets), source_org="src", dest_org="dst",
                           upload_action=artifact_action(api_url))
    uses = [line for line in text.splitlines() if re.match(r"^\s*-?\s*uses:", line)]
    assert len(uses) == 2 * len(jobs) and jobs
    for line in uses:
        assert _PINNED.match(line), line
