"""The console's HTML pages, rendered on the server from the same data the API serves."""

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from rmq.admin.admin_client import AdminError
from rmq.console import cluster_data, group_data, message_data, topic_data
from rmq.console.api import arg, int_arg, state_of
from rmq.console.auth import SESSION_COOKIE, SESSION_SECONDS
from rmq.console.i18n import LANG_COOKIE, LANGUAGES
from rmq.console.topic_data import KINDS, BadInput
from rmq.console.view import render


async def home(request: Request) -> Response:
    return RedirectResponse("/cluster", 303)


async def ops(request: Request) -> Response:
    state = state_of(request)
    return render(
        request,
        "ops.html",
        "ops",
        namesrv=state.admin.namesrv,
        known=state.known_namesrv,
        vip=state.vip_channel,
    )


async def dashboard(request: Request) -> Response:
    board = state_of(request).dashboard
    day = request.query_params.get("day")
    return render(
        request,
        "dashboard.html",
        "dashboard",
        points=board.history(day),
        top=board.top_topics,
        day=day or "",
    )


async def cluster(request: Request) -> Response:
    rows = await cluster_data.broker_rows(state_of(request).admin)
    return render(request, "cluster.html", "cluster", rows=rows)


async def broker(request: Request) -> Response:
    addr = arg(request, "addr")
    data = await cluster_data.broker_detail(state_of(request).admin, addr)
    return render(
        request, "broker.html", "cluster", addr=addr, runtime=data["runtime"], config=data["config"]
    )


async def topics(request: Request) -> Response:
    kinds = set(request.query_params.getlist("kind")) or {"normal"}
    query = arg(request, "q", "")
    page = await topic_data.topic_page(
        state_of(request).admin,
        kinds,
        query,
        int_arg(request, "page", 1),
        int_arg(request, "size", 50),
    )
    info = await state_of(request).admin.cluster_info()
    return render(
        request,
        "topics.html",
        "topic",
        page=page,
        kinds=kinds,
        all_kinds=KINDS,
        q=query,
        clusters=sorted(info.clusters),
    )


async def topic(request: Request) -> Response:
    name = request.path_params["topic"]
    admin = state_of(request).admin
    status = await topic_data.topic_status(admin, name)
    route = await topic_data.topic_route(admin, name)
    groups = await topic_data.topic_groups(admin, name)
    info = await admin.cluster_info()
    return render(
        request,
        "topic.html",
        "topic",
        topic=name,
        status=status,
        route=route,
        groups=groups,
        clusters=sorted(info.clusters),
    )


async def consumers(request: Request) -> Response:
    query = arg(request, "q", "")
    system = arg(request, "system", "false") == "true"
    page = await group_data.group_page(
        state_of(request).admin,
        query,
        system,
        int_arg(request, "page", 1),
        int_arg(request, "size", 50),
    )
    info = await state_of(request).admin.cluster_info()
    return render(
        request,
        "consumers.html",
        "consumer",
        page=page,
        q=query,
        system=system,
        clusters=sorted(info.clusters),
    )


async def consumer(request: Request) -> Response:
    group = request.path_params["group"]
    admin = state_of(request).admin
    conn = await group_data.connection(admin, group)
    detail: dict[str, Any] | None = None
    note = ""
    try:
        detail = await group_data.consume_detail(admin, group)
    except AdminError as exc:  # no offsets yet: the page still shows the connections
        note = str(exc)
    return render(
        request, "consumer.html", "consumer", group=group, conn=conn, detail=detail, note=note
    )


async def producer(request: Request) -> Response:
    group = request.query_params.get("group", "")
    topic_name = request.query_params.get("topic", "")
    clients = None
    if group and topic_name:
        clients = await group_data.producer_connection(state_of(request).admin, group, topic_name)
    return render(
        request, "producer.html", "producer", group=group, topic=topic_name, clients=clients
    )


def _time_range(request: Request) -> tuple[int, int]:
    now = int(time.time() * 1000)
    begin = int_arg(request, "begin", now - 3600_000)
    end = int_arg(request, "end", now)
    message_data.checked_range(begin, end)
    return begin, end


async def messages(request: Request) -> Response:
    admin = state_of(request).admin
    mode = request.query_params.get("mode", "topic")
    topic_name = request.query_params.get("topic", "")
    result: Any = None
    begin, end = _time_range(request)
    key = request.query_params.get("key", "")
    msg_id = request.query_params.get("id", "")
    if mode not in ("topic", "key", "id"):
        raise BadInput("mode is topic, key or id")
    if topic_name and mode == "topic":
        page = int_arg(request, "page", 1)
        result = await message_data.by_topic_and_time(admin, topic_name, begin, end, page, 20)
    elif topic_name and mode == "key" and key:
        result = await message_data.by_key(admin, topic_name, key)
    elif topic_name and mode == "id" and msg_id:
        view = await message_data.message_view(admin, topic_name, msg_id)
        return render(request, "message.html", "message", msg=view)
    return render(
        request,
        "messages.html",
        "message",
        mode=mode,
        topic=topic_name,
        begin=begin,
        end=end,
        result=result,
        key=key,
        msg_id=msg_id,
    )


async def message(request: Request) -> Response:
    view = await message_data.message_view(
        state_of(request).admin, arg(request, "topic"), arg(request, "id")
    )
    return render(request, "message.html", "message", msg=view)


async def dlq(request: Request) -> Response:
    group = request.query_params.get("group", "")
    begin, end = _time_range(request)
    page = None
    if group:
        group_data.checked_group(group)
        page = await message_data.by_topic_and_time(
            state_of(request).admin, f"%DLQ%{group}", begin, end, int_arg(request, "page", 1), 20
        )
    return render(request, "dlq.html", "dlq", group=group, begin=begin, end=end, page=page)


async def trace(request: Request) -> Response:
    msg_id = request.query_params.get("id", "")
    rows = None
    if msg_id:
        rows = await message_data.trace(
            state_of(request).admin, msg_id, arg(request, "topic", "RMQ_SYS_TRACE_TOPIC")
        )
    return render(request, "trace.html", "trace", msg_id=msg_id, rows=rows)


async def set_language(request: Request) -> Response:
    lang = request.path_params["lang"]
    if lang not in LANGUAGES:
        raise BadInput(f"language is one of {', '.join(LANGUAGES)}")
    back = request.headers.get("referer") or "/"
    response = RedirectResponse(back if back.startswith(("/", "http")) else "/", 303)
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return response


async def login(request: Request) -> Response:
    state = state_of(request)
    if request.method == "GET":
        return render(
            request, "login.html", "login", failed=False, next=request.query_params.get("next", "/")
        )
    form = await request.form()
    next_page = str(form.get("next") or "/")
    if not next_page.startswith("/") or next_page.startswith("//"):
        next_page = "/"
    user = state.users.check(str(form.get("username") or ""), str(form.get("password") or ""))
    if user is None:
        return render(request, "login.html", "login", failed=True, next=next_page, http_status=401)
    response = RedirectResponse(next_page, 303)
    response.set_cookie(
        SESSION_COOKIE,
        state.sessions.issue(user),
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
    )
    return response


async def logout(request: Request) -> Response:
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE)
    return response


ROUTES = [
    Route("/", home),
    Route("/ops", ops),
    Route("/dashboard", dashboard),
    Route("/cluster", cluster),
    Route("/cluster/broker", broker),
    Route("/topic", topics),
    Route("/topic/{topic}", topic),
    Route("/consumer", consumers),
    Route("/consumer/{group}", consumer),
    Route("/producer", producer),
    Route("/message", messages),
    Route("/message/detail", message),
    Route("/dlq", dlq),
    Route("/trace", trace),
    Route("/lang/{lang}", set_language),
    Route("/login", login, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
]
