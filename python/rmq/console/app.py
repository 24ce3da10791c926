"""The console as an ASGI application: routes, the checks every request passes (login,
cross-site token, read-only role), and errors turned into a clear 4xx/5xx answer (JSON for
the API, a banner on the page otherwise)."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Final
from urllib.parse import quote, urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from rmq.admin.admin_client import AdminError
from rmq.common.codes import ResponseCode
from rmq.console import api, pages
from rmq.console.auth import CSRF_COOKIE, SESSION_COOKIE, new_csrf_token
from rmq.console.settings import ConsoleSettings
from rmq.console.state import ConsoleState
from rmq.console.topic_data import BadInput
from rmq.console.view import render

log = logging.getLogger(__name__)
STATIC: Final = Path(__file__).parent / "static"
OPEN_PATHS: Final = ("/login", "/static/", "/lang/")
UNSAFE: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER: Final = "x-csrf-token"


def _error(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status)
    return render(request, "error.html", "", http_status=status, message=message, code=status)


class Guard(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        state: ConsoleState = request.app.state.console
        csrf = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
        request.state.csrf = csrf
        request.state.user = state.sessions.read(request.cookies.get(SESSION_COOKIE))
        path = request.url.path
        refusal = self._refusal(request, state, path, csrf)
        response = refusal or await self._answer(request, call_next, state.settings.timeout)
        if CSRF_COOKIE not in request.cookies:
            response.set_cookie(CSRF_COOKIE, csrf, samesite="strict")
        return response

    @staticmethod
    def _refusal(request: Request, state: ConsoleState, path: str, csrf: str) -> Response | None:
        user = request.state.user
        if state.settings.needs_login and user is None and not path.startswith(OPEN_PATHS):
            if path.startswith("/api/"):
                return JSONResponse({"error": "login required"}, 401)
            return RedirectResponse(f"/login?next={quote(path)}", 303)
        if request.method not in UNSAFE:
            return None
        origin = request.headers.get("origin")
        if origin and urlsplit(origin).netloc != request.headers.get("host"):
            return _error(request, 403, "cross-site request refused")
        if path.startswith("/api/") and request.headers.get(CSRF_HEADER) != csrf:
            return _error(request, 403, "missing or wrong X-CSRF-Token (reload the page)")
        read_only = state.settings.needs_login and user is not None and not user.admin
        if read_only and path.startswith("/api/"):
            return _error(request, 403, f"user {user.name} may only look (read-only role)")
        return None

    @staticmethod
    async def _answer(
        request: Request, call_next: RequestResponseEndpoint, timeout: float
    ) -> Response:
        try:
            async with asyncio.timeout(timeout * 3):
                return await call_next(request)
        except BadInput as exc:
            return _error(request, 400, str(exc))
        except LookupError as exc:
            return _error(request, 404, str(exc.args[0] if exc.args else exc))
        except AdminError as exc:
            missing = exc.code in (
                ResponseCode.TOPIC_NOT_EXIST,
                ResponseCode.SUBSCRIPTION_GROUP_NOT_EXIST,
            )
            return _error(request, 404 if missing else 502, str(exc))
        except TimeoutError:
            return _error(request, 504, f"no answer within {timeout * 3:.0f} s")


def create_app(settings: ConsoleSettings) -> Starlette:
    state = ConsoleState(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await state.start()
        try:
            yield
        finally:
            await state.stop()

    app = Starlette(
        routes=[*api.ROUTES, *pages.ROUTES, Mount("/static", StaticFiles(directory=STATIC))],
        middleware=[Middleware(Guard)],
        lifespan=lifespan,
    )
    app.state.console = state
    return app
