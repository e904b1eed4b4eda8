"""Cache hits answered before FastAPI routes the request: the signed-in user's cached pages.

A signed-in GET of a page this worker holds is most of a product's reads, and on such a hit
FastAPI's routing and dependency solving cost more CPU than everything else the API does (the
bench: `nox -s bench -- cpu`). This layer answers the hit itself, from the parts the route's own
dependencies use, in the same order of checks that matter:

- the access token's claims (decode_token: signature, type and expiry);
- the owner's cached record: the token's session version is theirs and the account is active;
- the page under the owner's namespace, keyed exactly as the route keys it;
- the API rate limit, counted once the hit is in hand (a 429 is answered here too).

Anything else goes on to FastAPI untouched, which answers it as before: no token or a bad one, an
owner record or a page that is not cached (or whose invalidation is pending), a query the route
would refuse. So this layer only ever gives the route's own answer, the same bytes and headers
(tests/accounts/test_cached_hits.py compares them).

Which routes: a GET with no path parameters whose one `cached(...)` read belongs to the signed-in
user (`owner=get_current_user`, no `by`), whose dependencies are only the signed-in ones below and
single-valued query parameters, and which no earlier route answers first. While any dependency is
overridden (`app.dependency_overrides`), FastAPI answers everything. Such a route's body must be
`return await cache.json(load)` and nothing else, as app/cache/declarations.py asks of every
cached read: nothing it does before that call runs on a hit.
"""

from functools import partial
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security.utils import get_authorization_scheme_param
from starlette.responses import JSONResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from app.accounts.deps import (
    CurrentUser,
    access_claims,
    api_rate_limit,
    get_current_user,
    get_lag_tolerant_sessions,
)
from app.api.deps import too_many_requests
from app.cache import Cache, Declaration
from app.cache.declarations import query_key
from app.core.security import InvalidTokenError, decode_token
from app.observability.metrics import CACHE_HITS
from app.rate_limit import RateLimiter

# What a hot route may depend on besides its cached read: each is checked here on a hit, or
# (the replica's sessions) needed only on a miss.
SIGNED_IN_DEPENDENCIES = (
    access_claims,
    api_rate_limit,
    get_current_user,
    get_lag_tolerant_sessions,
)


# Query parameter types whose one value is what the route reads.
SCALARS = (int, float, bool, str)
# Memos of pure functions of what a request sends or the cache holds, emptied when full.
MEMO_SIZE = 1024


class HotRoute:
    """A route this layer answers hits of: its cached read and its declared query parameters."""

    def __init__(self, route: APIRoute, declaration: Declaration, query: dict[str, Any]) -> None:
        self.route = route
        self.declaration = declaration
        self.query = query  # name -> FastAPI's field, by name
        self.counters = (CACHE_HITS.labels("user"), CACHE_HITS.labels(declaration.resource))
        self._queries: dict[bytes, str | None] = {}

    def query_of(self, query_string: bytes) -> str | None:
        """The page's key part for this query string (as the route builds it), or None when
        FastAPI would refuse a declared parameter's value. Undeclared names are ignored, as FastAPI
        ignores them; a repeated one counts by its last value, as it does there."""
        known = self._queries.get(query_string, False)
        if known is not False:
            return known
        params = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
        query: str | None = query_key(self.query, params)
        for name, field in self.query.items():
            if name in params and field.validate(params[name], loc=("query", name))[1]:
                query = None
        if len(self._queries) >= MEMO_SIZE:
            self._queries.clear()
        self._queries[query_string] = query
        return query


def hot_routes(app: FastAPI) -> dict[str, HotRoute]:
    """The routes this layer answers hits of, by path (see the module's docstring). FastAPI's own
    view of each route, with the dependencies of the routers that include it."""
    hot: dict[str, HotRoute] = {}
    contexts = list(iter_route_contexts(app.routes))
    for index, context in enumerate(contexts):
        route = context.original_route
        if not isinstance(route, APIRoute) or "GET" not in (context.methods or ()):
            continue
        if context.param_convertors:
            continue
        declaration, query = _signed_in_read(context.dependant)
        if declaration is None or context.path in hot:
            continue
        probe = {"type": "http", "method": "GET", "path": context.path, "root_path": ""}
        if any(earlier.matches(probe)[0] is Match.FULL for earlier in contexts[:index]):
            continue
        hot[context.path] = HotRoute(route, declaration, query)
    return hot


def _signed_in_read(route: Dependant) -> tuple[Declaration | None, dict[str, Any]]:
    """The route's one cached read of the signed-in user's and its query fields; (None, {}) when
    the route depends on anything else, or reads a body, a header, a cookie or a path."""
    declarations: list[Declaration] = []
    query: dict[str, Any] = {}
    pending = [route]
    while pending:
        dependant = pending.pop()
        if (
            dependant.header_params
            or dependant.cookie_params
            or dependant.body_params
            or dependant.path_params
        ):
            return None, {}
        if any(field.field_info.annotation not in SCALARS for field in dependant.query_params):
            return None, {}  # a list parameter reads every value: not the one the key takes
        query.update({field.alias: field for field in dependant.query_params})
        declaration = getattr(dependant.call, "declaration", None)
        if isinstance(declaration, Declaration):
            declarations.append(declaration)
        elif dependant is not route and dependant.call not in SIGNED_IN_DEPENDENCIES:
            return None, {}
        pending.extend(dependant.dependencies)
    if len(declarations) != 1:
        return None, {}
    (declaration,) = declarations
    if declaration.by is not None or declaration.owner is not get_current_user:
        return None, {}
    return declaration, dict(sorted(query.items()))


def bearer_token(scope: Scope) -> str | None:
    """The request's bearer token, read as FastAPI's OAuth2PasswordBearer reads it."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, token = get_authorization_scheme_param(value.decode("latin-1"))
            return token if scheme.lower() == "bearer" and token else None
    return None


class CachedHits:
    """The pure ASGI layer, innermost: every outer layer (request id, security headers, metrics,
    access log, CORS, overload shedding) still wraps what it answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.routes: dict[str, HotRoute] | None = None  # found at the first request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and not scope.get("root_path")
            # An overridden dependency (a test's stand-in) is FastAPI's to call.
            and not scope["app"].dependency_overrides
        ):
            if self.routes is None:
                self.routes = hot_routes(scope["app"])
            hot = self.routes.get(scope["path"])
            if hot is not None:
                response = await answer(hot, scope)
                if response is not None:
                    # What routing would have set: the metrics and the access log name the route.
                    scope.update(route=hot.route, endpoint=hot.route.endpoint, path_params={})
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


async def answer(hot: HotRoute, scope: Scope) -> Response | None:
    """The route's answer to this request when it is a cache hit (or over the rate limit with
    one in hand); None to let FastAPI answer."""
    token = bearer_token(scope)
    if token is None:
        return None
    state = scope["app"].state
    try:
        claims = decode_token(token, "access", state.settings.secret_key)
    except InvalidTokenError:
        return None
    query = hot.query_of(scope["query_string"])
    if query is None:
        return None
    owner = str(claims.user_id)
    cache: Cache = state.cache
    hit = await cache.owner_hit(owner, partial(hot.declaration.page_key, query=query))
    if hit is None:
        return None
    record, page = hit
    if signed_in(record) != (claims.version, True):
        return None  # FastAPI answers it: 401 session_ended or 403 account_deactivated
    limiter: RateLimiter = state.rate_limiter
    limited = await limiter.hit("api", owner, state.settings.rate_limit.api_per_minute)
    if limited.retry_after is not None:
        refused = too_many_requests(limited.retry_after)
        return JSONResponse(
            {"detail": refused.detail}, status_code=refused.status_code, headers=refused.headers
        )
    for counter in hot.counters:  # what Cache.counted counts on the route's own hit
        counter.inc()
    return Response(page, media_type="application/json", headers={"X-Cache": "HIT"})


_signed_in: dict[bytes, tuple[int, bool]] = {}


def signed_in(record: bytes) -> tuple[int, bool]:
    """(session version, active) of a cached owner record, parsed as get_current_user parses it."""
    known = _signed_in.get(record)
    if known is None:
        user = CurrentUser.model_validate_json(record)
        known = (user.session_version, user.is_active)
        if len(_signed_in) >= MEMO_SIZE:
            _signed_in.clear()
        _signed_in[record] = known
    return known
