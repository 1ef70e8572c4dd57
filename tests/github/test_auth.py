"""Authentication: the token chain (env, gh), GitHub App JWTs and installation tokens, both
sides: fakehub verifying like GitHub, and syncer's AppInstallationToken driving a real run over
loopback. No HTTP mocking: every request crosses a socket to fakehub."""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import jwt
import pytest
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from helpers import APP_ID, Keys, app_hub, app_keys, fake_gh_dir
from openapi_check import validate_exchanges

from syncer.config.model import AppAuth, GitHubConfig
from syncer.core.model import Action, Op, Outcome, Result, Scope, SecretValue
from syncer.execution.connect import Settings, connect
from syncer.execution.credentials import find_token, token_source_for
from syncer.exits import AuthError, UsageError
from syncer.fakehub import Faults, Limits
from syncer.fakehub.api import build_app_routes
from syncer.fakehub.apps import EXP_NOT_FUTURE, EXP_TOO_FAR, IAT_INVALID, UNDECODABLE
from syncer.github import auth, errors, sansio
from syncer.github.auth import AppInstallationToken
from syncer.github.org_tokens import InstallationTokens, acting_for
from syncer.observe import logs, redact
from syncer.sources import Source

UA = {"User-Agent": "test-auth"}
FAKE_GH_TOKEN = "gho_fakeGhCliToken0123456789"


# ---------------------------------------------------------------------------------------------
# Keys, clocks, servers


@pytest.fixture(scope="module")
def other_keys() -> Keys:
    return app_keys()


class FakeClock:
    """One clock for fakehub (datetime) and the token source (epoch seconds)."""

    def __init__(self) -> None:
        self.t = float(int(time.time()))

    def utc(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)

    def epoch(self) -> float:
        return self.t


def make_jwt(keys: Keys, now: float | None = None, **claims: Any) -> str:
    """An App JWT as GitHub documents it, with `claims` replaced (None: left out). Signed
    as JWS so that claims PyJWT would refuse to encode (a numeric iss) can be tried too."""
    now = time.time() if now is None else now
    payload: dict[str, Any] = {"iat": int(now) - 60, "exp": int(now) + 540, "iss": str(APP_ID)}
    payload.update(claims)
    body = json.dumps({k: v for k, v in payload.items() if v is not None}).encode()
    return jwt.api_jws.encode(body, keys.key, algorithm="RS256", headers={"typ": "JWT"})


@asynccontextmanager
async def session_at(url: str) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(url, headers=UA) as session:
        yield session


async def call(s: aiohttp.ClientSession, method: str, path: str, bearer: str,
               **kw: Any) -> tuple[int, Any]:
    async with s.request(method, path, headers={"Authorization": f"Bearer {bearer}"},
                         **kw) as r:
        raw = await r.read()
        return r.status, (await r.json() if raw else None)


def put_actions(repos: list[tuple[str, str, int]], name: str = "DEPLOY") -> list[Action]:
    return [Action(Op.PUT, Scope.of_repo(org, repo, "actions", repo_id), name)
            for org, repo, repo_id in repos]


async def all_repos(run: Any, org: str) -> list[tuple[str, str, int]]:
    return [(org, r.name, r.id) async for r in run.api.org_repos(org)]


# ---------------------------------------------------------------------------------------------
# The token chain: --token-env, GITHUB_TOKEN, GH_TOKEN, then gh auth token


@pytest.fixture
def fake_gh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A `gh` first on PATH that records its arguments and prints a padded token."""
    log = tmp_path / "gh-args"
    bin_dir = fake_gh_dir(tmp_path, f'echo "$@" >> {log}\nprintf "  {FAKE_GH_TOKEN}  \\n"')
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    yield log


def env_with(**variables: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], **variables}


@pytest.mark.parametrize("token_env,variables,expected", [
    ("MY_TOKEN", {"MY_TOKEN": "from-token-env", "GITHUB_TOKEN": "gh-token", "GH_TOKEN": "gh2"},
     "from-token-env"),
    (None, {"GITHUB_TOKEN": "github-token", "GH_TOKEN": "gh-token"}, "github-token"),
    (None, {"GITHUB_TOKEN": "  ", "GH_TOKEN": "gh-token-var"}, "gh-token-var"),
    (None, {"GH_TOKEN": " padded-gh-token \n"}, "padded-gh-token"),
])
def test_environment_variables_come_first_in_order_and_gh_is_not_run(
        fake_gh: Path, token_env: str | None, variables: dict[str, str], expected: str) -> None:
    """--token-env's variable, else GITHUB_TOKEN, then GH_TOKEN (blank ones skipped, values
    stripped); while any holds a token, gh is never run."""
    token = find_token(token_env, env_with(**variables), api_url="https://api.github.com")
    assert token == expected
    assert not fake_gh.exists()


def test_a_named_variable_that_is_unset_never_falls_back(fake_gh: Path) -> None:
    """A variable named on purpose (--token-env, --to-token-env, token_env) that is empty is an
    AuthError naming it: no other token is used, since it may belong to another host."""
    with pytest.raises(AuthError, match="OTHER_HOST_TOKEN, named by --token-env or token_env, "
                       "is unset or empty"):
        find_token("OTHER_HOST_TOKEN", env_with(GITHUB_TOKEN="not-for-that-host"),
                   api_url="https://ghe.example.com/api/v3")
    assert not fake_gh.exists()


@pytest.mark.parametrize("variable", ["GITHUB_TOKEN", "MY_TOKEN"])
def test_a_token_with_a_line_break_is_refused_in_one_line(variable: str) -> None:
    """Two values pasted into one variable: AuthError (exit 3) instead of the HTTP library's
    traceback when the header is built; the token is not shown."""
    with pytest.raises(AuthError, match="line break") as refused:
        find_token("MY_TOKEN" if variable == "MY_TOKEN" else None,
                   env_with(**{variable: "ghp_first\nsecond-line"}))
    assert "first" not in str(refused.value) and "second" not in str(refused.value)


def test_a_missing_token_points_at_what_this_command_takes() -> None:
    """The error names the option that named the variable, and the App flags only where the
    command has them (set: --app-id; plan/apply: [github.app]; migrate: none)."""
    with pytest.raises(AuthError, match="SRC_TOKEN, named by --from-token-env, is unset"):
        find_token("SRC_TOKEN", env_with(), named_by="--from-token-env")
    # a name that may be the token itself (--token-env $TOKEN) is not repeated
    with pytest.raises(AuthError, match="variable named by --from-token-env is unset") as named:
        find_token("tok3nValue9", env_with(), named_by="--from-token-env")
    assert "tok3nValue9" not in str(named.value)
    with pytest.raises(AuthError) as for_set:
        find_token(None, env_with(), app_hint="use a GitHub App with --app-id and --app-key")
    assert str(for_set.value).endswith("Set one of those variables or use a GitHub App with "
                                       "--app-id and --app-key")
    with pytest.raises(AuthError) as for_migrate:
        find_token(None, env_with(), app_hint=None)
    assert str(for_migrate.value).endswith("Set one of those variables")


def test_gh_auth_token_is_the_last_resort(fake_gh: Path) -> None:
    """With no variable set, `gh auth token --hostname github.com` (first gh on PATH) gives the
    token, stripped, and it is registered for redaction from then on."""
    token = find_token(None, env_with(), api_url="https://api.github.com")
    assert token == FAKE_GH_TOKEN
    assert fake_gh.read_text().split() == ["auth", "token", "--hostname", "github.com"]
    assert redact.scrub(f"x {FAKE_GH_TOKEN} y") == f"x {redact.MASK} y"


def test_gh_is_asked_for_the_host_of_the_api_url(fake_gh: Path) -> None:
    """gh is asked for the Enterprise Server host, never for github.com's token, when the API
    is elsewhere: a token must not travel to a host it was not issued for."""
    find_token(None, env_with(), api_url="https://ghe.example.com/api/v3")
    assert fake_gh.read_text().split()[-1] == "ghe.example.com"


def test_without_an_api_url_gh_is_not_consulted(fake_gh: Path) -> None:
    """find_token (the host unknown) tries the variables only, and says so."""
    with pytest.raises(AuthError) as caught:
        find_token(None, env_with())
    assert not fake_gh.exists()
    assert "GITHUB_TOKEN and GH_TOKEN are unset or empty" in str(caught.value)


@pytest.mark.parametrize("script,problem", [
    ("exit 1", "gh is not logged in to github.com"),
    ("exit 0", "printed no token"),
    ("sleep 10", "did not answer within 0.3 s"),
])
def test_no_token_anywhere_names_every_source(tmp_path: Path, script: str,
                                              problem: str) -> None:
    """When nothing has a token: AuthError (exit 3) naming GITHUB_TOKEN, GH_TOKEN and gh
    (with why gh gave none), in one line; a hanging gh is abandoned after the timeout."""
    bin_dir = fake_gh_dir(tmp_path, script)
    started = time.monotonic()
    with pytest.raises(AuthError) as caught:
        find_token(None, {"PATH": f"{bin_dir}{os.pathsep}/usr/bin:/bin"},
                   api_url="https://api.github.com", gh_timeout=0.3)
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert AuthError.exit_code == 3 and "\n" not in message
    for name in ("GITHUB_TOKEN", "GH_TOKEN",
                 "gh auth token --hostname github.com", problem, "gh auth login"):
        assert name in message


def test_gh_not_installed_is_said(tmp_path: Path) -> None:
    """Without gh on PATH the message says gh is not installed."""
    with pytest.raises(AuthError, match="gh is not installed"):
        find_token(None, {"PATH": str(tmp_path)}, api_url="https://api.github.com")


@pytest.mark.parametrize("api_url,host", [
    ("https://api.github.com", "github.com"),
    ("https://ghe.example.com/api/v3", "ghe.example.com"),
    ("https://api.octo.ghe.com", "octo.ghe.com"),
    ("http://127.0.0.1:8080", "127.0.0.1:8080"),
])
def test_gh_hostname(api_url: str, host: str) -> None:
    """The host gh files a token under, for github.com, Enterprise Server, GHE.com, fakehub."""
    from syncer.github import local_tokens as auth

    assert auth.gh_hostname(api_url) == host


# ---------------------------------------------------------------------------------------------
# fakehub: GitHub's App endpoints and checks


@pytest.mark.anyio
async def test_app_endpoints_conform_to_the_openapi_description(keys: Keys) -> None:
    """Driving every App route (successes and refusals) with record=True gives only exchanges
    that validate against the OpenAPI description, and the installation token then works for
    the secrets endpoints of its org."""
    hub = app_hub(keys, "acme", "beta", record=True)
    hub.add_org("nobody")
    hub.register_app(7, app_keys().public_pem)
    other_installation = hub.add_installation("nobody", 7)
    async with hub.serve() as url, session_at(url) as s:
        token = make_jwt(keys)
        status, listed = await call(s, "GET", "/app/installations?per_page=1", token)
        assert status == 200 and len(listed) == 1
        status, both = await call(s, "GET", "/app/installations", token)
        assert status == 200 and [i["account"]["login"] for i in both] == ["acme", "beta"]
        status, found = await call(s, "GET", "/orgs/ACME/installation", token)
        assert status == 200 and found["app_id"] == APP_ID and found["id"] == both[0]["id"]
        assert found["access_tokens_url"].endswith(f"/app/installations/{found['id']}/access_tokens")
        assert (await call(s, "GET", "/orgs/nobody/installation", token))[0] == 404
        assert (await call(s, "GET", "/api/v3/orgs/acme/installation", token))[0] == 200
        status, issued = await call(s, "POST", found["access_tokens_url"].removeprefix(url), token)
        assert status == 201 and issued["token"].startswith("ghs_")
        assert issued["expires_at"].endswith("Z")
        path = f"/app/installations/{other_installation}/access_tokens"
        assert (await call(s, "POST", path, token))[0] == 404  # another App's installation
        narrowing = await call(s, "POST", f"/app/installations/{found['id']}/access_tokens",
                               token, json={"repositories": ["repo-0001"]})
        assert narrowing[0] == 422
        assert (await call(s, "GET", "/app/installations", "ghp_notajwt"))[0] == 401
        assert (await call(s, "GET", "/orgs/acme/installation", make_jwt(keys, exp=1)))[0] == 401
        installation_token = issued["token"]
        assert (await call(s, "GET", "/orgs/acme/repos", installation_token))[0] == 200
        key_status, key = await call(s, "GET", "/repos/acme/repo-0001/actions/secrets/public-key",
                                     installation_token)
        assert key_status == 200 and key["key_id"]
        assert (await call(s, "GET", "/orgs/acme/actions/secrets", installation_token))[0] == 200
    assert validate_exchanges(hub.exchanges) == []
    served = {(r.method, r.template) for r in build_app_routes()}
    assert served <= {(e.method, e.template) for e in hub.exchanges}


@pytest.mark.anyio
@pytest.mark.parametrize("case,message", [
    ("signed with another key", UNDECODABLE),
    ("unknown app id", UNDECODABLE),
    ("not a JWT (a PAT)", UNDECODABLE),
    ("HS256", UNDECODABLE),
    ("exp more than 10 minutes ahead", EXP_TOO_FAR),
    ("exp in the past", EXP_NOT_FUTURE),
    ("no exp", EXP_NOT_FUTURE),
    ("iat in the future", IAT_INVALID),
    ("iat not an integer", IAT_INVALID),
])
async def test_refused_jwts_get_githubs_401_messages(keys: Keys, other_keys: Keys, case: str,
                                                     message: str) -> None:
    """A JWT with a bad signature, an unknown issuer, an exp over 10 minutes ahead or past,
    or an iat in the future is answered 401 with the message GitHub gives."""
    now = time.time()
    token = {
        "signed with another key": make_jwt(other_keys),
        "unknown app id": make_jwt(keys, iss="999"),
        "not a JWT (a PAT)": "ghp_0123456789abcdef",
        "HS256": jwt.encode({"iat": int(now) - 60, "exp": int(now) + 300, "iss": str(APP_ID)},
                            "shared-secret-of-32-bytes-or-more!", algorithm="HS256"),
        "exp more than 10 minutes ahead": make_jwt(keys, exp=int(now) + 660),
        "exp in the past": make_jwt(keys, iat=int(now) - 700, exp=int(now) - 5),
        "no exp": make_jwt(keys, exp=None),
        "iat in the future": make_jwt(keys, iat=int(now) + 300, exp=int(now) + 500),
        "iat not an integer": make_jwt(keys, iat="yesterday"),
    }[case]
    hub = app_hub(keys)
    async with hub.serve() as url, session_at(url) as s:
        status, body = await call(s, "GET", "/orgs/acme/installation", token)
    assert (status, body["message"]) == (401, message)


@pytest.mark.parametrize("message,times", [
    (EXP_TOO_FAR, True), (EXP_NOT_FUTURE, True), (IAT_INVALID, True),
    (UNDECODABLE, False), ("Bad credentials", False),
])
def test_a_jwt_refused_for_its_times_is_its_own_error_type(message: str, times: bool) -> None:
    """GitHub's 401 for a JWT's iat or exp is deciphered once into JWTTimesRefused (an
    AuthFailed), which the App token source branches on to sign again on GitHub's clock; any
    other 401 stays a plain AuthFailed."""
    error = sansio.error_for(401, {}, {"message": message}, method="GET", path="/app")
    assert isinstance(error, errors.AuthFailed)
    assert isinstance(error, errors.JWTTimesRefused) is times


@pytest.mark.anyio
async def test_the_app_id_as_number_or_client_id_is_accepted(keys: Keys) -> None:
    """iss may be the App ID as a string or a number, or the App's client ID (GitHub accepts
    both since 2024)."""
    hub = app_hub(keys)
    async with hub.serve() as url, session_at(url) as s:
        status, found = await call(s, "GET", "/orgs/acme/installation", make_jwt(keys))
        assert status == 200
        for iss in (APP_ID, found["client_id"]):
            assert (await call(s, "GET", "/app/installations", make_jwt(keys, iss=iss)))[0] == 200


@pytest.mark.anyio
async def test_installation_tokens_expire_into_bad_credentials(keys: Keys) -> None:
    """An installation token works until expires_at (the issue time + installation_token_ttl)
    and is then answered 401 Bad credentials, as GitHub does after its hour."""
    clock = FakeClock()
    hub = app_hub(keys, clock=clock.utc, installation_token_ttl=3600)
    async with hub.serve() as url, session_at(url) as s:
        installation = (await call(s, "GET", "/orgs/acme/installation", make_jwt(keys, clock.t)))[1]
        status, issued = await call(s, "POST", f"/app/installations/{installation['id']}/"
                                    "access_tokens", make_jwt(keys, clock.t))
        assert status == 201
        assert issued["expires_at"] == datetime.fromtimestamp(clock.t + 3600, UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ")
        clock.t += 3599
        assert (await call(s, "GET", "/orgs/acme/repos", issued["token"]))[0] == 200
        clock.t += 1
        status, body = await call(s, "GET", "/orgs/acme/repos", issued["token"])
    assert (status, body["message"]) == (401, "Bad credentials")


@pytest.mark.anyio
async def test_an_installation_token_acts_in_its_own_org_only(keys: Keys) -> None:
    """acme's installation token: acme's repositories and org secrets yes; beta's org-level
    endpoints 403 Resource not accessible by integration, beta's repositories 404."""
    hub = app_hub(keys, "acme", limits=Limits())  # GitHub's limits: /rate_limit answers 200
    hub.add_repos("beta", 2, environments=())
    hub.add_org("gamma")
    async with hub.serve() as url, session_at(url) as s:
        source = AppInstallationToken(url, APP_ID, keys.private_pem, "acme")
        async with source:
            token = await source.token()
        assert (await call(s, "GET", "/repos/acme/repo-0001", token))[0] == 200
        status, body = await call(s, "GET", "/orgs/beta/actions/secrets", token)
        assert (status, body["message"]) == (403, "Resource not accessible by integration")
        assert (await call(s, "GET", "/repos/beta/repo-0001/actions/secrets", token))[0] == 404
        assert (await call(s, "GET", f"/repositories/{hub.repo_id('beta/repo-0001')}"
                           "/environments/production/secrets", token))[0] == 404
        assert (await call(s, "GET", "/orgs/nope/repos", token))[0] == 404
        assert (await call(s, "GET", "/rate_limit", token))[0] == 200


@pytest.mark.anyio
async def test_rate_limit_budget_belongs_to_the_installation(keys: Keys) -> None:
    """The primary budget is the installation's: a new installation token does not start a
    fresh one (x-ratelimit-remaining carries on across tokens)."""
    hub = app_hub(keys, limits=Limits(primary_limit=10))
    async with hub.serve() as url, session_at(url) as s:
        source = AppInstallationToken(url, APP_ID, keys.private_pem, "acme")
        async with source:
            first = await source.token()
            async with s.get("/orgs/acme/repos", headers={"Authorization": f"Bearer {first}"}) as r:
                before = int(r.headers["x-ratelimit-remaining"])
            await source.renew(first)
            second = await source.token()
        assert second != first
        async with s.get("/orgs/acme/repos", headers={"Authorization": f"Bearer {second}"}) as r:
            assert int(r.headers["x-ratelimit-remaining"]) == before - 1


# ---------------------------------------------------------------------------------------------
# AppInstallationToken against fakehub


def test_the_jwt_is_rs256_with_the_app_id_as_iss_iat_back_and_exp_within_ten_minutes(
        keys: Keys) -> None:
    """The App JWT: RS256, iss the App ID as a string, iat 60 s in the past, exp 9 minutes
    ahead (GitHub allows at most 10)."""
    source = AppInstallationToken("https://api.github.com", APP_ID, keys.private_pem, "acme",
                                  clock=lambda: 1_800_000_000.5)
    token = source.jwt()
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(token, keys.public_pem, algorithms=["RS256"],
                        options={"verify_exp": False, "verify_iat": False})
    assert claims == {"iss": str(APP_ID), "iat": 1_800_000_000 - 60, "exp": 1_800_000_000 + 540}
    assert repr(source) == f"AppInstallationToken(app_id={APP_ID}, org='acme')"


@pytest.mark.parametrize("pem,problem", [
    ("not a key at all", "not a PEM private key"),
    ("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
     "not a PEM private key"),
    ("ec", "not an RSA key"),
])
def test_an_unusable_private_key_is_refused_without_quoting_it(pem: str, problem: str) -> None:
    """A private key that is not PEM, or not RSA, is an AppKeyError whose message quotes no
    part of it."""
    if pem == "ec":
        pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()
    with pytest.raises(auth.AppKeyError, match=problem) as caught:
        AppInstallationToken("https://api.github.com", APP_ID, pem, "acme")
    body = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    assert not any(part in str(caught.value) for part in body)


@pytest.mark.anyio
async def test_concurrent_callers_share_one_exchange(keys: Keys) -> None:
    """Fifty tasks asking for the first token at once cause one installation lookup and one
    exchange, and all get the same token."""
    hub = app_hub(keys)
    got: list[str] = []
    async with hub.serve() as url, AppInstallationToken(url, APP_ID, keys.private_pem,
                                                         "acme") as source:
        async def ask() -> None:
            got.append(await source.token())

        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(ask)
    assert len(got) == 50 and len(set(got)) == 1
    assert hub.count("GET", "/orgs/{org}/installation") == 1
    assert hub.count("POST", "/app/installations/{installation_id}/access_tokens") == 1


@pytest.mark.anyio
async def test_callers_waiting_on_a_failed_exchange_share_its_error(keys: Keys) -> None:
    """When the exchange everyone waits on fails (GitHub answers 500), the waiters get that
    error instead of each sending another request; the retry policy decides what comes next."""
    hub = app_hub(keys, faults=Faults(error_rate=1.0))
    failures: list[BaseException] = []
    async with hub.serve() as url, AppInstallationToken(url, APP_ID, keys.private_pem,
                                                         "acme") as source:
        async def ask() -> None:
            try:
                await source.token()
            except errors.ServerError as exc:
                failures.append(exc)

        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(ask)
        hub.faults = Faults()
        token = await source.token()
    assert len(failures) == 10 and hub.count("GET", "/orgs/{org}/installation") == 2
    assert token.startswith("ghs_")


@pytest.mark.anyio
async def test_the_token_is_refreshed_when_less_than_five_minutes_are_left(keys: Keys) -> None:
    """The same token is handed out until five minutes before its hour is up; then one new
    exchange (the installation id is remembered, not looked up again)."""
    clock = FakeClock()
    hub = app_hub(keys, clock=clock.utc)
    exchanges = "/app/installations/{installation_id}/access_tokens"
    async with hub.serve() as url, AppInstallationToken(url, APP_ID, keys.private_pem, "acme",
                                    clock=clock.epoch) as source:
        first = await source.token()
        clock.t += 3600 - 301
        assert await source.token() == first
        clock.t += 2
        second = await source.token()
        assert second != first and await source.token() == second
    assert hub.count("POST", exchanges) == 2
    assert hub.count("GET", "/orgs/{org}/installation") == 1


@pytest.mark.anyio
async def test_renew_after_a_401_exchanges_once_for_all_who_saw_it(keys: Keys) -> None:
    """renew(rejected) exchanges at once even though the token is not due; callers renewing
    the same rejected token afterwards get True without another exchange."""
    hub = app_hub(keys)
    async with hub.serve() as url, AppInstallationToken(url, APP_ID, keys.private_pem,
                                                         "acme") as source:
        first = await source.token()
        hub.revoke_token(first)
        results: list[bool] = []

        async def renew() -> None:
            results.append(await source.renew(first))

        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(renew)
        second = await source.token()
    assert results == [True] * 10 and second != first
    assert hub.count("POST", "/app/installations/{installation_id}/access_tokens") == 2


@pytest.mark.anyio
async def test_a_configured_installation_id_skips_the_lookup(keys: Keys) -> None:
    """With installation_id the JWT goes straight to the exchange; GET /orgs/{org}/installation
    is never sent."""
    hub = app_hub(keys)
    installation = hub.add_installation("other", APP_ID)
    async with hub.serve() as url, AppInstallationToken(url, APP_ID, keys.private_pem, "other",
                                    installation_id=installation) as source:
        await source.token()
    assert hub.count("GET", "/orgs/{org}/installation") == 0
    assert hub.count("POST") == 1


@pytest.mark.anyio
@pytest.mark.parametrize("setup,expected", [
    ("not installed", f"GitHub App {APP_ID} is not installed on organisation beta"),
    ("wrong key", (f"GitHub refused GitHub App {APP_ID}'s JWT (A JSON web token could not be "
                   "decoded); check that the App id and private key (app_id and private_key, "
                   "or --app-id and --app-key) belong to the same App")),
    ("wrong installation id", f"GitHub App {APP_ID} has no installation 1"),
])
async def test_a_wrong_app_setup_is_an_auth_error_before_any_work(
        keys: Keys, other_keys: Keys, setup: str, expected: str) -> None:
    """connect() gets the first token up front: an App not installed on the org, a key that is
    not the App's, or a wrong installation_id is an AuthError (exit 3) saying what to check,
    naming no credential, before any secrets request."""
    hub = app_hub(keys)
    hub.add_repos("beta", 1)
    key = other_keys if setup == "wrong key" else keys
    org = "beta" if setup == "not installed" else "acme"
    installation_id = 1 if setup == "wrong installation id" else None
    async with hub.serve() as url:
        source = AppInstallationToken(url, APP_ID, key.private_pem, org, installation_id)
        with pytest.raises(AuthError) as caught:
            async with connect(Settings(api_url=url, points_per_minute=0), source):
                raise AssertionError("connect should have failed")
    message = str(caught.value)
    assert expected in message and "\n" not in message
    assert "ey" not in message.replace("key", "")  # no JWT (they start with "ey")
    assert hub.count() == hub.count("GET", "/orgs/{org}/installation") + hub.count("POST")


@pytest.mark.anyio
async def test_a_clock_running_ahead_is_corrected_from_githubs_date(keys: Keys) -> None:
    """Our clock 30 minutes ahead: GitHub refuses the first JWT (exp too far in the future);
    the source takes GitHub's time from the Date header, signs again and gets its token, and
    judges the token's expiry by GitHub's clock."""
    hub = app_hub(keys)
    async with hub.serve() as url, AppInstallationToken(url, APP_ID, keys.private_pem, "acme",
                                    clock=lambda: time.time() + 1800) as source:
        token = await source.token()
        assert await source.token() == token
    assert token.startswith("ghs_")
    assert hub.count("POST") == 1


@pytest.mark.anyio
async def test_a_run_spanning_orgs_uses_one_installation_token_per_org(keys: Keys) -> None:
    """token_source_for(..., org=[acme, beta]): each org's work, named with acting_for(org),
    runs on that org's installation token (fakehub refuses tokens outside their org), one
    exchange per org."""
    hub = app_hub(keys, "acme", "beta", repos=20)
    config = GitHubConfig(app=AppAuth(APP_ID, Source("env", "APP_KEY")))
    async with hub.serve() as url:
        source = token_source_for(config, None, ["acme", "beta"], url, None,
                                  environ={"APP_KEY": keys.private_pem})
        assert isinstance(source, InstallationTokens)
        outcomes: list[Outcome] = []
        async with connect(Settings(api_url=url, points_per_minute=0), source) as run:
            for org in ("acme", "beta"):
                with acting_for(org):
                    actions = put_actions(await all_repos(run, org))
                    outcomes += await run.engine().run(actions, lambda a: SecretValue(b"v"))
            with pytest.raises(RuntimeError, match="acting_for"):
                await source.token()
    assert len(outcomes) == 40 and {o.result for o in outcomes} == {Result.CREATED}
    assert hub.count("POST", "/app/installations/{installation_id}/access_tokens") == 2
    assert hub.plaintext("DEPLOY", repo="beta/repo-0020") == b"v"


# ---------------------------------------------------------------------------------------------
# token_source_for: what cli.py calls


def test_without_an_app_the_token_chain_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """No [github.app]: token_source_for is the token chain and returns the token itself."""
    env = {"PATH": "", "GITHUB_TOKEN": "tok-from-env"}
    assert token_source_for(None, None, "acme", "https://api.github.com", None,
                            environ=env) == "tok-from-env"
    assert token_source_for(GitHubConfig(), None, "acme", "https://api.github.com", None,
                            environ=env) == "tok-from-env"


def test_an_app_gives_an_installation_token_source(keys: Keys) -> None:
    """[github.app] wins over token variables: one org gives an AppInstallationToken with the
    configured installation id; the key (and each of its lines) is registered for redaction."""
    config = GitHubConfig(app=AppAuth(APP_ID, Source("env", "APP_KEY"), installation_id=5))
    source = token_source_for(config, "MY_TOKEN", "acme", "https://api.github.com", None,
                              environ={"APP_KEY": keys.private_pem, "MY_TOKEN": "t"})
    assert isinstance(source, AppInstallationToken)
    assert (source.app_id, source.org) == (APP_ID, "acme")
    line = keys.private_pem.splitlines()[3]
    assert redact.scrub(f"[{line}]") == f"[{redact.MASK}]"


@pytest.mark.parametrize("spec,environ,problem", [
    (Source("env", "APP_KEY"), {}, "[github.app].private_key: env:APP_KEY: no such environment"),
    (Source("file", "/nonexistent/app.pem"), {}, "No such file"),
    (Source("env", "APP_KEY"), {"APP_KEY": "hunter2-is-not-a-key"},
     "[github.app].private_key (env:APP_KEY): not a PEM private key"),
])
def test_an_unreadable_or_unusable_key_is_a_usage_error(spec: Source, environ: dict[str, str],
                                                        problem: str) -> None:
    """A key source that cannot be read, or holds no RSA PEM key, is a one-line UsageError
    (exit 2) naming the source and never its content."""
    config = GitHubConfig(app=AppAuth(APP_ID, spec))
    with pytest.raises(UsageError) as caught:
        token_source_for(config, None, "acme", "https://api.github.com", None, environ=environ)
    assert problem in str(caught.value) and "hunter2" not in str(caught.value)


# ---------------------------------------------------------------------------------------------
# End to end: a run whose installation tokens expire while it writes


def _settings(url: str) -> Settings:
    return Settings(api_url=url, points_per_minute=0, concurrency=16)


@pytest.mark.anyio
async def test_installation_token_expiring_mid_run_fails_no_target(keys: Keys) -> None:
    """300 repositories written as an App whose installation tokens live 1 s while the run
    takes several: tokens are renewed before expiry (and after any 401) without a single
    failed target; every value decrypts."""
    hub = app_hub(keys, repos=300, installation_token_ttl=1.0, faults=Faults(latency_ms=40))
    async with hub.serve() as url:
        source = AppInstallationToken(url, APP_ID, keys.private_pem, "acme")
        started = time.monotonic()
        async with connect(_settings(url), source) as run:
            actions = put_actions(await all_repos(run, "acme"))
            outcomes = await run.engine().run(actions, lambda a: SecretValue(b"canary"))
        took = time.monotonic() - started
    assert len(outcomes) == 300
    assert {o.result for o in outcomes} == {Result.CREATED}
    assert took > 1.0  # the run outlived its first token (ttl 1 s)
    assert hub.count("POST", "/app/installations/{installation_id}/access_tokens") >= 2
    assert hub.plaintext("DEPLOY", repo="acme/repo-0300") == b"canary"


@pytest.mark.anyio
@pytest.mark.parametrize("revoke_every,deadline", [
    (290, 20.0),  # once, near the end: fewer requests follow than the poisoned budget allows
    (60, 2.0),  # often: a 401's unauthenticated budget must not slow the pacer
])
async def test_tokens_rejected_mid_run_are_renewed_after_the_401(
        keys: Keys, revoke_every: int, deadline: float) -> None:
    """Installation tokens revoked under a running write (every `revoke_every`-th PUT): each
    401 makes the client renew (one exchange for all who saw it) and resend; no target fails
    and the run keeps its pace."""
    hub = app_hub(keys, repos=300, record=True)
    put_template = "/repos/{owner}/{repo}/actions/secrets/{secret_name}"

    def revoke_now_and_then(method: str, template: str, count: int) -> None:
        if (method, template) == ("PUT", put_template) and count % revoke_every == 0:
            for token in hub.installation_tokens():
                hub.revoke_token(token)

    hub.on_request = revoke_now_and_then
    async with hub.serve() as url:
        source = AppInstallationToken(url, APP_ID, keys.private_pem, "acme")
        with anyio.fail_after(deadline):
            async with connect(_settings(url), source) as run:
                actions = put_actions(await all_repos(run, "acme"))
                outcomes = await run.engine().run(actions, lambda a: SecretValue(b"v"))
    assert {o.result for o in outcomes} == {Result.CREATED} and len(outcomes) == 300
    rejected = [e for e in hub.exchanges if e.status == 401]
    assert rejected and all(e.response_json["message"] == "Bad credentials" for e in rejected)
    exchanges = hub.count("POST", "/app/installations/{installation_id}/access_tokens")
    assert exchanges == 1 + 300 // revoke_every
    assert validate_exchanges(hub.exchanges) == []


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """structlog configured by syncer (debug, JSON) into a StringIO; restored afterwards."""
    saved = structlog.get_config()
    stream = io.StringIO()
    logs.configure("json", "debug", stream)
    try:
        yield stream
    finally:
        structlog.configure(**saved)


@pytest.mark.anyio
async def test_no_key_jwt_or_token_appears_in_any_output(
        keys: Keys, other_keys: Keys, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """An App run with expiring tokens, a failing App setup and a deliberate attempt to log
    a token: neither the private key, nor any JWT, nor any installation token shows in the
    logs (structlog as syncer configures it), stdout, stderr or the errors raised."""
    seen: list[str] = []
    original = redact.register

    def register(secret: str | bytes) -> None:
        seen.append(secret.decode() if isinstance(secret, bytes) else secret)
        original(secret)

    monkeypatch.setattr(redact, "register", register)
    hub = app_hub(keys, repos=200, installation_token_ttl=1.0, faults=Faults(latency_ms=40))
    config = GitHubConfig(app=AppAuth(APP_ID, Source("env", "APP_KEY")))
    wrong = GitHubConfig(app=AppAuth(APP_ID, Source("env", "WRONG_KEY")))
    environ = {"APP_KEY": keys.private_pem, "WRONG_KEY": other_keys.private_pem}
    errors_raised: list[str] = []
    with captured_logs() as stream:
        async with hub.serve() as url:
            source = token_source_for(config, None, "acme", url, None, environ=environ)
            async with connect(_settings(url), source) as run:
                actions = put_actions(await all_repos(run, "acme"))
                outcomes = await run.engine().run(actions, lambda a: SecretValue(b"v"))
                token = await run.client._auth.token()
                structlog.get_logger("test").warning("careless", detail=f"token is {token}",
                                                     header=f"Bearer {token}")
            try:
                async with connect(_settings(url), token_source_for(
                        wrong, None, "acme", url, None, environ=environ)):
                    pass
            except AuthError as exc:
                errors_raised += [str(exc), repr(exc)]
                structlog.get_logger("test").error("failed", error=str(exc))
    assert {o.result for o in outcomes} == {Result.CREATED}
    jwts = [s for s in seen if s.count(".") == 2 and s.startswith("ey")]
    tokens = hub.installation_tokens()
    assert len(jwts) >= 3 and len(tokens) >= 2 and errors_raised
    out, err = capsys.readouterr()
    everything = stream.getvalue() + out + err + "\n".join(errors_raised)
    assert '"outcome": "created"' in everything and "careless" in everything
    key_lines = [line for line in keys.private_pem.splitlines() if not line.startswith("-----")]
    for secret in [*tokens, *jwts, *key_lines, *other_keys.private_pem.splitlines()[1:-1]]:
        assert secret not in everything


def test_set_rotate_and_audit_act_as_an_app_named_on_the_command_line(
        keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """--app-id and --app-key file:PATH: set, rotate and audit get in with installation tokens
    alone (the hub knows no other token), and neither the key nor a token shows in output."""
    from helpers import run_cli

    hub = app_hub(keys, repos=20)
    key_file = tmp_path / "app.pem"
    key_file.write_text(keys.private_pem)
    key_file.chmod(0o600)
    app = ["--app-id", str(APP_ID), "--app-key", f"file:{key_file}"]
    with hub.serve_in_thread() as url:
        env = {"GITHUB_API_URL": url, "V1": "app-canary-one", "V2": "app-canary-two"}
        assert run_cli(["set", "S", "--org", "acme", "--value-from", "env:V1", *app],
                       env, monkeypatch) == 0
        assert run_cli(["rotate", "S", "--org", "acme", "--value-from", "env:V2", *app],
                       env, monkeypatch) == 0
        assert run_cli(["audit", "--org", "acme", "--format", "json", *app], env,
                       monkeypatch) == 0
    out, err = capsys.readouterr()
    assert all(hub.plaintext("S", repo=f"acme/repo-{i:04d}") == b"app-canary-two"
               for i in range(1, 21))
    assert len([row for row in json.loads(out[out.index("["):]) if row["name"] == "S"]) == 20
    key_lines = [line for line in keys.private_pem.splitlines() if not line.startswith("-----")]
    for secret in [*hub.installation_tokens(), *key_lines, "app-canary-one", "app-canary-two"]:
        assert secret not in out + err


def test_migrate_with_an_app_on_each_side(keys: Keys, tmp_path, monkeypatch, capsys) -> None:
    """--from-app-id/--from-app-key read SRC and --to-app-id/--to-app-key write DST with each
    org's installation tokens alone; half an App's flags is a usage error naming that side."""
    from helpers import run_cli

    hub = app_hub(keys, "src", "dst", repos=3)
    hub.set_secret("API_KEY", b"old", repo="src/repo-0001")
    key_file = tmp_path / "app.pem"
    key_file.write_text(keys.private_pem)
    key_file.chmod(0o600)
    values = tmp_path / "values.env"
    values.write_text("API_KEY=app-canary-migrated\n")
    values.chmod(0o600)
    sides = [f"--{side}-{flag}" for side in ("from", "to") for flag in ("app-id", "app-key")]
    app = [sides[0], str(APP_ID), sides[1], f"file:{key_file}",
           sides[2], str(APP_ID), sides[3], f"file:{key_file}"]
    base = ["migrate", "--from", "src", "--to", "dst", "--values", str(values),
            "--state", str(tmp_path / "state.json")]
    with hub.serve_in_thread() as url:
        env = {"GITHUB_API_URL": url}
        assert run_cli([*base, *app[:6]], env, monkeypatch) == 2
        assert "--to-app-id and --to-app-key go together" in capsys.readouterr().err
        assert run_cli([*base, *app], env, monkeypatch) == 0
    out, err = capsys.readouterr()
    assert hub.plaintext("API_KEY", repo="dst/repo-0001") == b"app-canary-migrated"
    key_lines = [line for line in keys.private_pem.splitlines() if not line.startswith("-----")]
    for secret in [*hub.installation_tokens(), *key_lines, "app-canary-migrated"]:
        assert secret not in out + err


@pytest.mark.parametrize(("flags", "says"), [
    (["--app-id", "7"], "--app-id and --app-key go together"),
    (["--app-key", "env:K"], "--app-id and --app-key go together"),
    (["--app-installation-id", "9"], "--app-installation-id needs --app-id and --app-key"),
    (["--app-id", "7", "--app-key", "generate:32"], "--app-key takes file:PATH, env:VAR"),
    (["--app-id", "7", "--app-key", "app.pem"], "--app-key takes file:PATH, env:VAR or cmd:"
                                                "COMMAND\n"),  # and nothing it cannot take
    (["--app-id", "7", "--app-key", "env:K", "--token-env", "T"], "choose one"),
    (["--app-id", "7", "--app-key", "env:NOT_SET"], "--app-key: env:NOT_SET: no such environment"),
    (["--app-id", "7", "--app-key", "env:K"], "--app-key (env:K): not a PEM private key"),
])
def test_app_flags_that_do_not_fit_are_usage_errors(
        flags: list[str], says: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 2 with one line naming the problem, before any request (no server is running)."""
    from helpers import run_cli

    code = run_cli(["set", "S", "--org", "acme", "--value-from", "env:V", *flags],
                   {"GITHUB_API_URL": "http://127.0.0.1:9", "V": "value-1234", "K": "x",
                    "T": "y"}, monkeypatch)
    assert code == 2
    assert says in capsys.readouterr().err
