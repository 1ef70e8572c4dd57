"""Hosts: HTTPS with a private CA (ca_bundle), a clear certificate error without it, a clear
error for a bad bundle, and proxies from the environment. fakehub serves TLS with a throw-away
CA from trustme; every request crosses a real socket."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trustme
from helpers import rsa_key_pems, run_cli

from syncer.config.model import AppAuth, GitHubConfig
from syncer.core.model import Action, Op, Result, Scope, SecretValue
from syncer.execution.connect import Settings, connect
from syncer.execution.credentials import ssl_context_for, token_source_for
from syncer.exits import UsageError
from syncer.fakehub import FakeHub, Faults, Limits
from syncer.github import errors
from syncer.github.auth import AppInstallationToken
from syncer.sources import Source

pytestmark = pytest.mark.anyio

APP_ID = 31337
TOKEN = "tok-tls-1f3870be274f6c49"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def app_key() -> tuple[str, str]:
    _, private, public = rsa_key_pems()
    return private, public


@pytest.fixture
def ca_bundle(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(autouse=True)
def no_ambient_trust_or_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's own CA overrides and proxy settings must not decide these tests."""
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                 "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


@asynccontextmanager
async def https_hub(hub: FakeHub, ca: trustme.CA) -> AsyncIterator[str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    async with hub.serve(ssl=context) as url:
        assert url.startswith("https://")
        yield url


def app_hub(public_pem: str, repos: int, **kwargs: object) -> FakeHub:
    kwargs.setdefault("limits", Limits.off())  # limits off: up to 300 writes about TLS
    hub = FakeHub(tokens=(TOKEN,), **kwargs)  # type: ignore[arg-type]
    hub.add_repos("acme", repos, environments=())
    hub.register_app(APP_ID, public_pem)
    hub.add_installation("acme", APP_ID)
    return hub


async def write_everywhere(settings: Settings, source: str | AppInstallationToken,
                           ssl_context: ssl.SSLContext | None = None) -> set[Result]:
    async with connect(settings, source, ssl_context=ssl_context) as run:
        repos = [r async for r in run.api.org_repos("acme")]
        actions = [Action(Op.PUT, Scope.of_repo("acme", r.name, "actions", r.id), "TLS_S")
                   for r in repos]
        outcomes = await run.engine().run(actions, lambda a: SecretValue(b"over-tls"))
    return {o.result for o in outcomes}


async def test_an_app_run_over_https_trusts_the_ca_bundle(
        ca: trustme.CA, ca_bundle: str, app_key: tuple[str, str]) -> None:
    """The App run of the expiry test, over HTTPS: 300 repositories, installation tokens
    living 1 s, fakehub's certificate from a private CA given as ca_bundle; both the client
    and the App's token exchanges trust it, and no target fails."""
    private, public = app_key
    hub = app_hub(public, 300, installation_token_ttl=1.0, faults=Faults(latency_ms=30))
    async with https_hub(hub, ca) as url:
        settings = Settings(api_url=url, points_per_minute=0, ca_bundle=ca_bundle)
        context = ssl_context_for(ca_bundle)
        source = token_source_for(GitHubConfig(app=AppAuth(APP_ID, Source("env", "KEY"))),
                                  None, "acme", url, context, environ={"KEY": private})
        assert isinstance(source, AppInstallationToken)
        started = time.monotonic()
        results = await write_everywhere(settings, source, context)
        took = time.monotonic() - started
    assert results == {Result.CREATED}
    assert took > 1.0 and hub.count("POST") >= 2
    assert hub.plaintext("TLS_S", repo="acme/repo-0300") == b"over-tls"


async def test_without_the_ca_bundle_the_certificate_error_is_clear(
        ca: trustme.CA, app_key: tuple[str, str]) -> None:
    """Without ca_bundle, fakehub's certificate is not trusted: a TLSError (not retried)
    saying 'TLS certificate of 127.0.0.1 not trusted', in one line, both for a token and for
    an App's first exchange; nothing reached fakehub's handlers."""
    private, public = app_key
    hub = app_hub(public, 3)
    async with https_hub(hub, ca) as url:
        settings = Settings(api_url=url, points_per_minute=0)
        with pytest.raises(errors.TLSError) as by_token:
            await write_everywhere(settings, TOKEN)
        source = AppInstallationToken(url, APP_ID, private, "acme")
        with pytest.raises(errors.TLSError) as by_app:
            await write_everywhere(settings, source)
    for caught in (by_token, by_app):
        message = str(caught.value)
        assert "TLS certificate of 127.0.0.1 not trusted" in message
        assert "\n" not in message and not caught.value.retryable
    assert str(by_token.value).startswith("GET /orgs/acme/repos")
    assert str(by_app.value).startswith("GET /orgs/acme/installation")
    assert hub.count() == 0


@pytest.fixture
def bad_bundles(tmp_path: Path, app_key: tuple[str, str]) -> Iterator[dict[str, Path]]:
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"\x00\x01not a certificate at all\n")
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    key_only = tmp_path / "key.pem"
    key_only.write_text(app_key[0])
    folder = tmp_path / "certs"
    folder.mkdir()
    yield {"missing": tmp_path / "nope.pem", "a directory": folder, "garbage": garbage,
           "empty": empty, "a private key": key_only}


@pytest.mark.parametrize("which,problem", [
    ("missing", "no such file"),
    ("a directory", "not a file"),
    ("garbage", "not a PEM bundle of CA certificates"),
    ("empty", "not a PEM bundle of CA certificates"),
    ("a private key", "not a PEM bundle of CA certificates"),
])
async def test_a_bad_ca_bundle_is_one_clear_line(bad_bundles: dict[str, Path], which: str,
                                                 problem: str) -> None:
    """A ca_bundle that is missing, a directory, or holds no PEM certificate is a one-line
    UsageError (exit 2) naming the file, raised by connect before any request."""
    path = str(bad_bundles[which])
    with pytest.raises(UsageError) as caught:
        async with connect(Settings(api_url="https://127.0.0.1:9", ca_bundle=path), TOKEN):
            raise AssertionError("connect should have refused the bundle")
    message = str(caught.value)
    assert message.startswith(f"ca_bundle {path}: ") and problem in message
    assert "\n" not in message and UsageError.exit_code == 2
    assert "PRIVATE KEY" not in message


async def test_the_app_token_exchange_goes_through_the_environments_proxy(
        monkeypatch: pytest.MonkeyPatch, app_key: tuple[str, str]) -> None:
    """With HTTP_PROXY set, the App's own session sends its requests to the proxy (aiohttp
    trust_env), in absolute form for the API host; the proxy's 502 comes back as a retryable
    ServerError."""
    seen: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readline())
        writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    try:
        async with AppInstallationToken("http://api.example.test", APP_ID, app_key[0],
                                        "acme") as source:
            with pytest.raises(errors.ServerError) as caught:
                await source.token()
    finally:
        server.close()
        await server.wait_closed()
    assert seen == [b"GET http://api.example.test/orgs/acme/installation HTTP/1.1\r\n"]
    assert caught.value.retryable and caught.value.status == 502


def test_the_cli_reports_a_missing_ca_bundle_in_one_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    """`syncer set --ca-bundle MISSING`: exit 2 and one `syncer: error:` line, no traceback."""
    missing = tmp_path / "nope.pem"
    code = run_cli(["set", "X", "--org", "acme", "--value-from", "env:V", "-q",
                    "--ca-bundle", str(missing)],
                   {"GITHUB_API_URL": "https://127.0.0.1:9", "GITHUB_TOKEN": TOKEN, "V": "v"},
                   monkeypatch)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [f"syncer: error: ca_bundle {missing}: no such file"]


def test_the_cli_reports_an_untrusted_certificate_in_one_line(
        ca: trustme.CA, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """`syncer set` against an HTTPS host whose CA is not trusted: a non-zero exit and one
    `syncer: error:` line saying the certificate of 127.0.0.1 is not trusted, and how to
    trust a private CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    hub = FakeHub(tokens=(TOKEN,))
    hub.add_repos("acme", 2)
    with hub.serve_in_thread(ssl=context) as url:
        code = run_cli(["set", "X", "--org", "acme", "--value-from", "env:V", "-q"],
                       {"GITHUB_API_URL": url, "GITHUB_TOKEN": TOKEN, "V": "v"}, monkeypatch)
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and err[0].startswith("syncer: error:")
    assert "TLS certificate of 127.0.0.1 not trusted" in err[0]
    assert err[0].endswith("a private CA is trusted with --ca-bundle PEM (ca_bundle in a config "
                           "file)")
