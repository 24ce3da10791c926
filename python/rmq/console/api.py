"""The console's JSON endpoints under ``/api`` (the pages call them for every change)."""

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rmq.console import cluster_data, group_data, message_data, topic_data
from rmq.console.state import ConsoleState
from rmq.console.topic_data import KINDS, BadInput

MAX_BODY = 5 * 1024 * 1024


def state_of(request: Request) -> ConsoleState:
    state: ConsoleState = request.app.state.console
    return state


def arg(request: Request, name: str, default: str | None = None) -> str:
    value = request.query_params.get(name, default)
    if value is None:
        raise BadInput(f"missing query parameter {name!r}")
    if len(value) > 1024:
        raise BadInput(f"query parameter {name!r} is longer than 1024 characters")
    return value


def int_arg(request: Request, name: str, default: int | None = None) -> int:
    text = arg(request, name, None if default is None else str(default))
    try:
        return int(text)
    except ValueError:
        raise BadInput(f"{name} must be an integer, got {text!r}") from None


async def body_of(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise BadInput("request body larger than 5 MiB")
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise BadInput("the request body is not JSON") from None
    if not isinstance(data, dict):
        raise BadInput("the request body must be a JSON object")
    return data


def field(data: dict[str, Any], name: str, kind: type = str, default: Any = None) -> Any:
    value = data.get(name, default)
    if value is None:
        raise BadInput(f"missing field {name!r}")
    if kind is int:
        if isinstance(value, bool):
            raise BadInput(f"{name} must be an integer")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise BadInput(f"{name} must be an integer, got {value!r}") from None
    if kind is bool:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise BadInput(f"{name} must be true or false")
    if not isinstance(value, str):
        raise BadInput(f"{name} must be a string")
    return value


def ok(data: Any) -> JSONResponse:
    return JSONResponse(data)


async def cluster(request: Request) -> Response:
    rows = await cluster_data.broker_rows(state_of(request).admin)
    return ok([r.as_json() for r in rows])


async def broker(request: Request) -> Response:
    return ok(await cluster_data.broker_detail(state_of(request).admin, arg(request, "addr")))


def _kinds(request: Request) -> set[str]:
    text = arg(request, "kind", ",".join(KINDS))
    return {k.strip() for k in text.split(",") if k.strip()}


async def topics(request: Request) -> Response:
    page = await topic_data.topic_page(
        state_of(request).admin,
        _kinds(request),
        arg(request, "q", ""),
        int_arg(request, "page", 1),
        int_arg(request, "size", 50),
    )
    return ok(page.as_json())


async def topic_status(request: Request) -> Response:
    admin = state_of(request).admin
    return ok(await topic_data.topic_status(admin, request.path_params["topic"]))


async def topic_route(request: Request) -> Response:
    return ok(await topic_data.topic_route(state_of(request).admin, request.path_params["topic"]))


async def topic_groups(request: Request) -> Response:
    admin = state_of(request).admin
    return ok(await topic_data.topic_groups(admin, request.path_params["topic"]))


async def topic_save(request: Request) -> Response:
    d = await body_of(request)
    addrs = await topic_data.save_topic(
        state_of(request).admin,
        field(d, "cluster"),
        field(d, "topic"),
        field(d, "readQueueNums", int, 8),
        field(d, "writeQueueNums", int, 8),
        field(d, "perm", int, 6),
        field(d, "order", bool, False),
    )
    return ok({"brokers": addrs})


async def topic_delete(request: Request) -> Response:
    d = await body_of(request)
    await topic_data.delete_topic(
        state_of(request).admin, field(d, "cluster"), request.path_params["topic"]
    )
    return ok({"deleted": request.path_params["topic"]})


async def topic_send(request: Request) -> Response:
    d = await body_of(request)
    state = state_of(request)
    result = await topic_data.send_test_message(
        state.admin,
        request.path_params["topic"],
        field(d, "tags", str, ""),
        field(d, "keys", str, ""),
        field(d, "body"),
        state.vip_channel,
    )
    return ok(result)


async def groups(request: Request) -> Response:
    page = await group_data.group_page(
        state_of(request).admin,
        arg(request, "q", ""),
        arg(request, "system", "false") == "true",
        int_arg(request, "page", 1),
        int_arg(request, "size", 50),
    )
    return ok(page.as_json())


async def group_detail(request: Request) -> Response:
    admin = state_of(request).admin
    return ok(await group_data.consume_detail(admin, request.path_params["group"]))


async def group_connection(request: Request) -> Response:
    admin = state_of(request).admin
    return ok(await group_data.connection(admin, request.path_params["group"]))


async def group_save(request: Request) -> Response:
    d = await body_of(request)
    addrs = await group_data.save_group(
        state_of(request).admin,
        field(d, "cluster"),
        field(d, "group"),
        field(d, "retryQueueNums", int, 1),
        field(d, "retryMaxTimes", int, 16),
        field(d, "broadcast", bool, False),
        field(d, "consumeEnable", bool, True),
    )
    return ok({"brokers": addrs})


async def group_delete(request: Request) -> Response:
    d = await body_of(request)
    await group_data.delete_group(
        state_of(request).admin, field(d, "cluster"), request.path_params["group"]
    )
    return ok({"deleted": request.path_params["group"]})


async def group_reset(request: Request) -> Response:
    d = await body_of(request)
    timestamp = field(d, "timestamp", int)
    if timestamp < 0:
        raise BadInput("timestamp is milliseconds since the epoch")
    table = await group_data.reset_offset(
        state_of(request).admin, request.path_params["group"], field(d, "topic"), timestamp
    )
    return ok({"offsets": table})


async def group_skip(request: Request) -> Response:
    d = await body_of(request)
    table = await group_data.skip_accumulated(
        state_of(request).admin, request.path_params["group"], field(d, "topic")
    )
    return ok({"offsets": table})


async def producer(request: Request) -> Response:
    clients = await group_data.producer_connection(
        state_of(request).admin, arg(request, "group"), arg(request, "topic")
    )
    return ok(clients)


async def messages(request: Request) -> Response:
    page = await message_data.by_topic_and_time(
        state_of(request).admin,
        arg(request, "topic"),
        int_arg(request, "begin"),
        int_arg(request, "end"),
        int_arg(request, "page", 1),
        int_arg(request, "size", 20),
    )
    return ok(page.as_json())


async def messages_by_key(request: Request) -> Response:
    admin = state_of(request).admin
    return ok(await message_data.by_key(admin, arg(request, "topic"), arg(request, "key")))


async def message(request: Request) -> Response:
    admin = state_of(request).admin
    return ok(await message_data.message_view(admin, arg(request, "topic"), arg(request, "id")))


async def message_resend(request: Request) -> Response:
    d = await body_of(request)
    result = await message_data.resend(
        state_of(request).admin,
        field(d, "topic"),
        field(d, "msgId"),
        field(d, "group"),
        field(d, "clientId"),
    )
    return ok(result)


async def dlq(request: Request) -> Response:
    group = group_data.checked_group(arg(request, "group"))
    page = await message_data.by_topic_and_time(
        state_of(request).admin,
        f"%DLQ%{group}",
        int_arg(request, "begin"),
        int_arg(request, "end"),
        int_arg(request, "page", 1),
        int_arg(request, "size", 20),
    )
    return ok(page.as_json())


async def dlq_export(request: Request) -> Response:
    """One page of dead letters with whole bodies, as a JSON file download."""
    group = group_data.checked_group(arg(request, "group"))
    admin = state_of(request).admin
    page = await message_data.by_topic_and_time(
        admin,
        f"%DLQ%{group}",
        int_arg(request, "begin"),
        int_arg(request, "end"),
        int_arg(request, "page", 1),
        int_arg(request, "size", 100),
    )
    rows = [await message_data.message_view(admin, r["topic"], r["offsetMsgId"]) for r in page.rows]
    headers = {"Content-Disposition": f'attachment; filename="dlq-{group}.json"'}
    return JSONResponse(rows, headers=headers)


async def trace(request: Request) -> Response:
    admin = state_of(request).admin
    topic = arg(request, "topic", "RMQ_SYS_TRACE_TOPIC")
    return ok(await message_data.trace(admin, arg(request, "id"), topic))


async def ops(request: Request) -> Response:
    state = state_of(request)
    return ok(
        {
            "namesrv": state.admin.namesrv,
            "known": state.known_namesrv,
            "vipChannel": state.vip_channel,
        }
    )


async def ops_namesrv(request: Request) -> Response:
    d = await body_of(request)
    state = state_of(request)
    addr, action = field(d, "addr"), field(d, "action", str, "use")
    if action == "add":
        state.add_namesrv(addr)
    elif action == "use":
        state.use_namesrv(addr)
    else:
        raise BadInput("action is add or use")
    return await ops(request)


async def ops_vip(request: Request) -> Response:
    d = await body_of(request)
    state_of(request).set_vip_channel(field(d, "enabled", bool))
    return await ops(request)


async def dashboard(request: Request) -> Response:
    board = state_of(request).dashboard
    day = request.query_params.get("day")
    return ok({"points": board.history(day), "topTopics": board.top_topics})


ROUTES = [
    Route("/api/cluster", cluster),
    Route("/api/broker", broker),
    Route("/api/topics", topics),
    Route("/api/topic", topic_save, methods=["POST"]),
    Route("/api/topic/{topic}/status", topic_status),
    Route("/api/topic/{topic}/route", topic_route),
    Route("/api/topic/{topic}/groups", topic_groups),
    Route("/api/topic/{topic}/delete", topic_delete, methods=["POST"]),
    Route("/api/topic/{topic}/send", topic_send, methods=["POST"]),
    Route("/api/groups", groups),
    Route("/api/group", group_save, methods=["POST"]),
    Route("/api/group/{group}/detail", group_detail),
    Route("/api/group/{group}/connection", group_connection),
    Route("/api/group/{group}/delete", group_delete, methods=["POST"]),
    Route("/api/group/{group}/reset", group_reset, methods=["POST"]),
    Route("/api/group/{group}/skip", group_skip, methods=["POST"]),
    Route("/api/producer", producer),
    Route("/api/messages", messages),
    Route("/api/messages/by-key", messages_by_key),
    Route("/api/message", message),
    Route("/api/message/resend", message_resend, methods=["POST"]),
    Route("/api/dlq", dlq),
    Route("/api/dlq/export", dlq_export),
    Route("/api/trace", trace),
    Route("/api/ops", ops),
    Route("/api/ops/namesrv", ops_namesrv, methods=["POST"]),
    Route("/api/ops/vip", ops_vip, methods=["POST"]),
    Route("/api/dashboard", dashboard),
]
