"""The aiohttp edge: one catch-all handler that runs a request through GitHub's pipeline.

Pipeline per request: route (an ``/organizations/{id}`` or ``/repositories/{id}`` path as
the named path it stands for) -> count -> drop fault -> User-Agent, API version and
authentication (a token, an installation token, or an App JWT on the App routes) -> limits
(per token, per installation, per App; none with ``Limits.off()``) -> error fault or, under
the world lock, the installation's reach, the token's permissions and the handler ->
ETag/304 -> delay -> headers (``x-ratelimit-*`` unless limits are off, always
``x-github-request-id``) -> answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import socket
import ssl as ssl_module
from collections.abc import AsyncIterator
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from . import rules
from .api import Call, Reply, check_permission, check_reach, named_form
from .apps import Principal
from .faults import error_message
from .limits import CORE, GRAPHQL, LimitExceeded, RateView
from .routes import Match, split_id_path
from .rules import ApiError
from .views import Urls
from .world import dumps

if TYPE_CHECKING:
    from .hub import FakeHub

ADMIN_PATH: Final = "/_fakehub/state"
API_VERSIONS: Final = frozenset({"2022-11-28", "2026-03-10"})
UNMATCHED: Final = "<unmatched>"
JSON_TYPE: Final = "application/json; charset=utf-8"
_BODY_METHODS: Final = frozenset({"PUT", "POST", "PATCH", "DELETE"})
_ids = itertools.count(1)
_PID: Final = os.getpid() & 0xFFFF


def request_id() -> str:
    n = next(_ids)
    return f"{_PID:04X}:{n >> 16:04X}:{n & 0xFFFFFF:06X}:{n * 2654435761 & 0xFFFFFFFF:08X}"


def bearer(header: str | None) -> str | None:
    """The token of ``Authorization: Bearer T`` or ``Authorization: token T``."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() in ("bearer", "token") and value.strip():
        return value.strip()
    return None


class Front:
    """Turns aiohttp requests into ``Call``s for the hub and ``Reply``s into responses."""

    def __init__(self, hub: FakeHub) -> None:
        self.hub = hub

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.raw_path.split("?", 1)[0]
        if raw_path == ADMIN_PATH:
            return self._admin(request)
        hub = self.hub
        method = request.method
        rid = request_id()
        match = self._visible(self._route(method, raw_path))
        template = match.route.template if match else UNMATCHED
        hub._count_call(method, template)
        decision = hub._fault_plan.decide()
        if decision.drop:
            return self._drop(request)

        limiter = hub._limiter
        token = bearer(request.headers.get("Authorization"))
        app_jwt = match is not None and match.route.app_jwt
        principal, auth_error = hub._authenticate(token, app_jwt=app_jwt)
        refusal = _refusal(request, auth_error)
        resource = GRAPHQL if template == "/graphql" else CORE
        if refusal is not None or principal is None:
            assert refusal is not None
            key = principal.limit_key if principal is not None else None
            view = limiter.view(key, resource)
            reply = Reply(refusal.status, refusal.body())
            return await self._answer(
                request, rid, method, template, None, reply, view, decision.delay
            )

        try:
            admission, view = limiter.admit(
                principal.limit_key, method, counts_primary=template != "/rate_limit",
                resource=resource,
            )
        except LimitExceeded as exc:
            hub._count_violation(exc.violation)
            reply = _limit_reply(exc, rid)
            return await self._answer(
                request, rid, method, template, None, reply, None, decision.delay
            )

        request_json: Any = None
        refund = False
        try:
            if decision.error_status is not None:  # fails before anything is applied
                status = decision.error_status
                reply = Reply(status, ApiError(status, error_message(status)).body())
            else:
                rates = limiter.overview(principal.limit_key) if template == "/rate_limit" else None
                request_json, reply = await self._reply(
                    request, match, raw_path, view, principal, rates
                )
            if reply.status == 200 and method in ("GET", "HEAD"):
                refund = self._conditional(request, reply)
            if decision.delay:  # in flight (for max_concurrent) while delayed
                await asyncio.sleep(decision.delay)
        finally:
            view = limiter.release(admission, refund=refund)
        return await self._answer(request, rid, method, template, request_json, reply, view, 0.0)

    def _route(self, method: str, raw_path: str) -> Match | None:
        """The route for the path; an ``/organizations/{id}/...`` or ``/repositories/{id}/...``
        path (GitHub's pagination links) that no route of its own serves is served as the
        ``/orgs/{org}/...`` or ``/repos/{owner}/{repo}/...`` path it stands for."""
        router = self.hub.router
        match = router.match(method, raw_path)
        if match is not None:
            return match
        id_path = split_id_path(raw_path)
        if id_path is None:
            return None
        with self.hub.world.lock:
            named = named_form(self.hub.world, id_path)
        return None if named is None else router.match(method, named)

    # ---- pipeline pieces

    def _visible(self, match: Match | None) -> Match | None:
        """Routes that this flavour of server does not have answer 404."""
        if match is None:
            return None
        if match.ghes and match.route.dotcom_only:
            return None
        if match.route.owner_repo_env and self.hub.legacy_env_routes_only:
            return None
        return match

    async def _reply(
        self,
        request: web.Request,
        match: Match | None,
        raw_path: str,
        view: RateView | None,
        principal: Principal,
        rates: dict[str, RateView] | None,
    ) -> tuple[Any, Reply]:
        """The request's JSON body (None when there is none) and the handler's reply."""
        if match is None:
            return None, Reply(404, rules.not_found().body())
        try:
            request_json = await self._read_json(request)
        except ApiError as exc:
            return None, Reply(exc.status, exc.body())
        return request_json, self._dispatch(
            request, match, raw_path, request_json, view, principal, rates
        )

    async def _read_json(self, request: web.Request) -> Any:
        if request.method not in _BODY_METHODS or not request.can_read_body:
            return None
        raw = await request.read()
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "Problems parsing JSON") from None

    def _dispatch(
        self,
        request: web.Request,
        match: Match,
        raw_path: str,
        body: Any,
        view: RateView | None,
        principal: Principal,
        rates: dict[str, RateView] | None,
    ) -> Reply:
        origin = f"{request.scheme}://{request.host}"
        urls = Urls(origin + ("/api/v3" if match.ghes else ""), origin)
        call = Call(
            request.method, raw_path, match.params, _query(request), body, urls, view, principal,
            rates, self.hub.id_links,
        )
        route = match.route
        try:
            with self.hub.world.lock:
                check_reach(self.hub.world, call)
                check_permission(self.hub.world, call, route)
                return route.handler(self.hub.world, call, *route.args)  # type: ignore[no-any-return]
        except ApiError as exc:
            return Reply(exc.status, exc.body(), dict(exc.headers))

    def _conditional(self, request: web.Request, reply: Reply) -> bool:
        """Attach a weak ETag; turn a matching ``If-None-Match`` into a 304 (True)."""
        encoded = reply.encoded if reply.encoded is not None else dumps(reply.body)
        etag = rules.etag_for(encoded)
        reply.headers["ETag"] = etag
        if rules.etag_matches(request.headers.get("If-None-Match"), etag):
            reply.status = 304
            reply.body = None
            return True
        reply.encoded = encoded
        return False

    async def _answer(
        self,
        request: web.Request,
        rid: str,
        method: str,
        template: str,
        request_json: Any,
        reply: Reply,
        view: RateView | None,
        delay: float,
    ) -> web.StreamResponse:
        if delay:
            await asyncio.sleep(delay)
        headers = dict(view.headers()) if view is not None else {}
        headers.update(reply.headers)
        encoded = reply.encoded
        if reply.body is not None and reply.status not in (204, 304):
            if encoded is None:
                encoded = dumps(reply.body)
            headers["Content-Type"] = JSON_TYPE
        else:
            encoded = None
        headers["Date"] = format_datetime(self.hub.world.now(), usegmt=True)  # fakehub's clock
        headers["x-github-request-id"] = rid
        headers["x-github-api-version-selected"] = "2022-11-28"
        if self.hub.record:
            self.hub._record(
                method,
                template,
                request.raw_path.split("?", 1)[0],
                _query(request),
                request_json,
                reply.status,
                headers,
                None if encoded is None else reply.body,
            )
        if method == "HEAD":
            encoded = None
        return web.Response(status=reply.status, body=encoded, headers=headers)

    def _drop(self, request: web.Request) -> web.StreamResponse:
        """Close the connection without answering."""
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise _Dropped

    def _admin(self, request: web.Request) -> web.StreamResponse:
        hub = self.hub
        if hub.admin_token is None:
            return _json_response(404, rules.not_found().body())
        if request.method != "GET":
            return _json_response(404, rules.not_found().body())
        if bearer(request.headers.get("Authorization")) != hub.admin_token:
            return _json_response(401, rules.bad_credentials().body())
        return _json_response(200, hub.state())


def _refusal(request: web.Request, auth_error: ApiError | None) -> ApiError | None:
    """What GitHub refuses before looking at the request itself.

    - No ``User-Agent``: 403 (documented: requests without one are rejected).
    - An ``X-GitHub-Api-Version`` GitHub does not have: 400.
    - Authentication failed (``auth_error``): no or an unknown or expired token is 401 Bad
      credentials; a refused App JWT is 401 with GitHub's JWT messages (see ``apps``).
    """
    if not request.headers.get("User-Agent"):
        return ApiError(
            403,
            "Request forbidden by administrative rules. Please make sure your request has a "
            "User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api"
            "#user-agent-required). Check https://developer.github.com for other possible "
            "causes.",
        )
    version = request.headers.get("X-GitHub-Api-Version")
    if version is not None and version not in API_VERSIONS:
        return ApiError(400, f"API version {version} is not supported.")
    return auth_error


def _limit_reply(exc: LimitExceeded, rid: str) -> Reply:
    """GitHub's answer to a request over a limit. GraphQL's primary budget exhausted is a 200
    whose ``errors`` say ``RATE_LIMITED`` (GitHub's GraphQL documentation); every other limit
    a 403 or 429 whose message ends with the request id."""
    if exc.violation == "primary_graphql":
        error = {"type": "RATE_LIMITED", "message": exc.message}
        return Reply(200, {"errors": [error]}, exc.headers)
    return Reply(exc.status, exc.for_request(rid).body(), exc.headers)


class _Dropped(Exception):
    """Raised after aborting a transport; aiohttp then has nothing left to answer."""


def _json_response(status: int, body: Any) -> web.Response:
    return web.Response(status=status, body=dumps(body), content_type="application/json",
                        headers={"x-github-request-id": request_id()})


def _query(request: web.Request) -> dict[str, str]:
    return dict(request.query)


# --------------------------------------------------------------------------- serving


def make_app(front: Front) -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024, handler_args={"access_log": None})
    app.router.add_route("*", "/{tail:.*}", _wrap(front))
    return app


def _wrap(front: Front) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            return await front.handle(request)
        except _Dropped:
            raise asyncio.CancelledError from None
        except ApiError as exc:  # raised before dispatch (e.g. unparsable JSON)
            return _json_response(exc.status, exc.body())

    return handler


def bound_socket(host: str, port: int) -> socket.socket:
    """A bound, not yet listening socket (port 0: the kernel picks; read it back)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


@contextlib.asynccontextmanager
async def serve_front(
    front: Front, host: str, port: int, ssl: ssl_module.SSLContext | None
) -> AsyncIterator[str]:
    """Listen on ``host:port`` and yield the base URL once the socket accepts connections."""
    sock = bound_socket(host, port)
    runner = web.AppRunner(
        make_app(front), handle_signals=False, access_log=None, shutdown_timeout=0.25
    )
    try:
        await runner.setup()
        site = web.SockSite(runner, sock, ssl_context=ssl)
        await site.start()
        real_host, real_port = sock.getsockname()[:2]
        scheme = "https" if ssl is not None else "http"
        shown = f"[{real_host}]" if ":" in real_host else real_host
        yield f"{scheme}://{shown}:{real_port}"
    finally:
        await runner.cleanup()
        sock.close()
