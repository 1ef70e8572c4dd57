"""fakehub over real loopback TCP, driven with plain aiohttp requests (no syncer client)."""

from __future__ import annotations

import asyncio
import base64
import shutil
import ssl
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from helpers import hub_session, self_signed_cert
from nacl.public import PublicKey, SealedBox

from syncer.fakehub import FakeHub, Faults, Limits

pytestmark = pytest.mark.anyio

TOKEN = "tok"
REPO = "/repos/acme/api"
ORG = "/orgs/acme"
ENV = "/repos/acme/api/environments/production"


def seal(key_b64: str, value: bytes) -> str:
    box = SealedBox(PublicKey(base64.b64decode(key_b64)))
    return base64.b64encode(box.encrypt(value)).decode()


def make_hub(**kwargs: Any) -> FakeHub:
    hub = FakeHub(tokens=(TOKEN,), **kwargs)
    hub.add_repo("acme", "api", environments=("production", "staging"))
    hub.add_repo("acme", "web", private=False, environments=())
    hub.add_repo("acme", "old", archived=True, fork=True)
    return hub


running = hub_session


async def key_of(s: aiohttp.ClientSession, base: str) -> dict[str, str]:
    async with s.get(f"{base}/secrets/public-key") as r:
        assert r.status == 200
        return await r.json()  # type: ignore[no-any-return]


async def put(
    s: aiohttp.ClientSession, base: str, name: str, value: bytes, **extra: Any
) -> tuple[int, Any]:
    key = await key_of(s, base)
    body = {"encrypted_value": seal(key["key"], value), "key_id": key["key_id"], **extra}
    async with s.put(f"{base}/secrets/{name}", json=body) as r:
        return r.status, (await r.json() if r.status != 204 else None)


async def status_of(s: aiohttp.ClientSession, method: str, path: str, **kw: Any) -> int:
    async with s.request(method, path, **kw) as r:
        await r.read()
        return r.status


# --------------------------------------------------------------------------- crypto & PUT


async def test_sealed_box_round_trip_201_then_204() -> None:
    """A real sealed box decrypts to the stored value; 201 `{}` creates, 204 updates and moves
    updated_at (a second later, as fakehub's clock says) while created_at stays."""
    now = [datetime(2026, 3, 4, 5, 6, 7, 250_000, tzinfo=UTC)]
    hub = make_hub(clock=lambda: now[0])
    async with running(hub) as s:
        assert await put(s, REPO + "/actions", "DB_PASS", b"hunter2") == (201, {})
        first = hub.secret("DB_PASS", repo="acme/api")
        now[0] += timedelta(seconds=1)
        assert await put(s, REPO + "/actions", "DB_PASS", b"hunter3") == (204, None)
        second = hub.secret("DB_PASS", repo="acme/api")
    assert hub.plaintext("DB_PASS", repo="acme/api") == b"hunter3"
    assert first is not None and second is not None
    assert second["created_at"] == first["created_at"]
    assert (first["updated_at"], second["updated_at"]) == (
        "2026-03-04T05:06:07Z", "2026-03-04T05:06:08Z")
    assert datetime.strptime(second["updated_at"], "%Y-%m-%dT%H:%M:%SZ")


async def test_put_422s_with_githubs_messages() -> None:
    """Missing key_id, non-base64 value, undecryptable value and a key of another scope are
    each answered 422 with GitHub's message; nothing is stored."""
    hub = make_hub()
    async with running(hub) as s:
        key = await key_of(s, REPO + "/actions")
        other = await key_of(s, "/repos/acme/web/actions")
        url = REPO + "/actions/secrets/X"
        cases = [
            ({"encrypted_value": seal(key["key"], b"v")}, "\"key_id\" wasn't supplied"),
            ({"encrypted_value": "%%%", "key_id": key["key_id"]}, "does not match /^(?:[A-Za-z0-9+"),
            (
                {"encrypted_value": base64.b64encode(b"x" * 64).decode(), "key_id": key["key_id"]},
                "improperly encrypted secret",
            ),
            (
                {"encrypted_value": seal(other["key"], b"v"), "key_id": key["key_id"]},
                "improperly encrypted secret",
            ),
            (
                {"encrypted_value": seal(key["key"], b"v"), "key_id": other["key_id"]},
                "improperly encrypted secret",
            ),
        ]
        for body, message in cases:
            async with s.put(url, json=body) as r:
                assert r.status == 422, body
                payload = await r.json()
                assert message in payload["message"]
                assert "documentation_url" in payload
        async with s.put(url, data=b"{not json") as r:
            assert r.status == 400
    assert hub.secret_names(repo="acme/api") == []


async def test_value_size_limit_is_48_kib_of_plaintext() -> None:
    """48 * 1024 bytes of plaintext are accepted; one byte more is a 422."""
    hub = make_hub()
    async with running(hub) as s:
        assert (await put(s, REPO + "/actions", "BIG", b"x" * 48 * 1024))[0] == 201
        assert (await put(s, REPO + "/actions", "BIG", b"x" * (48 * 1024 + 1)))[0] == 422
    assert hub.plaintext("BIG", repo="acme/api") == b"x" * 48 * 1024


async def test_names_are_checked_and_case_insensitive() -> None:
    """Invalid names are 422; names are stored upper-case and found in any case."""
    hub = make_hub()
    async with running(hub) as s:
        for bad in ("1ABC", "GITHUB_TOKEN", "github_x", "A-B", "A%20B"):
            assert (await put(s, REPO + "/actions", bad, b"v"))[0] == 422, bad
        assert (await put(s, REPO + "/actions", "my_Secret", b"v"))[0] == 201
        assert (await put(s, REPO + "/actions", "MY_SECRET", b"w"))[0] == 204
        async with s.get(REPO + "/actions/secrets/my_secret") as r:
            assert r.status == 200
            assert (await r.json())["name"] == "MY_SECRET"
        assert await status_of(s, "DELETE", REPO + "/actions/secrets/My_Secret") == 204
        assert await status_of(s, "GET", REPO + "/actions/secrets/MY_SECRET") == 404
        assert await status_of(s, "DELETE", REPO + "/actions/secrets/MY_SECRET") == 404
    assert hub.secret_names(repo="acme/api") == []


async def test_secret_count_limits_enforced_on_create() -> None:
    """A repository holds at most 100 secrets: the 101st create is 422, updates still work."""
    hub = make_hub()
    for i in range(100):
        hub.set_secret(f"S{i}", b"v", repo="acme/api")
    async with running(hub) as s:
        assert (await put(s, REPO + "/actions", "S_NEW", b"v"))[0] == 422
        assert (await put(s, REPO + "/actions", "S5", b"w"))[0] == 204
        for i in range(100):
            hub.set_secret(f"E{i}", b"v", repo="acme/api", env="production")
        assert (await put(s, ENV, "E_NEW", b"v"))[0] == 422


async def test_every_scope_and_app_has_its_own_key() -> None:
    """Org, repo and environment keys differ, and each app type has its own."""
    hub = make_hub()
    async with running(hub) as s:
        bases = [
            f"{prefix}/{app}"
            for prefix in (ORG, REPO)
            for app in ("actions", "dependabot", "codespaces")
        ] + [ENV, "/repos/acme/api/environments/staging", "/repos/acme/web/actions"]
        keys = [await key_of(s, b) for b in bases]
    assert len({k["key_id"] for k in keys}) == len(bases)
    assert len({k["key"] for k in keys}) == len(bases)
    assert all(k["key_id"].isdigit() for k in keys)


async def test_rotated_key_makes_old_key_id_422() -> None:
    """After rotate_key a PUT with the old key_id is 422; re-fetching the key fixes it."""
    hub = make_hub()
    async with running(hub) as s:
        old = await key_of(s, REPO + "/actions")
        new_id = hub.rotate_key(repo="acme/api")
        assert new_id != old["key_id"]
        body = {"encrypted_value": seal(old["key"], b"v"), "key_id": old["key_id"]}
        async with s.put(REPO + "/actions/secrets/ROT", json=body) as r:
            assert r.status == 422
            assert "improperly encrypted" in (await r.json())["message"]
        assert (await put(s, REPO + "/actions", "ROT", b"v"))[0] == 201
    secret = hub.secret("ROT", repo="acme/api")
    assert secret is not None and secret["key_id"] == new_id


async def test_archived_repository_is_read_only() -> None:
    """Stricter reading: writing a secret into an archived repository is 403; reading works."""
    hub = make_hub()
    async with running(hub) as s:
        assert (await put(s, "/repos/acme/old/actions", "X", b"v"))[0] == 403
        assert await status_of(s, "GET", "/repos/acme/old/actions/secrets") == 200


# --------------------------------------------------------------------------- org secrets


async def test_org_put_visibility_rules() -> None:
    """Org PUT: visibility required; ids only with `selected`; unknown ids 422; ids omitted on
    a `selected` update empty the selection."""
    hub = make_hub()
    api, web = hub.repo_id("acme/api"), hub.repo_id("acme/web")
    base = ORG + "/actions"
    async with running(hub) as s:
        assert (await put(s, base, "O", b"v"))[0] == 422
        assert (await put(s, base, "O", b"v", visibility="all", selected_repository_ids=[api]))[
            0
        ] == 422
        assert (await put(s, base, "O", b"v", visibility="selected",
                          selected_repository_ids=[999]))[0] == 422
        assert (await put(s, base, "O", b"v", visibility="selected",
                          selected_repository_ids=[api, web]))[0] == 201
        assert hub.secret("O", org="acme")["selected_repository_ids"] == sorted([api, web])  # type: ignore[index]
        assert (await put(s, base, "O", b"w", visibility="selected"))[0] == 204
        assert hub.secret("O", org="acme")["selected_repository_ids"] == []  # type: ignore[index]
        async with s.get(base + "/secrets/O") as r:
            body = await r.json()
        assert body["visibility"] == "selected"
        assert body["selected_repositories_url"].endswith("/orgs/acme/actions/secrets/O/repositories")
        assert body["selected_repositories_url"].startswith("http://127.0.0.1:")


async def test_selected_repository_endpoints_and_409() -> None:
    """List/set/add/remove selected repositories; each is 409 unless visibility is selected."""
    hub = make_hub()
    api, web = hub.repo_id("acme/api"), hub.repo_id("acme/web")
    hub.set_secret("SEL", b"v", org="acme", selected=["api"])
    hub.set_secret("ALL", b"v", org="acme", visibility="all")
    base = ORG + "/actions/secrets"
    async with running(hub) as s:
        async with s.get(f"{base}/SEL/repositories") as r:
            body = await r.json()
        assert body["total_count"] == 1 and body["repositories"][0]["id"] == api
        assert await status_of(s, "PUT", f"{base}/SEL/repositories/{web}") == 204
        assert await status_of(s, "DELETE", f"{base}/SEL/repositories/{api}") == 204
        assert hub.secret("SEL", org="acme")["selected_repository_ids"] == [web]  # type: ignore[index]
        assert await status_of(
            s, "PUT", f"{base}/SEL/repositories", json={"selected_repository_ids": [api, web]}
        ) == 204
        assert await status_of(
            s, "PUT", f"{base}/SEL/repositories", json={"selected_repository_ids": [12345]}
        ) == 422
        assert await status_of(s, "PUT", f"{base}/SEL/repositories/12345") == 422
        assert hub.secret("SEL", org="acme")["selected_repository_ids"] == sorted([api, web])  # type: ignore[index]
        for method, path, kw in [
            ("GET", f"{base}/ALL/repositories", {}),
            ("PUT", f"{base}/ALL/repositories", {"json": {"selected_repository_ids": [api]}}),
            ("PUT", f"{base}/ALL/repositories/{api}", {}),
            ("DELETE", f"{base}/ALL/repositories/{api}", {}),
        ]:
            assert await status_of(s, method, path, **kw) == 409, (method, path)
        assert await status_of(s, "GET", f"{base}/NOPE/repositories") == 404


async def test_repository_sees_org_secrets_by_visibility() -> None:
    """organization-secrets lists `all` to every repo, `private` to private repos only and
    `selected` to the repositories selected."""
    hub = make_hub()
    hub.set_secret("EVERYONE", b"v", org="acme", visibility="all")
    hub.set_secret("PRIVATE_ONLY", b"v", org="acme", visibility="private")
    hub.set_secret("WEB_ONLY", b"v", org="acme", selected=["web"])
    hub.set_secret("OTHER_APP", b"v", org="acme", app="dependabot")
    async with running(hub) as s:
        seen = {}
        for repo in ("api", "web"):
            async with s.get(f"/repos/acme/{repo}/actions/organization-secrets") as r:
                body = await r.json()
            seen[repo] = [x["name"] for x in body["secrets"]]
            assert body["total_count"] == len(seen[repo])
    assert seen == {"api": ["EVERYONE", "PRIVATE_ONLY"], "web": ["EVERYONE", "WEB_ONLY"]}


# --------------------------------------------------------------------------- listings


async def test_pagination_link_header_clamp_and_last_page() -> None:
    """Link rels as GitHub sends them, absolute and under the request's prefix; per_page is
    clamped to 100; pages past the end are empty."""
    hub = FakeHub(tokens=(TOKEN,))
    hub.add_repos("big", 205, environments=())
    async with running(hub) as s:
        async with s.get("/api/v3/orgs/big/repos?per_page=50") as r:
            first = await r.json()
            link = r.headers["Link"]
        assert len(first) == 50
        assert 'rel="next"' in link and 'rel="last"' in link and 'rel="prev"' not in link
        org_id = hub.org_id("big")
        assert f"/api/v3/organizations/{org_id}/repos?per_page=50&page=5>; rel=\"last\"" in link
        assert link.startswith("<http://127.0.0.1:")
        async with s.get("/orgs/big/repos?per_page=500&page=3") as r:
            last = await r.json()
            link = r.headers["Link"]
        assert len(last) == 5
        assert 'rel="next"' not in link and 'rel="prev"' in link and 'rel="first"' in link
        assert "per_page=500" in link  # the request's own parameters are kept
        async with s.get("/orgs/big/repos?page=99") as r:
            assert await r.json() == []
        names: list[str] = []
        url: str | None = "/orgs/big/repos?per_page=100"
        while url:
            async with s.get(url) as r:
                names += [x["name"] for x in await r.json()]
                nxt = r.links.get("next")
                url = str(nxt["url"]) if nxt else None
    assert len(names) == 205 and len(set(names)) == 205
    assert names[0] == "repo-0205"  # sort=created, direction desc by default


async def test_org_repos_type_filter_and_sort() -> None:
    """type=public/private/forks/sources filters; sort=full_name is ascending."""
    hub = make_hub()
    async with running(hub) as s:
        async def names(query: str) -> list[str]:
            async with s.get(f"/orgs/acme/repos?{query}") as r:
                return [x["name"] for x in await r.json()]

        assert await names("type=public") == ["web"]
        assert await names("type=private") == ["old", "api"]
        assert await names("type=forks") == ["old"]
        assert await names("type=sources&sort=full_name") == ["api", "web"]
        assert await names("sort=full_name&direction=desc") == ["web", "old", "api"]
        assert await status_of(s, "GET", "/orgs/acme/repos?type=nonsense") == 422
        async with s.get("/repos/acme/old") as r:
            repo = await r.json()
        assert (repo["archived"], repo["fork"], repo["private"]) == (True, True, True)
        assert repo["full_name"] == "acme/old" and repo["id"] == hub.repo_id("acme/old")


async def test_org_repos_listing_shows_a_repository_added_after_it_was_served() -> None:
    """Listing pages are served from a cache of their encoding: a new repository shows."""
    hub = make_hub()
    async with running(hub) as s:
        async def names() -> list[str]:
            async with s.get("/orgs/acme/repos?sort=full_name") as r:
                return [x["name"] for x in await r.json()]

        assert await names() == ["api", "old", "web"]
        assert await names() == ["api", "old", "web"]
        hub.add_repo("acme", "new", environments=())
        assert await names() == ["api", "new", "old", "web"]


async def test_secret_and_environment_listings_have_total_count() -> None:
    """Secrets and environments listings carry total_count (the total, not the page size)."""
    hub = make_hub()
    for i in range(35):
        hub.set_secret(f"S{i:02d}", b"v", repo="acme/api")
    async with running(hub) as s:
        async with s.get(REPO + "/actions/secrets?per_page=10&page=4") as r:
            body = await r.json()
            assert 'rel="prev"' in r.headers["Link"]
        assert body["total_count"] == 35
        assert [x["name"] for x in body["secrets"]] == ["S30", "S31", "S32", "S33", "S34"]
        async with s.get(REPO + "/environments") as r:
            envs = await r.json()
        assert envs["total_count"] == 2
        assert [e["name"] for e in envs["environments"]] == ["production", "staging"]


async def test_etag_304_on_keys_and_listings_not_counted_against_primary() -> None:
    """Public keys and listings carry ETags; If-None-Match answers 304 without a body and
    without spending the primary budget; a change produces a new ETag."""
    hub = make_hub(limits=Limits(primary_limit=100))
    async with running(hub) as s:
        for path in (REPO + "/actions/secrets/public-key", REPO + "/actions/secrets"):
            async with s.get(path) as r:
                etag = r.headers["ETag"]
                remaining = int(r.headers["x-ratelimit-remaining"])
            async with s.get(path, headers={"If-None-Match": etag}) as r:
                assert r.status == 304
                assert await r.read() == b""
                assert int(r.headers["x-ratelimit-remaining"]) == remaining
                assert "x-github-request-id" in r.headers
        await put(s, REPO + "/actions", "NEW", b"v")
        async with s.get(REPO + "/actions/secrets", headers={"If-None-Match": etag}) as r:
            assert r.status == 200 and r.headers["ETag"] != etag
    assert hub.count("GET", "/repos/{owner}/{repo}/actions/secrets") == 3


# --------------------------------------------------------------------------- auth, errors, routes


async def test_401_bad_credentials() -> None:
    """No token or an unknown one is 401 Bad credentials; `token X` works like `Bearer X`."""
    hub = make_hub()
    async with running(hub, token=None) as s:
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic tok"}):
            async with s.get(REPO, headers=headers) as r:
                assert r.status == 401
                body = await r.json()
                assert body["message"] == "Bad credentials" and "documentation_url" in body
                assert "x-ratelimit-limit" in r.headers
        async with s.get(REPO, headers={"Authorization": f"token {TOKEN}"}) as r:
            assert r.status == 200
        hub.add_token("second")
        async with s.get(REPO, headers={"Authorization": "Bearer second"}) as r:
            assert r.status == 200


async def test_user_agent_required_and_api_version_checked() -> None:
    """No User-Agent is 403 (GitHub rejects such requests); an X-GitHub-Api-Version GitHub
    does not have is 400; 2022-11-28 is accepted."""
    hub = make_hub()
    async with running(hub) as s:
        async with s.get(REPO, skip_auto_headers=["User-Agent"]) as r:
            assert r.status == 403
            assert "User-Agent" in (await r.json())["message"]
        async with s.get(REPO, headers={"X-GitHub-Api-Version": "2021-01-01"}) as r:
            assert r.status == 400
            assert "2021-01-01" in (await r.json())["message"]
        headers = {"X-GitHub-Api-Version": "2022-11-28", "Accept": "application/vnd.github+json"}
        assert await status_of(s, "GET", REPO, headers=headers) == 200


async def test_404_for_unknown_org_repo_environment_secret_and_path() -> None:
    """Unknown org, repo, environment, secret or path: 404 Not Found in GitHub's shape."""
    hub = make_hub()
    async with running(hub) as s:
        for path in (
            "/orgs/nope/actions/secrets",
            "/repos/acme/nope/actions/secrets/public-key",
            "/repos/acme/api/environments/nope/secrets",
            REPO + "/actions/secrets/NOPE",
            "/repositories/1/environments/production/secrets",
            "/totally/unknown",
        ):
            async with s.get(path) as r:
                assert r.status == 404, path
                assert (await r.json())["message"] == "Not Found"
                assert "x-ratelimit-remaining" in r.headers


async def test_rate_limit_headers_everywhere_and_rate_limit_endpoint_free() -> None:
    """Every answer carries x-ratelimit-* and a request id; GET /rate_limit costs nothing."""
    hub = make_hub(limits=Limits(primary_limit=50))
    async with running(hub) as s:
        async with s.get(REPO) as r:
            assert r.headers["x-ratelimit-limit"] == "50"
            assert r.headers["x-ratelimit-remaining"] == "49"
            assert r.headers["x-ratelimit-used"] == "1"
            assert r.headers["x-ratelimit-resource"] == "core"
            assert int(r.headers["x-ratelimit-reset"]) > time.time()
            assert r.headers["x-github-request-id"]
        for _ in range(3):
            async with s.get("/rate_limit") as r:
                body = await r.json()
        assert body["rate"]["remaining"] == 49 and body["resources"]["core"]["used"] == 1


async def test_environment_secrets_under_both_route_forms() -> None:
    """Environment secrets are reachable as /repos/{owner}/{repo}/environments/... and as the
    older /repositories/{id}/environments/...; both see the same secrets."""
    hub = make_hub()
    rid = hub.repo_id("acme/api")
    legacy = f"/repositories/{rid}/environments/production"
    async with running(hub) as s:
        assert (await put(s, ENV, "E1", b"one"))[0] == 201
        assert (await put(s, legacy, "E2", b"two"))[0] == 201
        async with s.get(legacy + "/secrets") as r:
            assert [x["name"] for x in (await r.json())["secrets"]] == ["E1", "E2"]
        assert (await key_of(s, ENV)) == (await key_of(s, legacy))
        assert await status_of(s, "DELETE", legacy + "/secrets/E1") == 204
    assert hub.plaintext("E2", repo="acme/api", env="production") == b"two"
    assert hub.plaintext("E1", repo="acme/api", env="production") is None


async def test_legacy_env_routes_only() -> None:
    """legacy_env_routes_only: the owner/repo environment-secret form is 404, the
    /repositories/{id} form works (an older Enterprise Server)."""
    hub = make_hub(legacy_env_routes_only=True)
    rid = hub.repo_id("acme/api")
    async with running(hub) as s:
        assert await status_of(s, "GET", ENV + "/secrets/public-key") == 404
        assert await status_of(s, "GET", "/api/v3" + ENV + "/secrets") == 404
        assert (await put(s, f"/api/v3/repositories/{rid}/environments/production", "L", b"v"))[
            0
        ] == 201
        assert await status_of(s, "GET", REPO + "/environments") == 200


async def test_enterprise_prefix_and_no_codespaces_there() -> None:
    """/api/v3 serves the same API (Enterprise Server); codespaces, absent from GHES's
    description, is 404 there and served at the github.com root."""
    hub = make_hub()
    async with running(hub) as s:
        assert (await put(s, "/api/v3" + REPO + "/dependabot", "D", b"v"))[0] == 201
        assert await status_of(s, "GET", "/api/v3" + REPO + "/codespaces/secrets") == 404
        assert (await put(s, REPO + "/codespaces", "C", b"v"))[0] == 201
    assert hub.plaintext("D", repo="acme/api", app="dependabot") == b"v"
    assert hub.plaintext("C", repo="acme/api", app="codespaces") == b"v"
    assert hub.plaintext("C", repo="acme/api") is None


async def test_graphql_maps_repository_names_to_ids_like_gh_needs() -> None:
    """POST /graphql (and /api/graphql) resolves aliased repository(owner:, name:) to
    databaseId, with NOT_FOUND errors for unknown names; other queries are refused."""
    hub = make_hub()
    query = (
        'query MapRepositoryNames { repo_000: repository(owner: "acme", name: "api") '
        '{ databaseId } repo_001: repository(owner: "acme", name: "nope") { databaseId } }'
    )
    async with running(hub) as s:
        async with s.post("/api/graphql", json={"query": query}) as r:
            body = await r.json()
        assert body["data"] == {"repo_000": {"databaseId": hub.repo_id("acme/api")},
                                "repo_001": None}
        assert body["errors"][0]["type"] == "NOT_FOUND"
        assert body["errors"][0]["path"] == ["repo_001"]
        async with s.post("/graphql", json={"query": "{ viewer { login } }"}) as r:
            body = await r.json()
        assert "data" not in body and body["errors"]
    assert hub.count("POST", "/graphql") == 2


# --------------------------------------------------------------------------- limits


async def test_primary_exhaustion_and_reset_at_compressed_time() -> None:
    """The primary budget runs out into a 403 with remaining 0 and GitHub's message, and comes
    back after primary_reset_seconds / time_scale."""
    hub = make_hub(limits=Limits(primary_limit=3, primary_reset_seconds=30, time_scale=60))
    async with running(hub) as s:
        for _ in range(3):
            assert await status_of(s, "GET", REPO) == 200
        async with s.get(REPO) as r:
            assert r.status == 403
            assert r.headers["x-ratelimit-remaining"] == "0"
            assert "API rate limit exceeded" in (await r.json())["message"]
            reset = int(r.headers["x-ratelimit-reset"])
        assert reset <= time.time() + 1.5
        await asyncio.sleep(0.6)
        async with s.get(REPO) as r:
            assert r.status == 200 and r.headers["x-ratelimit-remaining"] == "2"
    assert hub.violations["primary"] == 1


async def test_almost_spent_token() -> None:
    """primary_remaining starts a token with only that much left (limit 5000 if not given)."""
    hub = make_hub(limits=Limits(primary_remaining=1))
    async with running(hub) as s:
        async with s.get(REPO) as r:
            assert r.status == 200
            assert r.headers["x-ratelimit-limit"] == "5000"
            assert r.headers["x-ratelimit-remaining"] == "0"
            assert r.headers["x-ratelimit-used"] == "5000"
        assert await status_of(s, "GET", REPO) == 403


async def test_secondary_points_with_retry_after() -> None:
    """Over points_per_minute (writes cost 5) answers 403 `secondary rate limit` with an
    integer retry-after; waiting that long lets the next request through."""
    hub = make_hub(limits=Limits(points_per_minute=12, time_scale=60))
    async with running(hub) as s:
        assert (await put(s, REPO + "/actions", "P", b"v"))[0] == 201  # 1 + 5 points
        assert (await put(s, REPO + "/actions", "P", b"v"))[0] == 204  # 12 points
        async with s.get(REPO) as r:
            assert r.status == 403
            assert "secondary rate limit" in (await r.json())["message"]
            retry_after = int(r.headers["retry-after"])
        assert retry_after == 1
        await asyncio.sleep(retry_after)
        assert await status_of(s, "GET", REPO) == 200
    assert hub.violations["secondary_points"] == 1


async def test_secondary_concurrency_with_retry_after() -> None:
    """More than max_concurrent requests in flight per token: the extra ones are 403 with
    retry-after, counted as secondary_concurrency."""
    hub = make_hub(limits=Limits(max_concurrent=2, time_scale=60), faults=Faults(latency_ms=300))
    async with running(hub) as s:

        async def one() -> tuple[int, str | None]:
            async with s.get(REPO) as r:
                return r.status, r.headers.get("retry-after")

        results = await asyncio.gather(*(one() for _ in range(5)))
    assert sorted(st for st, _ in results) == [200, 200, 403, 403, 403]
    assert all(ra == "1" for st, ra in results if st == 403)
    assert hub.violations["secondary_concurrency"] == 3


async def test_limits_can_change_at_runtime() -> None:
    """hub.limits may be replaced mid-run; the new limits apply to the next request."""
    hub = make_hub()
    async with running(hub) as s:
        assert await status_of(s, "GET", REPO) == 200
        hub.limits = Limits(primary_limit=10, primary_remaining=0)
        assert await status_of(s, "GET", REPO) == 403
        hub.limits = Limits()
        assert await status_of(s, "GET", REPO) == 200


# --------------------------------------------------------------------------- faults


async def test_error_faults_are_seeded_and_not_applied() -> None:
    """error_rate answers 500/502/503 reproducibly for a seed, before applying the write."""

    async def statuses(seed: int) -> list[int]:
        hub = make_hub(faults=Faults(error_rate=0.5, seed=seed))
        async with running(hub) as s:
            return [await status_of(s, "GET", REPO) for _ in range(30)]

    first, again = await statuses(7), await statuses(7)
    assert first == again
    assert set(first) <= {200, 500, 502, 503} and 200 in first and len(set(first)) > 1
    hub = make_hub(faults=Faults(error_rate=1.0))
    async with running(hub) as s:
        hub.faults = Faults()
        key = await key_of(s, REPO + "/actions")
        hub.faults = Faults(error_rate=1.0, seed=3)
        body = {"encrypted_value": seal(key["key"], b"v"), "key_id": key["key_id"]}
        async with s.put(REPO + "/actions/secrets/LOST", json=body) as r:
            assert r.status in (500, 502, 503)
            assert "x-ratelimit-remaining" in r.headers
    assert hub.plaintext("LOST", repo="acme/api") is None


async def test_drop_fault_closes_without_answer_and_does_not_apply() -> None:
    """drop_rate closes the connection with no answer; the write is not applied."""
    hub = make_hub()
    async with running(hub) as s:
        key = await key_of(s, REPO + "/actions")
        hub.faults = Faults(drop_rate=1.0)
        body = {"encrypted_value": seal(key["key"], b"v"), "key_id": key["key_id"]}
        with pytest.raises(aiohttp.ServerDisconnectedError):
            async with s.put(REPO + "/actions/secrets/DROPPED", json=body) as r:
                await r.read()
    assert hub.plaintext("DROPPED", repo="acme/api") is None
    assert hub.count("PUT") >= 1


async def test_slow_fault_outlasts_client_timeout_but_applies() -> None:
    """slow_rate answers only after slow_seconds; the write itself is applied at once."""
    hub = make_hub()
    async with running(hub) as s:
        key = await key_of(s, REPO + "/actions")
        hub.faults = Faults(slow_rate=1.0, slow_seconds=2.0)
        body = {"encrypted_value": seal(key["key"], b"late"), "key_id": key["key_id"]}
        with pytest.raises(asyncio.TimeoutError):
            async with s.put(
                REPO + "/actions/secrets/SLOW", json=body, timeout=aiohttp.ClientTimeout(total=0.3)
            ) as r:
                await r.read()
    assert hub.plaintext("SLOW", repo="acme/api") == b"late"


async def test_latency_is_added() -> None:
    """latency_ms delays every answer."""
    hub = make_hub(faults=Faults(latency_ms=150))
    async with running(hub) as s:
        started = time.monotonic()
        assert await status_of(s, "GET", REPO) == 200
        assert time.monotonic() - started >= 0.15


# --------------------------------------------------------------------------- admin & counters


async def test_admin_state_only_with_admin_token() -> None:
    """/_fakehub/state exists only with an admin token and answers only to it; it reveals
    plaintexts (base64), calls and violations."""
    hub = make_hub()
    hub.set_secret("S", b"plain", repo="acme/api")
    async with running(hub) as s:
        assert await status_of(s, "GET", "/_fakehub/state") == 404
    hub = make_hub(admin_token="adm")
    hub.set_secret("S", b"plain", repo="acme/api", env="production")
    async with running(hub) as s:
        assert await status_of(s, "GET", "/_fakehub/state") == 401
        await status_of(s, "GET", REPO)
        async with s.get("/_fakehub/state", headers={"Authorization": "Bearer adm"}) as r:
            state = await r.json()
    assert state["calls"] == {"GET /repos/{owner}/{repo}": 1}
    (row,) = state["secrets"]
    assert (row["app"], row["org"], row["repo"], row["env"], row["name"]) == (
        "actions", "acme", "api", "production", "S"
    )
    assert base64.b64decode(row["plaintext_b64"]) == b"plain"


async def test_calls_counter_count_and_reset() -> None:
    """calls are keyed by (METHOD, template), count() sums matches, reset_counters clears."""
    hub = make_hub()
    async with running(hub) as s:
        await put(s, REPO + "/actions", "A", b"v")
        await put(s, "/repos/acme/web/actions", "A", b"v")
        await status_of(s, "GET", "/nowhere")
    assert hub.calls[("PUT", "/repos/{owner}/{repo}/actions/secrets/{secret_name}")] == 2
    assert hub.count(path="/repos/{owner}/{repo}/actions/secrets/public-key") == 2
    assert hub.count("GET") == 3 and hub.count() == 5
    hub.reset_counters()
    assert hub.count() == 0 and not hub.calls


def test_python_api_set_secret_timestamps_and_scopes() -> None:
    """set_secret honours an explicit updated_at, takes the clock's otherwise; bad scopes
    raise."""
    hub = make_hub()
    stamp = datetime(2021, 5, 6, 7, 8, 9, tzinfo=UTC)
    hub.set_secret("T", b"v", repo="acme/api", updated_at=stamp)
    assert hub.secret("T", repo="acme/api")["updated_at"] == "2021-05-06T07:08:09Z"  # type: ignore[index]
    hub.set_secret("T", b"w", repo="acme/api")
    assert hub.secret("T", repo="acme/api")["updated_at"] > "2021"  # type: ignore[index]
    assert hub.delete_secret("T", repo="acme/api") and not hub.delete_secret("T", repo="acme/api")
    with pytest.raises(ValueError):
        hub.set_secret("X", b"v", org="acme", repo="acme/api")
    with pytest.raises(KeyError):
        hub.set_secret("X", b"v", repo="acme/nope")
    with pytest.raises(ValueError):
        hub.set_secret("GITHUB_X", b"v", repo="acme/api")
    assert hub.add_repos("other", 3, environments=()) == [
        hub.repo_id(f"other/repo-000{i}") for i in (1, 2, 3)
    ]


# --------------------------------------------------------------------------- serving


def test_serve_in_thread_answers_and_stops() -> None:
    """serve_in_thread serves from a background loop and releases the port on exit."""
    hub = make_hub()
    with hub.serve_in_thread() as url:
        req = urllib.request.Request(url + REPO, headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + REPO, timeout=2)
    assert hub.count("GET", "/repos/{owner}/{repo}") == 1


def test_serve_in_thread_reraises_startup_errors() -> None:
    """A port already taken fails the start in the caller's thread."""
    hub = make_hub()
    with hub.serve_in_thread() as url:
        port = int(url.rsplit(":", 1)[1])
        with pytest.raises(OSError), hub.serve_in_thread(port=port):
            pass


async def test_https_with_a_self_signed_certificate(tmp_path: Path) -> None:
    """With an SSL context the hub serves https:// on the same API."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    cert, key = self_signed_cert(tmp_path)  # a one-off before the server starts
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    hub = make_hub()
    async with hub.serve(ssl=server_ctx) as url:
        assert url.startswith("https://127.0.0.1:")
        async with aiohttp.ClientSession() as s, s.get(
            url + "/api/v3/orgs/acme/repos",
            headers={"Authorization": f"Bearer {TOKEN}"},
            ssl=client_ctx,
        ) as r:
            assert r.status == 200
            assert (await r.json())[0]["url"].startswith(url + "/api/v3/repos/acme/")


def test_listing_shows_an_updated_secret_as_updated() -> None:
    """After an update the list endpoint shows the new updated_at and visibility, not a stale
    copy (a stale listing would hide drift from every client)."""
    import json as _json
    import urllib.request
    from datetime import UTC, datetime

    hub = FakeHub(tokens=("tok",))
    hub.add_repo("acme", "api")
    hub.set_secret("S", b"v", org="acme", visibility="selected", selected=["api"],
                   updated_at=datetime(2026, 1, 1, tzinfo=UTC))
    with hub.serve_in_thread() as url:
        request = urllib.request.Request(
            url + "/orgs/acme/actions/secrets",
            headers={"Authorization": "Bearer tok", "User-Agent": "t",
                     "Accept": "application/vnd.github+json"})
        urllib.request.urlopen(request).read()  # a listing before the update
        hub.set_secret("S", b"v2", org="acme", visibility="all",
                       updated_at=datetime(2026, 2, 1, tzinfo=UTC))
        (listed,) = _json.load(urllib.request.urlopen(request))["secrets"]
    assert listed["updated_at"] == "2026-02-01T00:00:00Z" and listed["visibility"] == "all"
