"""Rendering a page: the template, the words of the chosen language, the user, the token."""

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from rmq.console.i18n import LANG_COOKIE, words

TEMPLATES = Path(__file__).parent / "templates"


def _when(ms: int | None) -> str:
    if not ms or ms <= 0:
        return ""
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def _local_input(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%dT%H:%M")


_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
_env.filters["when"] = _when
_env.filters["local_input"] = _local_input
_env.filters["json"] = lambda v: json.dumps(v, indent=2, sort_keys=True, default=str)


def language(request: Request) -> str:
    return "zh" if request.cookies.get(LANG_COOKIE) == "zh" else "en"


def render(
    request: Request, template: str, active: str, http_status: int = 200, **context: Any
) -> HTMLResponse:
    lang = language(request)
    page = _env.get_template(template).render(
        request=request,
        w=words(lang),
        lang=lang,
        active=active,
        user=getattr(request.state, "user", None),
        csrf=getattr(request.state, "csrf", ""),
        login_on=request.app.state.console.settings.needs_login,
        **context,
    )
    return HTMLResponse(page, http_status)
