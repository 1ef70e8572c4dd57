"""Reading what scopes hold (apply, migrate), where a secret lives (rotate) and everything an
org holds (audit): one repository GitHub will not show fails alone."""

from __future__ import annotations

from typing import cast

import pytest

from syncer.commands.audit import inventory
from syncer.core.model import Repo, Scope
from syncer.core.plan import Change, Desired, Unreadable, make_plan
from syncer.execution.discover import existing, locate
from syncer.github import errors
from syncer.github.api import SecretInfo, SecretsAPI, VariableInfo

FINE, HIDDEN, BROKEN = (Scope.of_repo("acme", name) for name in ("fine", "hidden", "broken"))


class ThreeRepos:
    """The part of SecretsAPI that `existing` and `inventory` call, answering as GitHub would for three repos:
    one readable, one refused (403), one failing past every retry (502)."""

    def __init__(self, token_rejected: bool = False) -> None:
        self.token_rejected = token_rejected

    async def secrets(self, scope: Scope) -> list[SecretInfo]:
        if self.token_rejected:
            raise errors.AuthFailed(401, "Bad credentials")
        if scope.kind == "org":
            return []
        if scope.repo == HIDDEN.repo:
            raise errors.Forbidden(403, "Resource not accessible by personal access token",
                                   method="GET", path="/repos/acme/hidden/actions/secrets")
        if scope.repo == BROKEN.repo:
            raise errors.ServerError(502, "Bad Gateway")
        return [SecretInfo("X", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z")]

    async def secret(self, scope: Scope, name: str) -> SecretInfo | None:
        return None

    async def variables(self, scope: Scope) -> list[VariableInfo]:
        return []

    async def environments(self, org: str, repo: str) -> list[str]:
        return []


REPOS = [Repo(scope.repo or "", n) for n, scope in enumerate((FINE, HIDDEN, BROKEN), 1)]


@pytest.mark.anyio
async def test_a_scope_github_refuses_to_show_is_unreadable_and_the_others_are_read() -> None:
    actual = await existing(cast(SecretsAPI, ThreeRepos()), [FINE, HIDDEN, BROKEN], 2)
    fine, hidden, broken = actual[FINE], actual[HIDDEN], actual[BROKEN]
    assert isinstance(fine, dict) and set(fine) == {"X"}
    assert isinstance(hidden, Unreadable) and "403" in hidden.reason
    assert isinstance(broken, Unreadable) and "502" in broken.reason

    plan = make_plan([Desired(s, "X", "hmac-sha256:" + "0" * 64) for s in (FINE, HIDDEN, BROKEN)],
                     actual, lambda scope, name: None, prune=True)
    changes = {item.scope: item.change for item in plan}
    assert changes == {FINE: Change.UPDATE, HIDDEN: Change.UNREADABLE, BROKEN: Change.UNREADABLE}


@pytest.mark.anyio
async def test_a_rejected_token_still_ends_the_reading() -> None:
    with pytest.raises(errors.AuthFailed):
        await existing(cast(SecretsAPI, ThreeRepos(token_rejected=True)), [FINE, HIDDEN], 2)


@pytest.mark.anyio
async def test_rotate_looks_everywhere_it_can_and_names_where_it_could_not() -> None:
    where = await locate(cast(SecretsAPI, ThreeRepos()), "acme", "X", "actions", REPOS, 2)
    assert [scope.repo for scope in where.repos] == ["fine"]
    assert [place for place, _ in where.unreadable] == ["acme/broken", "acme/hidden"]
    assert "403" in dict(where.unreadable)["acme/hidden"]


@pytest.mark.anyio
async def test_audit_lists_every_repository_it_can_and_names_the_others() -> None:
    found = await inventory(cast(SecretsAPI, ThreeRepos()), "acme", REPOS, 2)
    assert {f.scope.repo for f in found.found} == {"fine"}
    assert [place for place, _ in found.unreadable] == ["acme/broken", "acme/hidden"]
