"""fakehub answers as GitHub does where a client is easily fooled: tokens with less power,
ID-based pagination links, second-precision timestamps, digits of other scripts, org-secret
PUTs without a value, removing a repository that is not selected."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from helpers import Headers, call
from helpers import hub_session as session
from nacl.public import PublicKey, SealedBox
from openapi_check import validate_exchanges

from syncer.fakehub import FakeHub
from syncer.fakehub.cli import build_parser, hub_from_args

pytestmark = pytest.mark.anyio

TOKEN, READ_ONLY, NON_ADMIN = "tok", "tok-read-only", "tok-no-org-admin"
NOT_ACCESSIBLE = "Resource not accessible by personal access token"
REPO = "/repos/acme/api"
ORG = "/orgs/acme"


def make_hub(**kwargs: Any) -> FakeHub:
    hub = FakeHub(tokens=(TOKEN,), record=True, read_only_tokens=(READ_ONLY,),
                  non_admin_tokens=(NON_ADMIN,), **kwargs)
    hub.add_repo("acme", "api", environments=("production", "staging"))
    hub.add_repo("acme", "web", environments=())
    return hub


async def put(s: aiohttp.ClientSession, base: str, name: str, value: bytes, **extra: Any
              ) -> tuple[int, Any, Headers]:
    """PUT a sealed value, with the key fetched by the main token (the caller's token may
    not be allowed to read it)."""
    status, key, _ = await call(s, "GET", f"{base}/secrets/public-key",
                                headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    sealed = SealedBox(PublicKey(base64.b64decode(key["key"]))).encrypt(value)
    body = {"encrypted_value": base64.b64encode(sealed).decode(), "key_id": key["key_id"],
            **extra}
    return await call(s, "PUT", f"{base}/secrets/{name}", json=body)


# --------------------------------------------------------------------------- tokens


async def test_read_only_token_reads_and_every_write_is_403() -> None:
    """A read-only token reads everything (GraphQL queries too); every write, at every level,
    is 403 "Resource not accessible by personal access token" and changes nothing; a write
    to a repository that does not exist stays a 404."""
    hub = make_hub()
    hub.set_secret("KEEP", b"v", repo="acme/api")
    hub.set_secret("ORG_KEEP", b"v", org="acme", selected=["api"])
    api = hub.repo_id("acme/api")
    async with session(hub, READ_ONLY) as s:
        for path in (f"{REPO}/actions/secrets", f"{REPO}/actions/secrets/KEEP",
                     f"{ORG}/actions/secrets", f"{ORG}/actions/secrets/public-key", f"{ORG}/repos",
                     f"{REPO}/environments/production/secrets"):
            assert (await call(s, "GET", path))[0] == 200, path
        query = {"query": 'query { repository(owner: "acme", name: "api") { databaseId } }'}
        assert (await call(s, "POST", "/graphql", json=query))[0] == 200
        writes = [
            await put(s, f"{REPO}/actions", "NEW", b"v"),
            await put(s, f"{REPO}/environments/production", "NEW", b"v"),
            await put(s, f"{ORG}/actions", "NEW", b"v", visibility="all"),
            await call(s, "DELETE", f"{REPO}/actions/secrets/KEEP"),
            await call(s, "DELETE", f"{ORG}/actions/secrets/ORG_KEEP/repositories/{api}"),
        ]
        for status, body, _ in writes:
            assert (status, body["message"]) == (403, NOT_ACCESSIBLE)
        assert (await call(s, "PUT", "/repos/acme/nope/actions/secrets/NEW",
                           json={"encrypted_value": "AAAA", "key_id": "1"}))[0] == 404
    assert hub.secret_names(repo="acme/api") == ["KEEP"]
    assert hub.secret("ORG_KEEP", org="acme")["selected_repository_ids"] == [api]  # type: ignore[index]
    assert validate_exchanges(hub.exchanges) == []


async def test_token_without_org_admin_is_refused_org_secrets_only() -> None:
    """A token without org admin gets 403 "Resource not accessible by personal access
    token" on every /orgs/{org}/.../secrets endpoint (keys and selected repositories too),
    while the org's repositories, repository, environment and Dependabot repository secrets
    work; an org that does not exist stays a 404."""
    hub = make_hub()
    hub.set_secret("ORG_S", b"v", org="acme", selected=["api"])
    api = hub.repo_id("acme/api")
    async with session(hub, NON_ADMIN) as s:
        refused = [
            await call(s, "GET", f"{ORG}/actions/secrets"),
            await call(s, "GET", f"{ORG}/actions/secrets/public-key"),
            await call(s, "GET", f"{ORG}/dependabot/secrets/public-key"),
            await call(s, "GET", f"{ORG}/actions/secrets/ORG_S"),
            await call(s, "GET", f"{ORG}/actions/secrets/ORG_S/repositories"),
            await call(s, "PUT", f"{ORG}/actions/secrets/ORG_S/repositories/{api}"),
            await call(s, "DELETE", f"{ORG}/actions/secrets/ORG_S"),
            await put(s, f"{ORG}/actions", "ORG_NEW", b"v", visibility="all"),
        ]
        for status, body, _ in refused:
            assert (status, body["message"]) == (403, NOT_ACCESSIBLE)
        assert (await call(s, "GET", "/orgs/nope/actions/secrets"))[0] == 404
        assert (await call(s, "GET", f"{ORG}/repos"))[0] == 200
        assert (await call(s, "GET", f"{REPO}/actions/organization-secrets"))[0] == 200
        assert (await put(s, f"{REPO}/actions", "R", b"r"))[0] == 201
        assert (await put(s, f"{REPO}/dependabot", "D", b"d"))[0] == 201
        assert (await put(s, f"{REPO}/environments/production", "E", b"e"))[0] == 201
    assert hub.plaintext("E", repo="acme/api", env="production") == b"e"
    assert hub.secret_names(org="acme") == ["ORG_S"]
    assert validate_exchanges(hub.exchanges) == []


def test_cli_token_flags() -> None:
    """--read-only-token and --non-admin-token (repeatable) are accepted tokens with less
    power; --plain-links turns ID-based links off."""
    args = build_parser().parse_args(["--token", "t", "--read-only-token", "r1",
                                      "--read-only-token", "r2", "--non-admin-token", "n",
                                      "--plain-links"])
    hub = hub_from_args(args)
    principals = {t: hub._authenticate(t, app_jwt=False)[0] for t in ("t", "r1", "r2", "n")}
    assert {t: (p.read_only, p.org_admin) for t, p in principals.items() if p} == {
        "t": (False, True), "r1": (True, True), "r2": (True, True), "n": (False, False)}
    assert not hub.id_links


# --------------------------------------------------------------------------- ID-based links


async def follow(s: aiohttp.ClientSession, first: str, key: str | None) -> tuple[list[Any], list[str]]:
    """Every item across pages, following rel="next" as given; and the next URLs seen."""
    items: list[Any] = []
    nexts: list[str] = []
    url: str | None = first
    while url:
        status, body, headers = await call(s, "GET", url)
        assert status == 200, url
        items += body if key is None else body[key]
        url = None
        for part in headers.get("Link", "").split(","):
            if part.strip().endswith('rel="next"'):
                url = part.strip().split(";")[0].strip("<> ")
                nexts.append(url)
    return items, nexts


@pytest.mark.parametrize("prefix", ["", "/api/v3"])
async def test_pagination_links_name_orgs_and_repositories_by_id(prefix: str) -> None:
    """Listings link their next pages as GitHub does, /organizations/{org_id}/... and
    /repositories/{repo_id}/...; following those links reaches every item, with the same
    authentication and limits, and the exchanges validate against the description."""
    hub = make_hub()
    hub.add_repos("acme", 3, environments=())
    for name in ("A", "B", "C"):
        hub.set_secret(name, b"v", repo="acme/api")
        hub.set_secret(name, b"v", repo="acme/api", env="production")
        hub.set_secret(name, b"v", org="acme", visibility="all")
        hub.set_secret(name, b"v", repo="acme/api", app="dependabot")
    org_id, api_id = hub.org_id("acme"), hub.repo_id("acme/api")
    org_path, repo_path = f"{prefix}/organizations/{org_id}", f"{prefix}/repositories/{api_id}"
    cases = [
        (f"{ORG}/repos", None, 5, org_path + "/repos"),
        (f"{ORG}/actions/secrets", "secrets", 3, org_path + "/actions/secrets"),
        (f"{REPO}/actions/secrets", "secrets", 3, repo_path + "/actions/secrets"),
        (f"{REPO}/dependabot/secrets", "secrets", 3, repo_path + "/dependabot/secrets"),
        (f"{REPO}/environments", "environments", 2, repo_path + "/environments"),
        (f"{REPO}/environments/production/secrets", "secrets", 3,
         repo_path + "/environments/production/secrets"),
        (f"{REPO}/actions/organization-secrets", "secrets", 3,
         repo_path + "/actions/organization-secrets"),
    ]
    async with session(hub) as s:
        for path, key, total, id_path in cases:
            items, nexts = await follow(s, f"{prefix}{path}?per_page=1", key)
            assert len(items) == total, path
            assert len({str(i) for i in items}) == total
            assert nexts[0].startswith("http://127.0.0.1:")
            assert nexts[0].endswith(f"{id_path}?per_page=1&page=2"), nexts[0]
            assert all(id_path + "?" in n for n in nexts)
        used = int((await call(s, "GET", f"{REPO}"))[2]["x-ratelimit-used"])
    assert used == sum(total for _, _, total, _ in cases) + 1
    async with session(hub, "wrong") as s:
        assert (await call(s, "GET", f"{org_path}/repos?page=2"))[0] == 401
    async with session(hub, NON_ADMIN) as s:
        assert (await call(s, "GET", f"{org_path}/actions/secrets?page=2"))[0] == 403
    assert validate_exchanges(hub.exchanges) == []


async def test_id_paths_that_name_nothing_are_404_and_plain_links_stay_plain() -> None:
    """An id no organisation or repository has (or not of ASCII digits) is 404; with
    id_links=False the Link repeats the requested path."""
    hub = make_hub(id_links=False)
    hub.add_repos("acme", 3, environments=())
    async with session(hub) as s:
        for path in ("/organizations/1/repos", "/repositories/1/actions/secrets",
                     f"/organizations/{hub.org_id('acme')}/nope", "/organizations/x/repos",
                     "/repositories/%D9%A1%D9%A2/actions/secrets"):
            assert (await call(s, "GET", path))[0] == 404, path
        _, _, headers = await call(s, "GET", f"{ORG}/repos?per_page=1")
    assert f'{ORG}/repos?per_page=1&page=2>; rel="next"' in headers["Link"]


# --------------------------------------------------------------------------- smaller truths


async def test_writes_within_one_second_repeat_updated_at() -> None:
    """GitHub keeps seconds: two writes of a secret within one second carry the same
    updated_at (fakehub no longer moves it past the previous one)."""
    stamp = datetime(2026, 5, 6, 7, 8, 9, 100_000, tzinfo=UTC)
    hub = make_hub(clock=lambda: stamp)
    async with session(hub) as s:
        assert (await put(s, f"{REPO}/actions", "S", b"one"))[0] == 201
        first = hub.secret("S", repo="acme/api")
        assert (await put(s, f"{REPO}/actions", "S", b"two"))[0] == 204
        hub.set_secret("S", b"three", repo="acme/api")
    second = hub.secret("S", repo="acme/api")
    assert first is not None and second is not None
    assert first["updated_at"] == second["updated_at"] == "2026-05-06T07:08:09Z"


async def test_digits_of_other_scripts_are_not_numbers() -> None:
    """page=٢ or per_page=² is read as no number (page 1, 30 a page), as GitHub's Ruby reads
    it; an id written ١٢ names nothing (404); a string id ١٢ in a body is refused (422).
    Never a 500."""
    hub = make_hub()
    hub.add_repos("acme", 40, environments=())
    hub.set_secret("SEL", b"v", org="acme", selected=["api"])
    arabic_12 = "%D9%A1%D9%A2"
    async with session(hub) as s:
        _, page_one, _ = await call(s, "GET", f"{ORG}/repos")
        for query in ("page=%D9%A2", "page=%C2%B2", "per_page=%C2%B2", "per_page=%D9%A1"):
            status, body, _ = await call(s, "GET", f"{ORG}/repos?{query}")
            assert (status, [r["id"] for r in body]) == (200, [r["id"] for r in page_one]), query
        base = f"{ORG}/actions/secrets/SEL/repositories"
        assert (await call(s, "DELETE", f"{base}/{arabic_12}"))[0] == 404
        assert (await call(s, "PUT", f"{base}/%C2%B2"))[0] == 404
        assert (await call(s, "GET", f"/repositories/{arabic_12}/environments/x/secrets"))[0] == 404
        status, body, _ = await call(s, "PUT", base, json={"selected_repository_ids": ["١٢"]})
        assert status == 422
        status, _, _ = await put(s, f"{ORG}/actions", "SEL", b"v", visibility="selected",
                                 selected_repository_ids=["١٢"])
        assert status == 422
    assert all(e.status < 500 for e in hub.exchanges)


async def test_org_put_with_only_visibility_keeps_the_value() -> None:
    """The org PUT schema requires only `visibility`: without encrypted_value and key_id it
    changes who may read an existing secret and keeps its value (204); a secret that does
    not exist yet cannot be made without a value (422); half a value (key_id alone) is 422."""
    hub = make_hub()
    hub.set_secret("ORG_S", b"kept", org="acme", visibility="all")
    key_id = hub.secret("ORG_S", org="acme")["key_id"]  # type: ignore[index]
    web = hub.repo_id("acme/web")
    async with session(hub) as s:
        status, _, _ = await call(s, "PUT", f"{ORG}/actions/secrets/ORG_S",
                                  json={"visibility": "selected", "selected_repository_ids": [web]})
        assert status == 204
        status, body, _ = await call(s, "PUT", f"{ORG}/actions/secrets/NEW",
                                     json={"visibility": "all"})
        assert status == 422 and "encrypted_value" in body["message"]
        status, body, _ = await call(s, "PUT", f"{ORG}/actions/secrets/ORG_S",
                                     json={"visibility": "all", "key_id": key_id})
        assert status == 422 and "encrypted_value" in body["message"]
    described = hub.secret("ORG_S", org="acme")
    assert described is not None
    assert (described["visibility"], described["selected_repository_ids"]) == ("selected", [web])
    assert described["key_id"] == key_id
    assert hub.plaintext("ORG_S", org="acme") == b"kept"
    assert hub.secret("NEW", org="acme") is None
    assert validate_exchanges(hub.exchanges) == []


async def test_removing_a_repository_that_is_not_selected_is_204() -> None:
    """DELETE .../repositories/{repository_id} of a repository not in the selection (or one
    that does not exist) answers 204, the only success the description documents, and
    leaves the selection as it was."""
    hub = make_hub()
    api, web = hub.repo_id("acme/api"), hub.repo_id("acme/web")
    hub.set_secret("SEL", b"v", org="acme", selected=["api"])
    base = f"{ORG}/actions/secrets/SEL/repositories"
    async with session(hub) as s:
        assert (await call(s, "DELETE", f"{base}/{web}"))[0] == 204
        assert (await call(s, "DELETE", f"{base}/999999999"))[0] == 204
        assert (await call(s, "DELETE", f"{ORG}/codespaces/secrets/NOPE/repositories/{web}")
                )[0] == 404
    assert hub.secret("SEL", org="acme")["selected_repository_ids"] == [api]  # type: ignore[index]
    assert validate_exchanges(hub.exchanges) == []


async def test_every_answer_carries_a_request_id() -> None:
    """x-github-request-id on successes, errors, refusals and unmatched paths, each its own."""
    hub = make_hub()
    async with session(hub) as s:
        answers = [await call(s, "GET", REPO), await call(s, "GET", "/nope"),
                   await call(s, "PUT", f"{REPO}/actions/secrets/X", data=b"{not json")]
    async with session(hub, None) as s:
        answers.append(await call(s, "GET", REPO))
    assert [a[0] for a in answers] == [200, 404, 400, 401]
    ids = [a[2]["x-github-request-id"] for a in answers]
    assert len(set(ids)) == len(ids) and all(ids)
