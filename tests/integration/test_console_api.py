"""rmq-console's endpoints against real rmq-namesrv and rmq-broker processes: every page
and API answer with real data, changes reach the cluster, and bad input gets a clear 4xx."""

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest

from rmq.client import CONSUME_FROM_FIRST_OFFSET, Message, Producer, PushConsumer
from tests.harness.console import ConsoleClient, running_console
from tests.harness.processes import ServerProcess, free_port, running_broker, running_namesrv
from tests.harness.py_client import Inbox, fast_config

pytestmark = [pytest.mark.integration]

PAGES = ["/ops", "/dashboard", "/cluster", "/topic", "/consumer", "/producer", "/message",
         "/dlq", "/trace"]  # fmt: skip


class Env(NamedTuple):
    namesrv: str
    broker: ServerProcess
    console: ServerProcess
    client: ConsoleClient
    home: Path


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    home = tmp_path_factory.mktemp("console")
    with (
        running_namesrv(home / "ns") as ns,
        running_broker(home / "b", ns.addr, {"brokerName": "broker-c"}) as broker,
        running_console(home / "web", ns.addr, "--collect-interval", "0.5") as console,
    ):
        client = ConsoleClient(f"http://{console.addr}")
        try:
            yield Env(ns.addr, broker, console, client, home)
        finally:
            client.close()


def send(namesrv: str, topic: str, bodies: list[str], keys: str = "") -> list[str]:
    async def go() -> list[str]:
        async with Producer("console-test-p", config=fast_config(namesrv)) as producer:
            ids = []
            for body in bodies:
                result = await producer.send(Message(topic, body.encode(), keys=keys or None))
                ids.append(result.msg_id)
            return ids

    return asyncio.run(go())


def consume_all(namesrv: str, group: str, topic: str, count: int) -> None:
    async def go() -> None:
        consumer = PushConsumer(group, config=fast_config(namesrv),
                                consume_from_where=CONSUME_FROM_FIRST_OFFSET)  # fmt: skip
        consumer.subscribe(topic, "*")
        inbox = Inbox()
        consumer.register_message_listener(inbox)
        async with consumer:
            assert await inbox.wait_count(count)
            await asyncio.sleep(1.5)  # let the consumer commit its offsets

    asyncio.run(go())


def test_every_page_loads_with_cluster_data(env: Env) -> None:
    for path in PAGES:
        page = env.client.get(path)
        assert page.status_code == 200, (path, page.text[:300])
        assert "<nav" in page.text
        assert "built-in method" not in page.text
    cluster = env.client.get("/cluster").text
    assert "broker-c" in cluster
    assert env.broker.addr in cluster
    assert "MASTER" in cluster
    broker = env.client.get("/cluster/broker", addr=env.broker.addr).text
    assert "brokerVersionDesc" in broker
    assert "brokerName" in broker
    rows = env.client.get("/api/cluster").json()
    assert [(r["broker_name"], r["role"], r["error"]) for r in rows] == [("broker-c", "MASTER", "")]
    system = env.client.get("/api/topics", kind="system").json()["rows"]
    assert {"TBW102", "SCHEDULE_TOPIC_XXXX", "TestCluster", "broker-c"} <= {
        r["topic"] for r in system
    }


def test_create_update_and_delete_a_topic(env: Env) -> None:
    created = env.client.post("/api/topic", {"cluster": "TestCluster", "topic": "WebTopic",
                                             "readQueueNums": 3, "writeQueueNums": 3})  # fmt: skip
    assert created.status_code == 200, created.text
    assert created.json() == {"brokers": [env.broker.addr]}
    listed = env.client.get("/api/topics", kind="normal", q="webtop").json()
    assert [r["topic"] for r in listed["rows"]] == ["WebTopic"]
    route = env.client.get("/api/topic/WebTopic/route").json()
    assert route["queueDatas"][0]["writeQueueNums"] == 3
    status = env.client.get("/api/topic/WebTopic/status").json()
    assert [(r["queue"], r["max"]) for r in status] == [(0, 0), (1, 0), (2, 0)]
    page = env.client.get("/topic/WebTopic").text
    assert "WebTopic" in page
    assert "queueDatas" in page
    assert "built-in method" not in page
    deleted = env.client.post("/api/topic/WebTopic/delete", {"cluster": "TestCluster"})
    assert deleted.status_code == 200
    gone = env.client.get("/api/topic/WebTopic/route")
    assert gone.status_code == 404
    assert "No topic route info" in gone.json()["error"]


def test_test_message_is_found_by_key_id_and_time(env: Env) -> None:
    env.client.post("/api/topic", {"cluster": "TestCluster", "topic": "WebMsgs",
                                   "readQueueNums": 2, "writeQueueNums": 2})  # fmt: skip
    sent = env.client.post(
        "/api/topic/WebMsgs/send",
        {"tags": "TagW", "keys": "web-key-1", "body": "hello from the console"},
    )
    assert sent.status_code == 200, sent.text
    result = sent.json()
    assert result["status"] == "SEND_OK"
    by_key = env.client.get("/api/messages/by-key", topic="WebMsgs", key="web-key-1").json()
    assert [(m["msgId"], m["tags"], m["broker"]) for m in by_key] == [
        (result["msgId"], "TagW", "broker-c")
    ]
    for msg_id in (result["msgId"], result["offsetMsgId"]):
        view = env.client.get("/api/message", topic="WebMsgs", id=msg_id).json()
        assert view["body"] == "hello from the console"
        assert view["bodyHex"] == b"hello from the console".hex()
        assert view["properties"]["KEYS"] == "web-key-1"
    page = env.client.get("/message/detail", topic="WebMsgs", id=result["msgId"]).text
    assert "hello from the console" in page
    # 25 more messages, read back a page at a time: only the page's messages are pulled.
    begin = int(time.time() * 1000) - 60_000
    send(env.namesrv, "WebMsgs", [f"m{i}" for i in range(25)])
    end = int(time.time() * 1000) + 1000
    pages = [env.client.get("/api/messages", topic="WebMsgs", begin=begin, end=end, page=p,
                            size=10).json() for p in (1, 2, 3)]  # fmt: skip
    assert [p["total"] for p in pages] == [26, 26, 26]
    assert [len(p["rows"]) for p in pages] == [10, 10, 6]
    bodies = [r["bodyPreview"] for p in pages for r in p["rows"]]
    assert sorted(bodies) == sorted(["hello from the console", *[f"m{i}" for i in range(25)]])
    html = env.client.get("/message", mode="topic", topic="WebMsgs", begin=begin, end=end).text
    assert html.count("/message/detail?") == 20


def test_consumer_lag_follows_reset_offset_and_skip(env: Env) -> None:
    topic, group = "WebLag", "web-lag-group"
    env.client.post("/api/topic", {"cluster": "TestCluster", "topic": topic,
                                   "readQueueNums": 2, "writeQueueNums": 2})  # fmt: skip
    before = int(time.time() * 1000) - 1000
    send(env.namesrv, topic, [f"lag{i}" for i in range(12)])
    consume_all(env.namesrv, group, topic, 12)
    detail = env.client.get(f"/api/group/{group}/detail").json()
    assert detail["lag"] == 0
    assert {q["topic"] for q in detail["queues"]} >= {topic}
    groups = env.client.get("/api/groups", q="web-lag").json()["rows"]
    assert [(g["group"], g["lag"]) for g in groups] == [(group, 0)]
    reset = env.client.post(f"/api/group/{group}/reset", {"topic": topic, "timestamp": before})
    assert reset.status_code == 200, reset.text
    assert sum(reset.json()["offsets"].values()) == 0
    assert env.client.get(f"/api/group/{group}/detail").json()["lag"] == 12
    page = env.client.get(f"/consumer/{group}").text
    assert '<span id="group-lag">12</span>' in page
    lags = env.client.get(f"/api/topic/{topic}/groups").json()
    assert lags == [{"group": group, "lag": 12, "tps": lags[0]["tps"]}]
    skipped = env.client.post(f"/api/group/{group}/skip", {"topic": topic})
    assert skipped.status_code == 200
    assert env.client.get(f"/api/group/{group}/detail").json()["lag"] == 0
    offline = env.client.get(f"/api/group/{group}/connection").json()
    assert offline["clients"] == []


def test_groups_are_created_and_deleted(env: Env) -> None:
    saved = env.client.post("/api/group", {"cluster": "TestCluster", "group": "web-made",
                                           "retryMaxTimes": 3})  # fmt: skip
    assert saved.status_code == 200, saved.text
    rows = env.client.get("/api/groups", q="web-made").json()["rows"]
    assert [r["group"] for r in rows] == ["web-made"]
    assert env.client.post("/api/group/web-made/delete", {"cluster": "TestCluster"}).is_success
    assert env.client.get("/api/groups", q="web-made").json()["rows"] == []


def test_dead_letters_are_listed_and_exported(env: Env) -> None:
    env.client.post("/api/topic", {"cluster": "TestCluster", "topic": "%DLQ%web-dead",
                                   "readQueueNums": 1, "writeQueueNums": 1})  # fmt: skip
    begin = int(time.time() * 1000) - 1000
    send(env.namesrv, "%DLQ%web-dead", ["dead one", "dead two"])
    end = int(time.time() * 1000) + 1000
    page = env.client.get("/api/dlq", group="web-dead", begin=begin, end=end).json()
    assert sorted(r["bodyPreview"] for r in page["rows"]) == ["dead one", "dead two"]
    export = env.client.get("/api/dlq/export", group="web-dead", begin=begin, end=end)
    assert "attachment" in export.headers["content-disposition"]
    assert sorted(m["body"] for m in export.json()) == ["dead one", "dead two"]
    html = env.client.get("/dlq", group="web-dead", begin=begin, end=end).text
    assert "dead one" in html
    assert "dlq-export" in html


def test_dashboard_samples_tps_and_top_topics(env: Env) -> None:
    send(env.namesrv, "WebBusy", [f"b{i}" for i in range(30)])
    data: dict[str, object] = {}
    for _ in range(100):
        data = env.client.get("/api/dashboard").json()
        if any(t["topic"] == "WebBusy" for t in data["topTopics"]):  # type: ignore[attr-defined]
            break
        time.sleep(0.1)
    top = {t["topic"]: t["messages"] for t in data["topTopics"]}  # type: ignore[attr-defined]
    assert top["WebBusy"] == 30
    points = data["points"]
    assert isinstance(points, list)
    assert "broker-c:0" in points[-1]["brokers"]
    assert points[-1]["topics"]["WebBusy"] == 30
    files = list((env.home / "web" / "console-data" / "dashboard").glob("*.jsonl"))
    assert len(files) == 1
    page = env.client.get("/dashboard").text
    assert 'id="top-topics"' in page
    assert 'id="topic-tps-chart"' in page


def test_ops_switches_namesrv_and_vip_channel(env: Env) -> None:
    added = env.client.post("/api/ops/namesrv", {"addr": "127.0.0.1:1", "action": "add"})
    assert added.json()["known"] == [env.namesrv, "127.0.0.1:1"]
    env.client.post("/api/ops/namesrv", {"addr": "127.0.0.1:1", "action": "use"})
    try:
        down = env.client.get("/cluster")
        assert down.status_code == 502
        assert 'id="error-banner"' in down.text
        assert "127.0.0.1:1" in down.text
        assert env.client.get("/api/topics").status_code == 502
    finally:
        back = env.client.post("/api/ops/namesrv", {"addr": env.namesrv, "action": "use"})
    assert back.json()["namesrv"] == [env.namesrv]
    assert env.client.post("/api/ops/vip", {"enabled": True}).json()["vipChannel"] is True
    saved = json.loads((env.home / "web" / "console-data" / "ops.json").read_text())
    assert saved["vipChannel"] is True
    assert "127.0.0.1:1" in saved["known"]
    env.client.post("/api/ops/vip", {"enabled": False})


def test_trace_page_says_when_nothing_was_traced(env: Env) -> None:
    assert env.client.get("/api/trace", id="0A00000000000000000000000000FFFF").json() == []
    assert 'id="no-trace"' in env.client.get("/trace", id="0A00000000000000000000000000FFFF").text


BAD = [
    ("get", "/api/topic/NoSuchTopic/status", {}, 404, "No topic route info"),
    ("get", "/api/topic/bad name/status", {}, 400, "illegal characters"),
    ("get", "/api/topics?kind=weird", {}, 400, "unknown topic kind"),
    ("get", "/api/topics?page=0", {}, 400, "page starts at 1"),
    ("get", "/api/topics?size=100000", {}, 400, "size is 1..500"),
    ("get", "/api/messages?topic=TBW102&begin=10&end=5", {}, 400, "time range"),
    ("get", "/api/messages?topic=TBW102&begin=x&end=5", {}, 400, "must be an integer"),
    ("get", "/api/messages?topic=TBW102&begin=1&end=5&size=1000", {}, 400, "size is 1..100"),
    ("get", "/api/messages/by-key?topic=TBW102&key=" + "k" * 300, {}, 400, "1..255"),
    ("get", "/api/message?topic=TBW102&id=FFFF", {}, 404, "no message FFFF"),
    ("get", "/api/broker?addr=10.0.0.1:1", {}, 404, "no broker at"),
    ("get", "/api/messages?topic=" + "t" * 2000, {}, 400, "longer than 1024"),
    ("post", "/api/topic", {"cluster": "Nope", "topic": "X1"}, 404, "no cluster named Nope"),
    ("post", "/api/topic", {"cluster": "TestCluster", "topic": "X1", "perm": 9}, 400, "perm"),
    ("post", "/api/topic", {"cluster": "TestCluster", "topic": "X1", "readQueueNums": "a"},
     400, "must be an integer"),
    ("post", "/api/topic", {"topic": "X1"}, 400, "missing field 'cluster'"),
    ("post", "/api/topic/WebMsgs/send", {"body": ""}, 400, "body is empty"),
    ("post", "/api/group/g/reset", {"topic": "WebMsgs", "timestamp": -5}, 400, "timestamp"),
    ("post", "/api/ops/namesrv", {"addr": "nonsense"}, 400, "host:port"),
    ("post", "/api/ops/namesrv", {"addr": "10.9.9.9:9876", "action": "use"}, 400, "add it first"),
    ("get", "/api/dashboard?day=yesterday", {}, 400, "YYYY-MM-DD"),
    ("get", "/api/group/bad%20group/detail", {}, 400, "illegal characters"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "status", "message"), BAD)
def test_bad_input_is_a_clear_4xx(env: Env, method: str, path: str, body: dict[str, object],
                                  status: int, message: str) -> None:  # fmt: skip
    reply = env.client.http.get(path) if method == "get" else env.client.post(path, body)
    assert reply.status_code == status, reply.text
    assert message in reply.json()["error"]


def test_changes_need_the_token_and_a_same_site_origin(env: Env) -> None:
    body = {"cluster": "TestCluster", "topic": "Forged"}
    assert env.client.http.post("/api/topic", json=body).status_code == 403
    token = env.client.http.cookies.get("rmq_csrf") or ""
    cross = env.client.http.post("/api/topic", json=body, headers={
        "X-CSRF-Token": token, "Origin": "http://evil.example"})  # fmt: skip
    assert cross.status_code == 403
    assert "cross-site" in cross.json()["error"]
    bad_json = env.client.http.post("/api/topic", content=b"{not json",
                                    headers={"X-CSRF-Token": token})  # fmt: skip
    assert bad_json.status_code == 400
    big = env.client.http.post("/api/topic", content=b" " * (6 * 1024 * 1024),
                               headers={"X-CSRF-Token": token})  # fmt: skip
    assert big.status_code == 400
    assert "5 MiB" in big.json()["error"]
    assert env.client.get("/api/topics", kind="normal", q="Forged").json()["rows"] == []
    assert env.client.get("/lang/xx").status_code == 400


def test_login_blocks_anonymous_and_read_only_users(env: Env, tmp_path: Path) -> None:
    from rmq.console.auth import hash_password

    users = tmp_path / "users.properties"
    users.write_text(f"admin={hash_password('s3cret')},admin\nviewer={hash_password('look')}\n")
    with running_console(tmp_path, env.namesrv, "--login-required", "--users-file",
                         str(users)) as console:  # fmt: skip
        anon = ConsoleClient(f"http://{console.addr}")
        try:
            page = anon.get("/cluster")
            assert page.status_code == 303
            assert page.headers["location"] == "/login?next=/cluster"
            assert anon.get("/api/cluster").status_code == 401
            wrong = anon.http.post("/login", data={"username": "admin", "password": "nope"})
            assert wrong.status_code == 401
            ok = anon.http.post("/login", data={"username": "admin", "password": "s3cret",
                                                "next": "/topic"})  # fmt: skip
            assert ok.status_code == 303
            assert ok.headers["location"] == "/topic"
            assert anon.get("/cluster").status_code == 200
            made = anon.post("/api/group", {"cluster": "TestCluster", "group": "by-admin"})
            assert made.status_code == 200
        finally:
            anon.close()
        viewer = ConsoleClient(f"http://{console.addr}")
        try:
            viewer.http.post("/login", data={"username": "viewer", "password": "look"})
            assert viewer.get("/api/groups").status_code == 200
            refused = viewer.post("/api/group", {"cluster": "TestCluster", "group": "nope"})
            assert refused.status_code == 403
            assert "read-only" in refused.json()["error"]
        finally:
            viewer.close()


def test_console_on_a_public_address_refuses_to_start_without_users(tmp_path: Path) -> None:
    import subprocess

    from tests.harness.processes import BIN

    result = subprocess.run([str(BIN / "rmq-console"), "--host", "0.0.0.0", "-p",
                             str(free_port()), "--data-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=30)  # fmt: skip
    assert result.returncode == 2
    assert "login is required" in result.stderr


async def test_online_clients_resend_and_producer_connections(env: Env) -> None:
    topic, group = "WebLive", "web-live-group"
    env.client.post("/api/topic", {"cluster": "TestCluster", "topic": topic,
                                   "readQueueNums": 1, "writeQueueNums": 1})  # fmt: skip
    token = env.client.http.cookies.get("rmq_csrf") or ""
    consumer = PushConsumer(group, config=fast_config(env.namesrv),
                            consume_from_where=CONSUME_FROM_FIRST_OFFSET)  # fmt: skip
    consumer.subscribe(topic, "*")
    inbox = Inbox()
    consumer.register_message_listener(inbox)
    # The console asks this process's consumer to consume again, so requests here must not
    # block the event loop the consumer runs on.
    async with (
        consumer,
        Producer("web-live-producer", config=fast_config(env.namesrv)) as producer,
        httpx.AsyncClient(base_url=f"http://{env.console.addr}", cookies=env.client.http.cookies,
                          headers={"X-CSRF-Token": token}, timeout=30) as web,
    ):  # fmt: skip
        sent = await producer.send(Message(topic, b"consume me twice", keys="live-key"))
        assert await inbox.wait_count(1)
        conn = (await web.get(f"/api/group/{group}/connection")).json()
        assert sorted(s["topic"] for s in conn["subscriptions"]) == sorted(
            [topic, f"%RETRY%{group}"]
        )
        client_id = conn["clients"][0]["clientId"]
        producers: list[dict[str, str]] = []
        for _ in range(100):  # the producer's first heartbeat follows its first route
            asked = {"group": "web-live-producer", "topic": topic}
            producers = (await web.get("/api/producer", params=asked)).json()
            if producers:
                break
            await asyncio.sleep(0.1)
        assert [p["language"] for p in producers] == ["PYTHON"]
        resend = {"topic": topic, "msgId": sent.msg_id, "group": group, "clientId": client_id}
        again = await web.post("/api/message/resend", json=resend)
        assert again.status_code == 200, again.text
        assert again.json()["consumeResult"] == "CR_SUCCESS"
        assert await inbox.wait_count(2)
        tracks: list[dict[str, str]] = []
        for _ in range(100):  # CONSUMED once the consumer has committed its offset
            view = await web.get("/api/message", params={"topic": topic, "id": sent.msg_id})
            tracks = view.json()["tracks"]
            if tracks and tracks[0]["type"] == "CONSUMED":
                break
            await asyncio.sleep(0.1)
        assert tracks == [{"group": group, "type": "CONSUMED", "desc": ""}]
    nobody = env.client.get("/api/producer", group="no-such-producer", topic=topic)
    assert nobody.json() == []
