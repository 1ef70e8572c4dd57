"""Who a run acts as: a token from the chain (a named variable, GITHUB_TOKEN, GH_TOKEN,
`gh auth token`), or a GitHub App's installation tokens; and which CAs it trusts."""

from __future__ import annotations

import os
import ssl
from collections.abc import Collection, Mapping
from pathlib import Path

from ..config.model import GitHubConfig
from ..core.names import env_name_shown
from ..exits import AuthError, UsageError
from ..github import auth, local_tokens, org_tokens
from ..github.client import TokenSource
from ..observe import redact
from ..sources import SourceError, read_source

TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN")


def find_token(token_env: str | None = None, environ: Mapping[str, str] | None = None, *,
               api_url: str | None = None, gh_timeout: float = local_tokens.GH_TIMEOUT,
               named_by: str = "--token-env or token_env", name_shown: bool = False,
               app_hint: str | None = "configure a GitHub App in [github.app]") -> str:
    """The token from `token_env` if named (and only from there), else GITHUB_TOKEN, else
    GH_TOKEN, else what `gh auth token --hostname HOST` prints for the host of `api_url`.

    gh is asked only when `api_url` is given: without it the host is unknown, and a token gh
    keeps for github.com must never be sent to another host. The token is registered for
    redaction. AuthError (exit 3) names every source tried when none has a token, the option
    that named `token_env` (`named_by`; the name itself only if `name_shown`, as when it was
    read from a config file rather than typed), and how this command takes an App (`app_hint`).
    """
    env = os.environ if environ is None else environ
    if token_env:
        # A variable named on purpose is the only one: never fall back to another token,
        # which may belong to another host.
        found = local_tokens.env_token((token_env,), env)
        if found is None and (name_shown or env_name_shown(token_env)):
            raise AuthError(f"no GitHub token: {token_env}, named by {named_by}, is unset or "
                            "empty; no other token is used in its place")
        if found is None:
            raise AuthError(f"no GitHub token: the environment variable named by {named_by} "
                            "is unset or empty (its name is not repeated, in case a token was "
                            "typed in its place); no other token is used in its place")
        redact.register(found[1])
        return _one_line(found[1])
    found = local_tokens.env_token(TOKEN_VARIABLES, env)
    token = found[1] if found else None
    gh_problem = None
    if token is None and api_url is not None:
        host = local_tokens.gh_hostname(api_url)
        answer = local_tokens.gh_token(host, environ=env, timeout=gh_timeout)
        token, gh_problem = answer.token, answer.problem
    if token is None:
        raise AuthError(_no_token_message(api_url, gh_problem, app_hint))
    redact.register(token)
    return _one_line(token)


def _one_line(token: str) -> str:
    """A token with a line break (two values pasted into one variable, say) cannot go in a
    header: refused here in one line rather than by the HTTP library with a traceback."""
    if any(ord(char) < 32 or ord(char) == 127 for char in token):
        raise AuthError("the GitHub token holds a line break or another control character "
                        "(not shown); set it to the token alone")
    return token


def _no_token_message(api_url: str | None, gh_problem: str | None, app_hint: str | None) -> str:
    variables = list(TOKEN_VARIABLES)
    tried = ", ".join(variables[:-1]) + f" and {variables[-1]} are unset or empty"
    ways = ["set one of those variables"]
    message = f"no GitHub token: {tried}"
    if api_url is not None:
        host = local_tokens.gh_hostname(api_url)
        message += f", and `gh auth token --hostname {host}` gave none ({gh_problem})"
        ways.append(f"run `gh auth login --hostname {host}`")
    if app_hint:
        ways.append(app_hint)
    listed = ", ".join(ways[:-1]) + f" or {ways[-1]}" if len(ways) > 1 else ways[0]
    return f"{message}. {listed[0].upper()}{listed[1:]}"


def token_source_for(github_config: GitHubConfig | None, token_env: str | None,
                     org: str | Collection[str], api_url: str,
                     ssl_context: ssl.SSLContext | None, *,
                     environ: Mapping[str, str] | None = None,
                     timeout: float = 30.0,
                     key_named: str = "[github.app].private_key",
                     token_env_in_config: bool = False,
                     every_installation: bool = False) -> TokenSource | str:
    """How this run authenticates: the App of `[github.app]` when configured, else a token
    from the chain of `find_token` (asking gh for the host of `api_url`).

    For an App, `org` is the organisation to act in: one name gives an
    AppInstallationToken; several give InstallationTokens, one installation token per org,
    each request's org named with `syncer.github.org_tokens.acting_for(org)`; none, with
    `every_installation`, InstallationTokens for every org the App is installed on (asked
    when connected: `every_org`). The private key is read here (UsageError, exit 2, when it
    cannot be read or is not an RSA PEM key) and registered for redaction, as is every JWT
    and token the App gets. Nothing is sent yet: `connect` gets the first token before any
    work starts.
    """
    app = github_config.app if github_config is not None else None
    if app is None:
        if token_env_in_config:
            return find_token(token_env, environ, api_url=api_url, named_by="token_env in the "
                              "config", name_shown=True)
        return find_token(token_env, environ, api_url=api_url)
    where = key_named  # what the user wrote it as, for messages
    try:
        pem = read_source(app.private_key, environ=environ).reveal()
    except SourceError as exc:
        raise UsageError(f"{where}: {exc}") from None
    _register_key(pem)
    try:
        auth.load_app_key(pem)
    except auth.AppKeyError as exc:
        raise UsageError(f"{where} ({app.private_key}): {exc}") from None

    def make(one_org: str) -> auth.AppInstallationToken:
        return auth.AppInstallationToken(
            api_url, app.app_id, pem, one_org, app.installation_id, ssl_context=ssl_context,
            timeout=timeout, on_secret=redact.register)

    if isinstance(org, str):
        return make(org)
    orgs = list(org)
    if not orgs and not every_installation:
        raise UsageError("a GitHub App acts in an organisation, and none was given")
    if app.installation_id is not None and len({o.lower() for o in orgs}) > 1:
        raise UsageError("[github.app].installation_id names one installation, which acts in "
                         "one organisation; leave it out for a run spanning organisations")
    return org_tokens.InstallationTokens(make, orgs)


def _register_key(pem: bytes) -> None:
    """Scrub the whole key and each of its lines from logs (a log might quote a line)."""
    text = pem.decode("utf-8", "replace")
    redact.register(text)
    for line in text.splitlines():
        if len(line.strip()) >= 16 and not line.startswith("-----"):
            redact.register(line.strip())


def ssl_context_for(ca_bundle: str | None) -> ssl.SSLContext | None:
    """A context trusting only the CAs of `ca_bundle` (PEM), or None for the system's.

    A missing, unreadable or non-PEM bundle is a one-line UsageError, not a traceback.
    """
    if ca_bundle is None:
        return None
    path = Path(ca_bundle).expanduser()
    if not path.exists():
        raise UsageError(f"ca_bundle {ca_bundle}: no such file")
    if not path.is_file():
        raise UsageError(f"ca_bundle {ca_bundle}: not a file")
    try:
        return ssl.create_default_context(cafile=str(path))
    except ssl.SSLError as exc:
        raise UsageError(f"ca_bundle {ca_bundle}: not a PEM bundle of CA certificates "
                         f"({exc.reason or 'unreadable'}); it should hold "
                         "-----BEGIN CERTIFICATE----- blocks") from None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise UsageError(f"ca_bundle {ca_bundle}: cannot be read ({reason})") from None
