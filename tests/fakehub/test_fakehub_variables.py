"""fakehub's configuration variables (Actions: org, repository, environment; agents: org,
repository) and agents secrets, over loopback TCP with plain aiohttp requests, checked
against GitHub's OpenAPI descriptions (github.com, and Enterprise Server 3.19 for Actions
variables)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from helpers import call as call_with_headers
from helpers import hub_session
from nacl.public import PublicKey, SealedBox
from openapi_check import GHES_VARIABLES_SPEC_PATH, validate_exchanges

from syncer.fakehub import Exchange, FakeHub, Limits
from syncer.fakehub.api import build_variable_routes

pytestmark = pytest.mark.anyio

TOKEN = "tok"
READ_ONLY = "ro"
NON_ADMIN = "member"
REPO = "/repos/acme/api"
ORG = "/orgs/acme"
ENV = "/repos/acme/api/environments/production"
KB48 = 48 * 1024


def make_hub(**kwargs: Any) -> FakeHub:
    kwargs.setdefault("limits", Limits(primary_limit=100_000, points_per_minute=100_000))
    hub = FakeHub(tokens=(TOKEN,), read_only_tokens=(READ_ONLY,), non_admin_tokens=(NON_ADMIN,),
                  **kwargs)
    hub.add_repo("acme", "api", environments=("production", "staging"))
    hub.add_repo("acme", "web", private=False, environments=())
    hub.add_repo("acme", "old", archived=True)
    return hub


running = hub_session


async def call(s: aiohttp.ClientSession, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    status, body, _ = await call_with_headers(s, method, path, **kw)
    return status, body


async def status(s: aiohttp.ClientSession, method: str, path: str, **kw: Any) -> int:
    return (await call(s, method, path, **kw))[0]


async def create(s: aiohttp.ClientSession, base: str, name: str, value: str, **extra: Any
                 ) -> tuple[int, Any]:
    return await call(s, "POST", f"{base}/variables", json={"name": name, "value": value, **extra})


def seal(key_b64: str, value: bytes) -> str:
    return base64.b64encode(SealedBox(PublicKey(base64.b64decode(key_b64))).encrypt(value)).decode()


async def put_secret(s: aiohttp.ClientSession, base: str, name: str, value: bytes, **extra: Any
                     ) -> tuple[int, Any]:
    _, key = await call(s, "GET", f"{base}/secrets/public-key")
    body = {"encrypted_value": seal(key["key"], value), "key_id": key["key_id"], **extra}
    return await call(s, "PUT", f"{base}/secrets/{name}", json=body)


# --------------------------------------------------------------------------- one variable


async def test_repository_variable_create_get_update_delete() -> None:
    """POST creates (201 `{}`), GET answers name, value, created_at and updated_at, PATCH
    updates (204; updated_at moves, created_at stays), DELETE removes (204), then 404."""
    now = [datetime(2026, 5, 6, 7, 8, 9, 500_000, tzinfo=UTC)]
    hub = make_hub(clock=lambda: now[0])
    base = REPO + "/actions"
    async with running(hub) as s:
        assert await create(s, base, "region", "eu-west-1") == (201, {})
        assert await call(s, "GET", f"{base}/variables/REGION") == (200, {
            "name": "REGION", "value": "eu-west-1",
            "created_at": "2026-05-06T07:08:09Z", "updated_at": "2026-05-06T07:08:09Z"})
        now[0] += timedelta(seconds=2)
        assert await call(s, "PATCH", f"{base}/variables/region", json={"value": "us-east-2"}
                          ) == (204, None)
        _, body = await call(s, "GET", f"{base}/variables/Region")
        assert (body["value"], body["created_at"], body["updated_at"]) == (
            "us-east-2", "2026-05-06T07:08:09Z", "2026-05-06T07:08:11Z")
        assert hub.variable_value("REGION", repo="acme/api") == "us-east-2"
        assert await status(s, "DELETE", f"{base}/variables/REGION") == 204
        assert await status(s, "GET", f"{base}/variables/REGION") == 404
        assert await status(s, "DELETE", f"{base}/variables/REGION") == 404
        assert await status(s, "PATCH", f"{base}/variables/REGION", json={"value": "x"}) == 404
    assert hub.variables(repo="acme/api") == {}


async def test_creating_an_existing_name_is_409_in_any_case() -> None:
    """Names are case-insensitive and stored upper-case: a POST of a name that exists, in
    whatever case, is 409 "Already exists - Variable already exists" (what GitHub answers and
    gh relies on to fall back to PATCH), and changes nothing."""
    hub = make_hub()
    async with running(hub) as s:
        assert (await create(s, REPO + "/actions", "my_Var", "one"))[0] == 201
        code, body = await create(s, REPO + "/actions", "MY_VAR", "two")
        assert code == 409 and body["message"] == "Already exists - Variable already exists"
        assert "documentation_url" in body
    assert hub.variables(repo="acme/api") == {"MY_VAR": "one"}


async def test_names_follow_the_secret_rules() -> None:
    """A name starting with a digit or GITHUB_ (any case), or with characters outside
    [A-Za-z0-9_], is 422 with a message naming variables; nothing is stored. The same holds
    for a PATCH that renames."""
    hub = make_hub()
    hub.set_variable("KEEP", "v", repo="acme/api")
    async with running(hub) as s:
        for bad in ("1ABC", "GITHUB_SHA", "github_x", "A-B", "A B", ""):
            code, body = await create(s, REPO + "/actions", bad, "v")
            assert code == 422, bad
            assert body["errors"][0]["resource"] == "Variable"
            assert "Variable name" in body["errors"][0]["message"]
        code, _ = await call(s, "PATCH", REPO + "/actions/variables/KEEP", json={"name": "9X"})
        assert code == 422
    assert hub.variables(repo="acme/api") == {"KEEP": "v"}


async def test_value_is_at_most_48_kb_counted_in_utf8_bytes() -> None:
    """48 * 1024 bytes of value are accepted on POST and PATCH, one byte more is 422; a
    value's size is its UTF-8 bytes, not its characters."""
    hub = make_hub()
    base = REPO + "/actions"
    async with running(hub) as s:
        assert (await create(s, base, "BIG", "x" * KB48))[0] == 201
        assert (await create(s, base, "BIGGER", "x" * (KB48 + 1)))[0] == 422
        assert (await create(s, base, "WIDE", "é" * (KB48 // 2 + 1)))[0] == 422
        assert await status(s, "PATCH", f"{base}/variables/BIG", json={"value": "y" * (KB48 + 1)}
                            ) == 422
    assert hub.variables(repo="acme/api") == {"BIG": "x" * KB48}


@pytest.mark.parametrize(("scope", "limit"), [("repo", 500), ("env", 100), ("org", 1000)])
async def test_count_limits_refuse_the_next_create_but_not_updates(scope: str, limit: int) -> None:
    """At most 1,000 org, 500 repository and 100 environment variables: the next create is
    422 (fakehub's reading; GitHub does not document the answer), an update still works."""
    hub = make_hub()
    where: dict[str, str] = {"repo": {"repo": "acme/api"}, "env": {"repo": "acme/api",
                             "env": "production"}, "org": {"org": "acme"}}[scope]  # type: ignore[assignment]
    base = {"repo": REPO + "/actions", "env": ENV, "org": ORG + "/actions"}[scope]
    extra = {"visibility": "all"} if scope == "org" else {}
    for i in range(limit):
        hub.set_variable(f"V{i}", "v", **where)  # type: ignore[arg-type]
    async with running(hub) as s:
        code, body = await create(s, base, "ONE_MORE", "v", **extra)
        assert code == 422 and f"at most {limit} variables" in body["errors"][0]["message"]
        assert await status(s, "PATCH", f"{base}/variables/V7", json={"value": "w"}) == 204
    assert len(hub.variables(**where)) == limit  # type: ignore[arg-type]
    assert hub.variable_value("V7", **where) == "w"  # type: ignore[arg-type]


async def test_bodies_are_checked_against_the_schema() -> None:
    """POST needs a string name and value (and visibility at org level, one of all, private,
    selected); repository ids are integers and go with visibility selected only; ids of
    repositories the org lacks are 422; a body that is not JSON is 400."""
    hub = make_hub()
    api = hub.repo_id("acme/api")
    async with running(hub) as s:
        cases: list[tuple[str, Any, str]] = [
            (REPO + "/actions", {"name": "A"}, "\"value\" wasn't supplied"),
            (REPO + "/actions", {"value": "v"}, "\"name\" wasn't supplied"),
            (REPO + "/actions", {"name": "A", "value": 3}, "is not a string"),
            (ORG + "/actions", {"name": "A", "value": "v"}, "\"visibility\" wasn't supplied"),
            (ORG + "/actions", {"name": "A", "value": "v", "visibility": "public"}, "is not one of"),
            (ORG + "/actions", {"name": "A", "value": "v", "visibility": "all",
                                "selected_repository_ids": [api]}, "Validation Failed"),
            (ORG + "/actions", {"name": "A", "value": "v", "visibility": "selected",
                                "selected_repository_ids": [str(api)]}, "is not an integer"),
            (ORG + "/actions", {"name": "A", "value": "v", "visibility": "selected",
                                "selected_repository_ids": [999]}, "Validation Failed"),
            (ORG + "/actions", ["A", "v"], "an object is expected"),
        ]
        for base, body, message in cases:
            code, answer = await call(s, "POST", f"{base}/variables", json=body)
            assert code == 422 and message in answer["message"], body
        assert await status(s, "POST", REPO + "/actions/variables", data=b"{no") == 400
    assert hub.variables(repo="acme/api") == {} and hub.variables(org="acme") == {}


async def test_patch_renames_and_a_taken_name_is_409() -> None:
    """A PATCH with a name renames the variable (value and created_at kept); renaming onto a
    name another variable has is 409, as a create would be (fakehub's reading)."""
    hub = make_hub()
    hub.set_variable("OLD", "v", repo="acme/api", updated_at=datetime(2026, 1, 1, tzinfo=UTC))
    hub.set_variable("OTHER", "o", repo="acme/api")
    async with running(hub) as s:
        assert await status(s, "PATCH", REPO + "/actions/variables/old", json={"name": "new"}
                            ) == 204
        assert await status(s, "PATCH", REPO + "/actions/variables/NEW", json={"name": "other"}
                            ) == 409
    assert hub.variables(repo="acme/api") == {"NEW": "v", "OTHER": "o"}
    renamed = hub.variable("NEW", repo="acme/api")
    assert renamed is not None and renamed["created_at"] == "2026-01-01T00:00:00Z"


async def test_archived_repository_variables_are_read_only() -> None:
    """Stricter reading, as for secrets: writing a variable of an archived repository is 403;
    reading works."""
    hub = make_hub()
    async with running(hub) as s:
        assert (await create(s, "/repos/acme/old/actions", "X", "v"))[0] == 403
        assert await status(s, "GET", "/repos/acme/old/actions/variables") == 200


# --------------------------------------------------------------------------- org variables


async def test_org_variable_visibility_and_selected_repositories() -> None:
    """An org variable answers its visibility (and selected_repositories_url when selected);
    its selected repositories are listed, set, added and removed; each of those is 409 when
    the visibility is not selected, and 404 for a variable that does not exist."""
    hub = make_hub()
    api, web = hub.repo_id("acme/api"), hub.repo_id("acme/web")
    base = ORG + "/actions/variables"
    async with running(hub) as s:
        assert (await create(s, ORG + "/actions", "SEL", "s", visibility="selected",
                             selected_repository_ids=[api]))[0] == 201
        assert (await create(s, ORG + "/actions", "ALL", "a", visibility="all"))[0] == 201
        _, body = await call(s, "GET", f"{base}/SEL")
        assert body["visibility"] == "selected" and body["value"] == "s"
        assert body["selected_repositories_url"].startswith("http://127.0.0.1:")
        assert body["selected_repositories_url"].endswith("/orgs/acme/actions/variables/SEL/"
                                                           "repositories")
        _, body = await call(s, "GET", f"{base}/ALL")
        assert body["visibility"] == "all" and "selected_repositories_url" not in body
        _, body = await call(s, "GET", f"{base}/SEL/repositories")
        assert body["total_count"] == 1 and body["repositories"][0]["id"] == api
        assert await status(s, "PUT", f"{base}/SEL/repositories/{web}") == 204
        assert await status(s, "DELETE", f"{base}/SEL/repositories/{api}") == 204
        assert hub.variable("SEL", org="acme")["selected_repository_ids"] == [web]  # type: ignore[index]
        assert await status(s, "PUT", f"{base}/SEL/repositories",
                            json={"selected_repository_ids": [api, web]}) == 204
        assert await status(s, "PUT", f"{base}/SEL/repositories/12345") == 422
        assert hub.variable("SEL", org="acme")["selected_repository_ids"] == sorted([api, web])  # type: ignore[index]
        for method, path, kw in [
            ("GET", f"{base}/ALL/repositories", {}),
            ("PUT", f"{base}/ALL/repositories", {"json": {"selected_repository_ids": [api]}}),
            ("PUT", f"{base}/ALL/repositories/{api}", {}),
            ("DELETE", f"{base}/ALL/repositories/{api}", {}),
        ]:
            code, body = await call(s, method, path, **kw)
            assert code == 409 and "this variable is not set to selected" in body["message"]
        assert await status(s, "GET", f"{base}/NOPE/repositories") == 404


async def test_org_patch_changes_visibility_and_selection() -> None:
    """PATCH at org level: `selected` with ids selects them; another visibility drops the
    selection; ids while the variable's visibility is not selected are 422."""
    hub = make_hub()
    api = hub.repo_id("acme/api")
    hub.set_variable("V", "v", org="acme", visibility="private")
    one = ORG + "/actions/variables/V"
    async with running(hub) as s:
        assert await status(s, "PATCH", one, json={"selected_repository_ids": [api]}) == 422
        assert await status(s, "PATCH", one, json={"visibility": "selected",
                                                   "selected_repository_ids": [api]}) == 204
        assert hub.variable("V", org="acme")["selected_repository_ids"] == [api]  # type: ignore[index]
        assert await status(s, "PATCH", one, json={"value": "w"}) == 204
        assert hub.variable("V", org="acme")["selected_repository_ids"] == [api]  # type: ignore[index]
        assert await status(s, "PATCH", one, json={"visibility": "all"}) == 204
    assert hub.variable("V", org="acme") == {
        **hub.variable("V", org="acme"),  # type: ignore[dict-item]
        "value": "w", "visibility": "all", "selected_repository_ids": None}


@pytest.mark.parametrize("app", ["actions", "agents"])
async def test_repository_sees_org_variables_by_visibility(app: str) -> None:
    """`organization-variables` of a repository lists the app's org variables with their
    values: `all` to every repository, `private` to private ones, `selected` to those
    selected; the other app's variables are not listed."""
    hub = make_hub()
    other = "agents" if app == "actions" else "actions"
    hub.set_variable("EVERYONE", "e", org="acme", visibility="all", app=app)
    hub.set_variable("PRIVATE_ONLY", "p", org="acme", visibility="private", app=app)
    hub.set_variable("WEB_ONLY", "w", org="acme", selected=["web"], app=app)
    hub.set_variable("OTHER_APP", "o", org="acme", app=other)
    seen = {}
    async with running(hub) as s:
        for repo in ("api", "web"):
            _, body = await call(s, "GET", f"/repos/acme/{repo}/{app}/organization-variables")
            assert body["total_count"] == len(body["variables"])
            seen[repo] = {v["name"]: v["value"] for v in body["variables"]}
    assert seen == {"api": {"EVERYONE": "e", "PRIVATE_ONLY": "p"},
                    "web": {"EVERYONE": "e", "WEB_ONLY": "w"}}


# --------------------------------------------------------------------------- listings


async def test_listings_are_10_a_page_at_most_30_with_id_links() -> None:
    """Variable listings answer total_count + variables in name order, 10 a page by default
    and at most 30 whatever per_page asks; their Link headers name the repository or
    organisation by id (/repositories/{id}/..., /organizations/{id}/...), and following them
    yields every variable once."""
    hub = make_hub()
    for i in range(35):
        hub.set_variable(f"V{i:02d}", str(i), repo="acme/api")
        hub.set_variable(f"O{i:02d}", str(i), org="acme")
    rid, oid = hub.repo_id("acme/api"), hub.org_id("acme")
    async with running(hub) as s:
        async with s.get(REPO + "/actions/variables") as r:
            body = await r.json()
            next_url = r.links["next"]["url"]
        assert body["total_count"] == 35 and len(body["variables"]) == 10
        assert [v["name"] for v in body["variables"]][:2] == ["V00", "V01"]
        assert str(next_url).endswith(f"/repositories/{rid}/actions/variables?page=2")
        async with s.get(REPO + "/actions/variables?per_page=100") as r:
            assert len((await r.json())["variables"]) == 30
            assert 'page=2>; rel="last"' in r.headers["Link"]
        async with s.get(ORG + "/actions/variables") as r:
            org_next = str(r.links["next"]["url"])
        assert org_next.endswith(f"/organizations/{oid}/actions/variables?page=2")
        _, body = await call(s, "GET", org_next)
        assert [v["name"] for v in body["variables"]] == [f"O{i:02d}" for i in range(10, 20)]
        values: dict[str, str] = {}
        url: str | None = REPO + "/actions/variables?per_page=30"
        while url:
            async with s.get(url) as r:
                values.update({v["name"]: v["value"] for v in (await r.json())["variables"]})
                nxt = r.links.get("next")
                url = str(nxt["url"]) if nxt else None
    assert values == {f"V{i:02d}": str(i) for i in range(35)}


async def test_environment_variables_under_both_route_forms() -> None:
    """Environment variables are reachable as /repos/{owner}/{repo}/environments/... and as
    the older /repositories/{id}/environments/... (octokit's and gh's form before 2024);
    legacy_env_routes_only answers 404 on the former, as it does for secrets."""
    hub = make_hub()
    rid = hub.repo_id("acme/api")
    legacy = f"/repositories/{rid}/environments/production"
    async with running(hub) as s:
        assert (await create(s, ENV, "E1", "one"))[0] == 201
        assert (await create(s, legacy, "E2", "two"))[0] == 201
        _, body = await call(s, "GET", legacy + "/variables")
        assert [v["name"] for v in body["variables"]] == ["E1", "E2"]
        assert await status(s, "GET", REPO + "/environments/nope/variables") == 404
    assert hub.variables(repo="acme/api", env="production") == {"E1": "one", "E2": "two"}
    assert hub.variables(repo="acme/api", env="staging") == {}
    assert hub.variables(repo="acme/api") == {}
    legacy_only = make_hub(legacy_env_routes_only=True)
    rid = legacy_only.repo_id("acme/api")
    async with running(legacy_only) as s:
        assert await status(s, "GET", ENV + "/variables") == 404
        assert (await create(s, f"/api/v3/repositories/{rid}/environments/production", "L", "v")
                )[0] == 201


# --------------------------------------------------------------------------- agents


async def test_agents_secrets_have_their_own_keys_and_integer_ids() -> None:
    """Agents secrets: org and repository level, each with a key pair of its own (not the
    Actions one); the org PUT requires encrypted_value, key_id and visibility (no
    visibility-only update) and takes integer repository ids only; plaintext(app="agents")
    reads what a client stored; organization-secrets lists what a repository sees."""
    hub = make_hub()
    api = hub.repo_id("acme/api")
    async with running(hub) as s:
        keys = {(await call(s, "GET", f"{base}/secrets/public-key"))[1]["key_id"]
                for base in (ORG + "/agents", ORG + "/actions", REPO + "/agents", REPO + "/actions")}
        assert len(keys) == 4
        assert (await put_secret(s, REPO + "/agents", "copilot_token", b"r"))[0] == 201
        assert (await put_secret(s, ORG + "/agents", "ORG_T", b"o", visibility="selected",
                                 selected_repository_ids=[api]))[0] == 201
        assert (await put_secret(s, ORG + "/agents", "ORG_T", b"p", visibility="selected",
                                 selected_repository_ids=[str(api)]))[0] == 422
        code, body = await call(s, "PUT", ORG + "/agents/secrets/ORG_T",
                                json={"visibility": "all"})
        assert code == 422 and "\"encrypted_value\" wasn't supplied" in body["message"]
        _, body = await call(s, "GET", REPO + "/agents/organization-secrets")
        assert [x["name"] for x in body["secrets"]] == ["ORG_T"]
        _, body = await call(s, "GET", "/repos/acme/web/agents/organization-secrets")
        assert body == {"total_count": 0, "secrets": []}
    assert hub.plaintext("COPILOT_TOKEN", repo="acme/api", app="agents") == b"r"
    assert hub.plaintext("COPILOT_TOKEN", repo="acme/api") is None
    assert hub.plaintext("ORG_T", org="acme", app="agents") == b"o"
    assert hub.secret("ORG_T", org="acme", app="agents")["selected_repository_ids"] == [api]  # type: ignore[index]


async def test_agents_variables_at_org_and_repository_level_apart_from_actions() -> None:
    """Agent variables live beside, not in, Actions variables: the same name may hold
    different values in each; the org level has visibility and selected repositories."""
    hub = make_hub()
    web = hub.repo_id("acme/web")
    async with running(hub) as s:
        assert (await create(s, REPO + "/agents", "MODEL", "agent"))[0] == 201
        assert (await create(s, REPO + "/actions", "MODEL", "actions"))[0] == 201
        assert (await create(s, ORG + "/agents", "SHARED", "s", visibility="selected",
                             selected_repository_ids=[web]))[0] == 201
        _, body = await call(s, "GET", ORG + "/agents/variables/SHARED/repositories")
        assert [r["name"] for r in body["repositories"]] == ["web"]
        _, body = await call(s, "GET", ORG + "/agents/variables/SHARED")
        assert body["selected_repositories_url"].endswith("/orgs/acme/agents/variables/SHARED/"
                                                          "repositories")
    assert hub.variable_value("MODEL", repo="acme/api", app="agents") == "agent"
    assert hub.variable_value("MODEL", repo="acme/api") == "actions"
    assert hub.variables(org="acme") == {}
    assert hub.variables(org="acme", app="agents") == {"SHARED": "s"}


async def test_enterprise_server_has_actions_variables_and_no_agents() -> None:
    """Under /api/v3 (Enterprise Server) Actions variables are served and agents endpoints
    (secrets and variables) answer 404, as codespaces do; both are at the github.com root."""
    hub = make_hub()
    async with running(hub) as s:
        assert (await create(s, "/api/v3" + REPO + "/actions", "V", "v"))[0] == 201
        for path in (REPO + "/agents/variables", ORG + "/agents/variables",
                     REPO + "/agents/secrets/public-key", ORG + "/agents/secrets",
                     REPO + "/agents/organization-secrets",
                     REPO + "/agents/organization-variables"):
            assert await status(s, "GET", "/api/v3" + path) == 404, path
            assert await status(s, "GET", path) == 200, path
    assert hub.variable_value("V", repo="acme/api") == "v"


# --------------------------------------------------------------------------- tokens and limits


async def test_tokens_with_less_power() -> None:
    """A read-only token reads variables and gets 403 "Resource not accessible by personal
    access token" on every POST, PATCH and DELETE; a token without org admin gets that 403 on
    every org variables endpoint (and agents org secrets) while repository and environment
    variables work; an org that does not exist stays 404."""
    hub = make_hub()
    hub.set_variable("R", "r", repo="acme/api")
    hub.set_variable("O", "o", org="acme", selected=["api"])
    api = hub.repo_id("acme/api")
    denied = "Resource not accessible by personal access token"
    async with running(hub, READ_ONLY) as s:
        assert await status(s, "GET", REPO + "/actions/variables/R") == 200
        assert await status(s, "GET", ORG + "/actions/variables") == 200
        for method, path, body in [
            ("POST", REPO + "/actions/variables", {"name": "N", "value": "v"}),
            ("PATCH", REPO + "/actions/variables/R", {"value": "x"}),
            ("DELETE", REPO + "/actions/variables/R", None),
            ("POST", ENV + "/variables", {"name": "N", "value": "v"}),
            ("PATCH", ORG + "/agents/variables/O", {"value": "x"}),
        ]:
            code, answer = await call(s, method, path, json=body)
            assert (code, answer["message"]) == (403, denied), (method, path)
    async with running(hub, NON_ADMIN) as s:
        for method, path in [("GET", ORG + "/actions/variables"),
                             ("GET", ORG + "/actions/variables/O"),
                             ("GET", ORG + "/actions/variables/O/repositories"),
                             ("PUT", f"{ORG}/actions/variables/O/repositories/{api}"),
                             ("GET", ORG + "/agents/variables"),
                             ("GET", ORG + "/agents/secrets/public-key")]:
            code, answer = await call(s, method, path)
            assert (code, answer["message"]) == (403, denied), (method, path)
        assert await status(s, "GET", "/orgs/nope/actions/variables") == 404
        assert (await create(s, REPO + "/actions", "MINE", "m"))[0] == 201
        assert (await create(s, ENV, "MINE", "e"))[0] == 201
        assert await status(s, "GET", REPO + "/actions/organization-variables") == 200
    assert hub.variables(repo="acme/api") == {"MINE": "m", "R": "r"}
    assert hub.variable_value("O", org="acme") == "o"


async def test_variable_writes_cost_write_points_and_content_creation() -> None:
    """POST and PATCH of a variable cost 5 points as every REST write does, and count for
    content creation: with 11 points a minute a GET, a POST and a PATCH fit and the next
    write is a secondary-limit 403; with 2 creations a minute the third write is refused as
    content creation."""
    hub = make_hub(limits=Limits(points_per_minute=11))
    async with running(hub) as s:
        assert await status(s, "GET", REPO + "/actions/variables") == 200
        assert (await create(s, REPO + "/actions", "A", "1"))[0] == 201
        assert await status(s, "PATCH", REPO + "/actions/variables/A", json={"value": "2"}) == 204
        code, body = await create(s, REPO + "/actions", "B", "1")
        assert code == 403 and "secondary rate limit" in body["message"]
    assert hub.violations["secondary_points"] == 1
    hub = make_hub(limits=Limits(content_creation_per_minute=2))
    async with running(hub) as s:
        assert (await create(s, REPO + "/actions", "A", "1"))[0] == 201
        assert await status(s, "PATCH", REPO + "/actions/variables/A", json={"value": "2"}) == 204
        code, body = await create(s, REPO + "/actions", "B", "1")
        assert code == 403 and "content creation" in body["message"]
    assert hub.violations["secondary_content_creation"] == 1
    assert hub.variables(repo="acme/api") == {"A": "2"}


# --------------------------------------------------------------------------- the Python API


def test_python_api_sets_reads_lists_and_deletes_variables_at_every_scope() -> None:
    """set_variable / variable_value / variable / variables / delete_variable work at org,
    repository and environment level for Actions and at org and repository level for agents;
    bad names, apps and scopes are ValueErrors; the admin state lists variables with values."""
    hub = make_hub()
    api = hub.repo_id("acme/api")
    stamp = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)
    hub.set_variable("org_v", "o", org="acme", selected=["api"], updated_at=stamp)
    hub.set_variable("REPO_V", "r", repo="acme/api")
    hub.set_variable("ENV_V", "e", repo="acme/api", env="production")
    hub.set_variable("AGENT_V", "a", repo="acme/api", app="agents")
    hub.set_variable("AGENT_ORG", "ao", org="acme", app="agents", visibility="private")
    assert hub.variable("ORG_V", org="acme") == {
        "name": "ORG_V", "value": "o", "created_at": "2026-02-03T04:05:06Z",
        "updated_at": "2026-02-03T04:05:06Z", "visibility": "selected",
        "selected_repository_ids": [api]}
    assert hub.variables(repo="acme/api") == {"REPO_V": "r"}
    assert hub.variables(repo="acme/api", env="production") == {"ENV_V": "e"}
    assert hub.variables(repo="acme/api", app="agents") == {"AGENT_V": "a"}
    assert hub.variable_value("agent_org", org="acme", app="agents") == "ao"
    assert hub.variable_value("NOPE", repo="acme/api") is None
    assert hub.variable("NOPE", org="acme") is None
    rows = {(r["app"], r["repo"], r["env"], r["name"]): r["value"] for r in hub.state()["variables"]}
    assert rows == {("actions", None, None, "ORG_V"): "o", ("actions", "api", None, "REPO_V"): "r",
                    ("actions", "api", "production", "ENV_V"): "e",
                    ("agents", "api", None, "AGENT_V"): "a", ("agents", None, None, "AGENT_ORG"): "ao"}
    assert hub.delete_variable("repo_v", repo="acme/api") is True
    assert hub.delete_variable("REPO_V", repo="acme/api") is False
    for bad in [
        lambda: hub.set_variable("GITHUB_X", "v", repo="acme/api"),
        lambda: hub.set_variable("V", "v", repo="acme/api", app="dependabot"),
        lambda: hub.set_variable("V", "v", repo="acme/api", env="production", app="agents"),
        lambda: hub.set_variable("V", "v", repo="acme/api", visibility="all"),
        lambda: hub.variables(org="acme", repo="acme/api"),
    ]:
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(KeyError):
        hub.variables(repo="acme/nope")


# --------------------------------------------------------------------------- the descriptions


async def drive_variables(s: aiohttp.ClientSession, hub: FakeHub) -> None:
    """Every variables and agents route, with success and error answers."""
    api, web = hub.repo_id("acme/api"), hub.repo_id("acme/web")
    for app in ("actions", "agents"):
        org, repo = f"{ORG}/{app}", f"{REPO}/{app}"
        await create(s, org, "SEL", "v", visibility="selected", selected_repository_ids=[api])
        await create(s, org, "SEL", "v", visibility="all")  # 409
        await create(s, org, "ALL", "v", visibility="all")
        await create(s, org, "1BAD", "v", visibility="all")  # 422
        await call(s, "GET", f"{org}/variables?per_page=1")
        await call(s, "GET", f"{org}/variables/SEL")
        await call(s, "GET", f"{org}/variables/ALL")
        await call(s, "PATCH", f"{org}/variables/SEL", json={"value": "w"})
        await call(s, "GET", f"{org}/variables/SEL/repositories")
        await call(s, "GET", f"{org}/variables/ALL/repositories")  # 409
        await call(s, "PUT", f"{org}/variables/SEL/repositories",
                   json={"selected_repository_ids": [api, web]})
        await call(s, "DELETE", f"{org}/variables/SEL/repositories/{web}")
        await call(s, "PUT", f"{org}/variables/SEL/repositories/{web}")
        await call(s, "PUT", f"{org}/variables/ALL/repositories/{web}")  # 409
        await call(s, "DELETE", f"{org}/variables/ALL/repositories/{web}")  # 409
        await call(s, "PUT", f"{org}/variables/ALL/repositories", json={
            "selected_repository_ids": [api]})  # 409
        await create(s, repo, "R", "v")
        await create(s, repo, "R", "v")  # 409
        await call(s, "GET", f"{repo}/variables")
        await call(s, "GET", f"{repo}/variables/R")
        await call(s, "PATCH", f"{repo}/variables/R", json={"value": "w", "name": "R2"})
        await call(s, "GET", f"{repo}/variables/R")  # 404
        await call(s, "GET", f"{REPO}/{app}/organization-variables")
        await call(s, "DELETE", f"{repo}/variables/R2")
        await call(s, "DELETE", f"{org}/variables/SEL")
    for base in (REPO + "/agents", ORG + "/agents"):
        extra = {"visibility": "selected", "selected_repository_ids": [api]} if "orgs" in base else {}
        await put_secret(s, base, "AG", b"v", **extra)
        await put_secret(s, base, "AG", b"w", **extra)
    await call(s, "PUT", ORG + "/agents/secrets/AG", json={"visibility": "all"})  # 422
    await call(s, "GET", f"{ORG}/agents/secrets/AG/repositories")
    await call(s, "GET", f"{REPO}/agents/organization-secrets")
    await create(s, ENV, "E", "v")
    await call(s, "GET", ENV + "/variables?per_page=50")
    await call(s, "GET", ENV + "/variables/E")
    await call(s, "PATCH", ENV + "/variables/E", json={"value": "w"})
    await call(s, "DELETE", ENV + "/variables/E")
    legacy = f"/repositories/{api}/environments/staging"
    await create(s, legacy, "L", "v")
    await call(s, "GET", legacy + "/variables")
    await call(s, "GET", legacy + "/variables/L")
    await call(s, "PATCH", legacy + "/variables/L", json={"value": "w"})
    await call(s, "DELETE", legacy + "/variables/L")
    async with s.get(REPO + "/actions/variables") as r:
        tag = r.headers["ETag"]
    await call(s, "GET", REPO + "/actions/variables", headers={"If-None-Match": tag})  # 304


async def test_every_variables_and_agents_exchange_conforms_to_the_description() -> None:
    """Driving every variables route (Actions and agents) and agents secrets (success and
    error answers) produces only exchanges that validate against GitHub's github.com
    description, and every variables route is driven."""
    hub = make_hub(record=True)
    async with running(hub) as s:
        await drive_variables(s, hub)
    exchanges = hub.exchanges
    assert validate_exchanges(exchanges) == []
    served = {(r.method, r.template) for r in build_variable_routes()}  # agents secrets: in
    # test_fakehub_openapi with the other secrets
    seen = {(e.method, e.template) for e in exchanges}
    assert served <= seen, served - seen
    assert {200, 201, 204, 304, 404, 409, 422} <= {e.status for e in exchanges}


async def test_enterprise_server_variables_conform_to_the_ghes_description() -> None:
    """Actions variables under /api/v3 validate against Enterprise Server 3.19's description,
    and every Actions variables operation it describes is served."""
    hub = make_hub(record=True)
    api = hub.repo_id("acme/api")
    async with running(hub) as s:
        ghes_org, ghes_repo = "/api/v3" + ORG + "/actions", "/api/v3" + REPO + "/actions"
        await create(s, ghes_org, "SEL", "v", visibility="selected", selected_repository_ids=[api])
        await call(s, "GET", f"{ghes_org}/variables")
        await call(s, "GET", f"{ghes_org}/variables/SEL")
        await call(s, "PATCH", f"{ghes_org}/variables/SEL", json={"visibility": "private"})
        await call(s, "GET", f"{ghes_org}/variables/SEL/repositories")  # 409
        await call(s, "PATCH", f"{ghes_org}/variables/SEL", json={"visibility": "selected"})
        await call(s, "PUT", f"{ghes_org}/variables/SEL/repositories",
                   json={"selected_repository_ids": [api]})
        await call(s, "DELETE", f"{ghes_org}/variables/SEL/repositories/{api}")
        await call(s, "PUT", f"{ghes_org}/variables/SEL/repositories/{api}")
        await call(s, "GET", f"{ghes_org}/variables/SEL/repositories")
        await call(s, "DELETE", f"{ghes_org}/variables/SEL")
        for base in (ghes_repo, "/api/v3" + ENV):
            await create(s, base, "V", "v")
            await call(s, "GET", f"{base}/variables")
            await call(s, "GET", f"{base}/variables/V")
            await call(s, "PATCH", f"{base}/variables/V", json={"value": "w"})
            await call(s, "DELETE", f"{base}/variables/V")
        await call(s, "GET", "/api/v3" + REPO + "/actions/organization-variables")
    exchanges = hub.exchanges
    assert validate_exchanges(exchanges, GHES_VARIABLES_SPEC_PATH) == []
    described = {(m, t) for m, t in _operations_of(GHES_VARIABLES_SPEC_PATH)
                 if "/variables" in t or t.endswith("organization-variables")}
    assert described <= {(e.method, e.template) for e in exchanges}


def _operations_of(spec_path: Path) -> set[tuple[str, str]]:
    spec = json.loads(spec_path.read_text())
    return {(m.upper(), t) for t, item in spec["paths"].items() for m, op in item.items()
            if isinstance(op, dict) and "responses" in op}


def _exchange(template: str, status_code: int, response: Any, method: str = "GET",
              request: Any = None) -> Exchange:
    return Exchange(method, template, template, {}, request, status_code, {}, response)


def test_validator_catches_bad_variable_answers() -> None:
    """The check is not a rubber stamp for variables: a listing entry without its value, an
    org variable without visibility, a create answered 204 or with a body, and a create body
    without a value are each reported."""
    listing = "/repos/{owner}/{repo}/actions/variables"
    good = _exchange(listing, 200, {"total_count": 1, "variables": [
        {"name": "A", "value": "v", "created_at": "t", "updated_at": "t"}]})
    assert validate_exchanges([good]) == []
    bad = [
        _exchange(listing, 200, {"total_count": 1, "variables": [
            {"name": "A", "created_at": "t", "updated_at": "t"}]}),
        _exchange("/orgs/{org}/actions/variables/{name}", 200,
                  {"name": "A", "value": "v", "created_at": "t", "updated_at": "t"}),
        _exchange(listing, 204, None, method="POST", request={"name": "A", "value": "v"}),
        _exchange(listing, 201, {"name": "A"}, method="POST", request={"name": "A", "value": "v"}),
        _exchange(listing, 201, {}, method="POST", request={"name": "A"}),
    ]
    for exchange in bad:
        assert validate_exchanges([exchange]), exchange
