"""The asyncio server and client on loopback, in one process: dispatch, timeouts, close,
backpressure and server-to-client requests."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from rmq.common.codes import ResponseCode
from rmq.remoting.client import RemotingClient, split_addr
from rmq.remoting.command import RemotingCommand, request
from rmq.remoting.connection import Connection
from rmq.remoting.dispatch import Dispatcher
from rmq.remoting.errors import (
    ConnectionClosedError,
    RemotingConnectError,
    RemotingTimeoutError,
    RequestError,
)
from rmq.remoting.server import RemotingServer

ECHO, SLOW, NEVER, BOOM, REFUSE, CALLBACK = 1, 2, 3, 4, 5, 6


class Handlers:
    def __init__(self) -> None:
        self.never = asyncio.Event()
        self.slow_running = 0
        self.slow_peak = 0
        self.release = asyncio.Event()

    def echo(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        return req.answer(body=req.body)

    async def slow(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        self.slow_running += 1
        self.slow_peak = max(self.slow_peak, self.slow_running)
        await self.release.wait()
        self.slow_running -= 1
        return req.answer()

    async def never_answer(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        await self.never.wait()
        return req.answer()

    def boom(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        raise RuntimeError("kaput")

    def refuse(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        raise RequestError(ResponseCode.NO_PERMISSION, "not you")

    async def callback(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        # The server calls the client back on the same connection, as a broker does.
        answer = await conn.request(request(ECHO, body=b"ping"), 5)
        return req.answer(body=answer.body)


@pytest.fixture
async def setup() -> AsyncIterator[tuple[RemotingServer, Handlers]]:
    handlers = Handlers()
    dispatcher = Dispatcher()
    dispatcher.register(ECHO, handlers.echo)
    dispatcher.register(SLOW, handlers.slow)
    dispatcher.register(NEVER, handlers.never_answer)
    dispatcher.register(BOOM, handlers.boom)
    dispatcher.register(REFUSE, handlers.refuse)
    dispatcher.register(CALLBACK, handlers.callback)
    server = RemotingServer(dispatcher, "127.0.0.1", 0, max_in_flight=4)
    await server.start()
    yield server, handlers
    handlers.never.set()
    handlers.release.set()
    await server.stop()


def addr(server: RemotingServer) -> str:
    return f"127.0.0.1:{server.port}"


async def test_many_concurrent_requests_are_matched_by_opaque(
    setup: tuple[RemotingServer, Handlers],
) -> None:
    server, _ = setup
    client = RemotingClient()
    replies = await asyncio.gather(
        *(client.invoke(addr(server), request(ECHO, body=str(i).encode())) for i in range(200))
    )
    assert [r.body for r in replies] == [str(i).encode() for i in range(200)]
    await client.close()


async def test_handler_errors_become_responses(setup: tuple[RemotingServer, Handlers]) -> None:
    server, _ = setup
    client = RemotingClient()
    boom = await client.invoke(addr(server), request(BOOM))
    assert (boom.code, boom.remark) == (ResponseCode.SYSTEM_ERROR, "RuntimeError: kaput")
    refused = await client.invoke(addr(server), request(REFUSE))
    assert (refused.code, refused.remark) == (ResponseCode.NO_PERMISSION, "not you")
    await client.close()


async def test_request_times_out_and_the_connection_stays_usable(
    setup: tuple[RemotingServer, Handlers],
) -> None:
    server, _ = setup
    client = RemotingClient()
    with pytest.raises(RemotingTimeoutError, match=r"timed out after 0\.2s"):
        await client.invoke(addr(server), request(NEVER), timeout=0.2)
    assert (await client.invoke(addr(server), request(ECHO, body=b"x"))).body == b"x"
    await client.close()


async def test_closing_fails_every_pending_request(setup: tuple[RemotingServer, Handlers]) -> None:
    server, _ = setup
    client = RemotingClient()
    pending = [asyncio.ensure_future(client.invoke(addr(server), request(NEVER))) for _ in range(5)]
    await asyncio.sleep(0.1)
    for conn in list(server.connections):
        conn.close()
    results = await asyncio.gather(*pending, return_exceptions=True)
    assert all(isinstance(r, ConnectionClosedError) for r in results)
    await client.close()


async def test_in_flight_limit_holds_back_reading(setup: tuple[RemotingServer, Handlers]) -> None:
    server, handlers = setup
    client = RemotingClient()
    slow = [asyncio.ensure_future(client.invoke(addr(server), request(SLOW))) for _ in range(20)]
    await asyncio.sleep(0.3)
    assert handlers.slow_peak == 4
    handlers.release.set()
    replies = await asyncio.gather(*slow)
    assert all(r.code == ResponseCode.SUCCESS for r in replies)
    await client.close()


async def test_server_can_call_the_client_back(setup: tuple[RemotingServer, Handlers]) -> None:
    server, handlers = setup
    client_dispatch = Dispatcher()
    client_dispatch.register(ECHO, handlers.echo)
    client = RemotingClient(dispatcher=client_dispatch)
    reply = await client.invoke(addr(server), request(CALLBACK))
    assert reply.body == b"ping"
    await client.close()


async def test_connect_failure_names_the_address() -> None:
    client = RemotingClient(connect_timeout=1)
    with pytest.raises(RemotingConnectError, match=r"connect to 127\.0\.0\.1:1 failed"):
        await client.invoke("127.0.0.1:1", request(ECHO))
    with pytest.raises(RemotingConnectError, match="is not host:port"):
        await client.invoke("nonsense", request(ECHO))


def test_split_addr_accepts_ipv6_brackets() -> None:
    assert split_addr("[::1]:9876") == ("::1", 9876)
    assert split_addr("127.0.0.1:9876") == ("127.0.0.1", 9876)
    with pytest.raises(ValueError, match="host:port"):
        split_addr("127.0.0.1:99999")
