"""rmq-console against Apache RocketMQ 4.9.7's own NameServer and broker: it speaks only
the remoting protocol, so the same pages and changes work on an Apache cluster."""

import asyncio
import re
import time
from collections.abc import Iterator

import pytest

from rmq.client import Message, Producer
from tests.harness.console import ConsoleClient, running_console
from tests.harness.java_client import java
from tests.harness.pair import Pair, start_pair
from tests.harness.py_client import fast_config

pytestmark = [pytest.mark.compat]


@pytest.fixture(scope="module")
def apache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Pair, ConsoleClient]]:
    home = tmp_path_factory.mktemp("console-apache")
    small = {"mappedFileSizeCommitLog": str(16 * 1024 * 1024),
             "mappedFileSizeConsumeQueue": str(20 * 30000)}  # fmt: skip
    (home / "pair").mkdir()
    pair = start_pair("apache", home / "pair", "ASYNC_FLUSH", small, pin=False,
                      broker_name="broker-j")  # fmt: skip
    try:
        with running_console(home / "web", pair.namesrv, "--collect-interval", "0.5") as web:
            client = ConsoleClient(f"http://{web.addr}")
            try:
                yield pair, client
            finally:
                client.close()
    finally:
        pair.stop()


def test_console_shows_and_changes_an_apache_cluster(apache: tuple[Pair, ConsoleClient]) -> None:
    pair, client = apache
    rows: list[dict[str, str]] = []
    for _ in range(40):  # a just-started JVM broker can be slow to answer its first calls
        rows = client.get("/api/cluster").json()
        if rows and not rows[0]["error"]:
            break
        time.sleep(0.5)
    assert [(r["cluster"], r["broker_name"], r["role"], r["error"]) for r in rows] == [
        ("BenchCluster", "broker-j", "MASTER", "")
    ]
    assert rows[0]["version"].startswith("V4_9_")
    broker = client.get("/api/broker", addr=pair.broker_addr).json()
    assert broker["config"]["brokerName"] == "broker-j"
    made = client.post("/api/topic", {"cluster": "BenchCluster", "topic": "ConsoleOnApache",
                                      "readQueueNums": 2, "writeQueueNums": 2})  # fmt: skip
    assert made.status_code == 200, made.text
    sent = client.post("/api/topic/ConsoleOnApache/send", {"keys": "apache-key", "body": "hi j"})
    assert sent.json()["status"] == "SEND_OK"
    hits: list[dict[str, object]] = []
    for _ in range(50):  # Apache's index is built by its dispatcher thread, a moment later
        hits = client.get("/api/messages/by-key", topic="ConsoleOnApache", key="apache-key").json()
        if hits:
            break
        time.sleep(0.1)
    assert [(h["bodyPreview"], h["broker"]) for h in hits] == [("hi j", "broker-j")]
    view = client.get("/api/message", topic="ConsoleOnApache", id=sent.json()["msgId"]).json()
    assert view["body"] == "hi j"
    status = client.get("/api/topic/ConsoleOnApache/status").json()
    assert sum(r["max"] for r in status) == 1
    for page in ("/cluster", "/topic", "/consumer", "/dashboard", "/topic/ConsoleOnApache"):
        assert client.get(page).status_code == 200, page


def test_messages_by_time_page_through_an_apache_topic(apache: tuple[Pair, ConsoleClient]) -> None:
    pair, client = apache

    async def produce() -> None:
        async with Producer("console-apache-p", config=fast_config(pair.namesrv)) as producer:
            for i in range(15):
                await producer.send(Message("ConsoleTimes", f"t{i}".encode()))

    begin = int(time.time() * 1000) - 1000
    asyncio.run(produce())
    end = int(time.time() * 1000) + 1000
    first = client.get("/api/messages", topic="ConsoleTimes", begin=begin, end=end, size=10).json()
    second = client.get("/api/messages", topic="ConsoleTimes", begin=begin, end=end, size=10,
                        page=2).json()  # fmt: skip
    assert (first["total"], len(first["rows"]), len(second["rows"])) == (15, 10, 5)
    bodies = {r["bodyPreview"] for r in first["rows"] + second["rows"]}
    assert bodies == {f"t{i}" for i in range(15)}


def test_trace_page_shows_a_java_producers_trace(apache: tuple[Pair, ConsoleClient]) -> None:
    pair, client = apache
    sent = java("send", pair.namesrv, "ConsoleTraced", "traced", "1")
    match = re.search(r"^SENT 0 SEND_OK (\S+) ", sent, re.M)
    assert match, sent
    msg_id = match.group(1)
    rows: list[dict[str, object]] = []
    for _ in range(100):  # the trace is written in the background, then indexed
        rows = client.get("/api/trace", id=msg_id).json()
        if rows:
            break
        time.sleep(0.2)
    assert [(r["type"], r["group"], r["success"]) for r in rows] == [
        ("Pub", "compat_send_traced", True)
    ]
    assert "compat_send_traced" in client.get("/trace", id=msg_id).text
