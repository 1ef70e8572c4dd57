"""Everything fakehub answers conforms to GitHub's OpenAPI description."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
import pytest
from nacl.public import PublicKey, SealedBox
from openapi_check import openapi_to_jsonschema, validate_exchanges

from syncer.fakehub import Exchange, FakeHub, Faults, Limits
from syncer.fakehub.api import build_routes

TOKEN = "tok"


def seal(key_b64: str, value: bytes) -> str:
    box = SealedBox(PublicKey(base64.b64decode(key_b64)))
    return base64.b64encode(box.encrypt(value)).decode()


class Driver:
    """Plain aiohttp requests; every answer body is read so the exchange is complete."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.s = session

    async def call(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        async with self.s.request(method, path, **kw) as r:
            raw = await r.read()
            return r.status, (await r.json() if raw else None)

    async def put_secret(self, base: str, name: str, value: bytes, **extra: Any) -> int:
        _, key = await self.call("GET", f"{base}/secrets/public-key")
        body = {"encrypted_value": seal(key["key"], value), "key_id": key["key_id"], **extra}
        status, _ = await self.call("PUT", f"{base}/secrets/{name}", json=body)
        return status


async def drive_everything(d: Driver, hub: FakeHub) -> None:
    api, web = hub.repo_id("acme/api"), hub.repo_id("acme/web")
    for prefix in ("", "/api/v3"):
        for app in ("actions", "dependabot", "codespaces", "agents"):
            if prefix and app in ("codespaces", "agents"):  # github.com only
                continue
            org = f"{prefix}/orgs/acme/{app}"
            repo = f"{prefix}/repos/acme/api/{app}"
            assert await d.put_secret(org, "ORG_S", b"v", visibility="selected",
                                      selected_repository_ids=[api]) == 201
            assert await d.put_secret(org, "ORG_S", b"w", visibility="all") == 204
            ids: list[int | str] = [api] if app in ("codespaces", "agents") else [str(api)]
            assert await d.put_secret(org, "ORG_SEL", b"v", visibility="selected",
                                      selected_repository_ids=ids) == 201
            await d.call("GET", f"{org}/secrets?per_page=1")
            await d.call("GET", f"{org}/secrets/ORG_S")
            await d.call("GET", f"{org}/secrets/ORG_SEL")
            await d.call("GET", f"{org}/secrets/ORG_SEL/repositories")
            await d.call("PUT", f"{org}/secrets/ORG_SEL/repositories",
                         json={"selected_repository_ids": [api, web]})
            await d.call("DELETE", f"{org}/secrets/ORG_SEL/repositories/{web}")
            await d.call("PUT", f"{org}/secrets/ORG_SEL/repositories/{web}")
            await d.call("PUT", f"{org}/secrets/ORG_S/repositories/{web}")  # 409
            await d.call("DELETE", f"{org}/secrets/ORG_S")
            await d.call("GET", f"{org}/secrets/ORG_S")  # 404
            assert await d.put_secret(repo, "REPO_S", b"v") == 201
            assert await d.put_secret(repo, "REPO_S", b"w") == 204
            await d.call("GET", f"{repo}/secrets")
            await d.call("GET", f"{repo}/secrets/REPO_S")
            await d.call("DELETE", f"{repo}/secrets/REPO_S")
            await d.call("PUT", f"{repo}/secrets/1BAD", json={"encrypted_value": "AAAA",
                                                               "key_id": "1"})  # 422
            await d.call("DELETE", f"{org}/secrets/ORG_SEL")
        env = f"{prefix}/repos/acme/api/environments/production"
        legacy = f"{prefix}/repositories/{api}/environments/staging"
        for base in (env, legacy):
            assert await d.put_secret(base, "ENV_S", b"v") == 201
            assert await d.put_secret(base, "ENV_S", b"w") == 204
            await d.call("GET", f"{base}/secrets")
            await d.call("GET", f"{base}/secrets/ENV_S")
            await d.call("DELETE", f"{base}/secrets/ENV_S")
        await d.call("PUT", f"{env}/secrets/X", json={"encrypted_value": "AAAA"})  # 422
        await d.call("GET", f"{prefix}/repos/acme/api/actions/organization-secrets")
        if not prefix:
            await d.call("GET", "/repos/acme/api/agents/organization-secrets")
        await d.call("GET", f"{prefix}/orgs/acme/repos?per_page=1&type=private")
        await d.call("GET", f"{prefix}/orgs/acme/repos?sort=full_name")
        await d.call("GET", f"{prefix}/repos/acme/api")
        await d.call("GET", f"{prefix}/repos/acme/nope")  # 404
        await d.call("GET", f"{prefix}/repos/acme/api/environments")
        await d.call("GET", f"{prefix}/rate_limit")
    async with d.s.get("/repos/acme/api/actions/secrets/public-key") as r:
        tag = r.headers["ETag"]
    await d.call("GET", "/repos/acme/api/actions/secrets/public-key",
                 headers={"If-None-Match": tag})  # 304
    await d.call("GET", "/repos/acme/old")
    query = 'query { a: repository(owner: "acme", name: "api") { databaseId } }'
    await d.call("POST", "/graphql", json={"query": query})
    await d.call("GET", "/orgs/acme/repos", headers={"Authorization": "Bearer wrong"})  # 401
    await d.call("GET", "/user/orgs?per_page=1")  # the orgs of the token's user


@pytest.mark.anyio
async def test_every_endpoint_conforms_to_the_openapi_description() -> None:
    """Driving every secrets route fakehub serves (Actions, Dependabot, Codespaces and
    agents; success and error answers) with record=True produces only exchanges that
    validate against the github.com OpenAPI description."""
    hub = FakeHub(tokens=(TOKEN,), record=True, limits=Limits(primary_limit=100_000))
    hub.add_repo("acme", "api", environments=("production", "staging"))
    hub.add_repo("acme", "web", private=False, topics=("python",), environments=())
    hub.add_repo("acme", "old", archived=True, fork=True)
    async with hub.serve() as url, aiohttp.ClientSession(
        url, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as session:
        await drive_everything(Driver(session), hub)
    exchanges = hub.exchanges
    assert validate_exchanges(exchanges) == []
    served = {(r.method, r.template) for r in build_routes()}
    seen = {(e.method, e.template) for e in exchanges}
    assert served <= seen, served - seen
    statuses = {e.status for e in exchanges}
    assert {200, 201, 204, 304, 401, 404, 409, 422} <= statuses


@pytest.mark.anyio
async def test_fault_and_limit_answers_have_githubs_error_shape() -> None:
    """5xx faults and rate-limit 403s are error bodies GitHub's clients can read."""
    hub = FakeHub(tokens=(TOKEN,), record=True, faults=Faults(error_rate=1.0))
    hub.add_repo("acme", "api")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with hub.serve() as url, aiohttp.ClientSession(url, headers=headers) as s:
        d = Driver(s)
        await d.call("GET", "/repos/acme/api")
        hub.faults = Faults()
        hub.limits = Limits(primary_limit=1, primary_remaining=0)
        await d.call("GET", "/repos/acme/api")
    assert [e.status for e in hub.exchanges][-1] == 403
    assert validate_exchanges(hub.exchanges) == []


def _exchange(template: str, status: int, response: Any, method: str = "GET",
              request: Any = None) -> Exchange:
    return Exchange(method, template, template, {}, request, status, {}, response)


def test_validator_catches_bad_responses() -> None:
    """The validator is not a rubber stamp: wrong shapes, undocumented statuses and
    non-nullable nulls are reported."""
    listing = "/repos/{owner}/{repo}/actions/secrets"
    good = _exchange(listing, 200, {"total_count": 0, "secrets": []})
    assert validate_exchanges([good]) == []
    bad = [
        _exchange(listing, 200, {"secrets": []}),  # total_count missing
        _exchange(listing, 200, {"total_count": "1", "secrets": []}),  # wrong type
        _exchange(listing, 201, {}),  # undocumented success status
        _exchange("/repos/{owner}/{repo}/actions/secrets/public-key", 200, {"key_id": None,
                                                                             "key": "k"}),
        _exchange("/orgs/{org}/actions/secrets/{secret_name}", 200,
                  {"name": "N", "created_at": "x", "updated_at": "y", "visibility": "some"}),
        _exchange("/repos/{owner}/{repo}/actions/secrets/{secret_name}", 201,
                  {"unexpected": 1}, method="PUT"),  # Empty Object forbids properties
        _exchange("/repos/{owner}/{repo}", 404, {"msg": "nope"}),  # not an error shape
        _exchange("/repos/{owner}/{repo}/actions/secrets/{secret_name}", 204, None,
                  method="PUT", request={"key_id": "1"}),  # request lacks encrypted_value
        _exchange("/not/in/the/description", 200, {}),
    ]
    for exchange in bad:
        assert validate_exchanges([exchange]), exchange


def test_nullable_translation() -> None:
    """OpenAPI `nullable` becomes a null type (or anyOf null); `format` is dropped but a
    property named `format` is kept."""
    schema = openapi_to_jsonschema(
        {
            "type": "object",
            "properties": {
                "a": {"type": "string", "nullable": True, "format": "uri"},
                "b": {"enum": ["x"], "type": "string", "nullable": True},
                "c": {"allOf": [{"type": "object"}], "nullable": True},
                "format": {"type": "string"},
            },
        }
    )
    props = schema["properties"]
    assert props["a"] == {"type": ["string", "null"]}
    assert props["b"]["enum"] == ["x", None]
    assert props["c"] == {"anyOf": [{"allOf": [{"type": "object"}]}, {"type": "null"}]}
    assert props["format"] == {"type": "string"}
