"""Requests a test sends to a broker, built as the Java client builds them."""

import time

from rmq.common import fastjson
from rmq.common.batch import BatchElement, encode_batch
from rmq.common.codes import RequestCode
from rmq.common.message import encode_properties
from rmq.common.send_header import V2_NAMES
from rmq.remoting.command import RemotingCommand, request

V2 = V2_NAMES


def send_headers(
    topic: str, queue_id: int, properties: dict[str, str], *, batch: bool = False,
    sys_flag: int = 0, group: str = "test_producer",
) -> dict[str, str]:  # fmt: skip
    return {
        "producerGroup": group,
        "topic": topic,
        "defaultTopic": "TBW102",
        "defaultTopicQueueNums": "4",
        "queueId": str(queue_id),
        "sysFlag": str(sys_flag),
        "bornTimestamp": str(int(time.time() * 1000)),
        "flag": "0",
        "properties": encode_properties(properties),
        "reconsumeTimes": "0",
        "unitMode": "false",
        "batch": "true" if batch else "false",
    }


def send_request(
    topic: str,
    body: bytes,
    *,
    queue_id: int = 0,
    properties: dict[str, str] | None = None,
    v2: bool = True,
    sys_flag: int = 0,
    group: str = "test_producer",
    extra_headers: dict[str, str] | None = None,
) -> RemotingCommand:
    headers = send_headers(
        topic, queue_id, {"WAIT": "true", **(properties or {})}, sys_flag=sys_flag, group=group
    )
    headers.update(extra_headers or {})
    if v2:
        return request(RequestCode.SEND_MESSAGE_V2, {V2[k]: v for k, v in headers.items()}, body)
    return request(RequestCode.SEND_MESSAGE, headers, body)


def batch_request(topic: str, bodies: list[bytes], queue_id: int = 0) -> RemotingCommand:
    elements = [
        BatchElement(0, b, encode_properties({"KEYS": f"batch-{i}", "TAGS": "TagB"}))
        for i, b in enumerate(bodies)
    ]
    headers = send_headers(topic, queue_id, {"WAIT": "true"}, batch=True)
    return request(
        RequestCode.SEND_BATCH_MESSAGE,
        {V2[k]: v for k, v in headers.items()},
        encode_batch(elements),
    )


def pull_request(
    group: str,
    topic: str,
    queue_id: int,
    offset: int,
    *,
    max_nums: int = 32,
    suspend_ms: int = 0,
    subscription: str = "*",
    expression_type: str = "TAG",
    commit_offset: int | None = None,
    with_subscription: bool = True,
    sub_version: int | None = None,
) -> RemotingCommand:
    flag = 0x4 if with_subscription else 0
    if suspend_ms:
        flag |= 0x2
    if commit_offset is not None:
        flag |= 0x1
    return request(
        RequestCode.PULL_MESSAGE,
        {
            "consumerGroup": group,
            "topic": topic,
            "queueId": str(queue_id),
            "queueOffset": str(offset),
            "maxMsgNums": str(max_nums),
            "sysFlag": str(flag),
            "commitOffset": str(commit_offset or 0),
            "suspendTimeoutMillis": str(suspend_ms),
            "subscription": subscription,
            "subVersion": str(int(time.time() * 1000) if sub_version is None else sub_version),
            "expressionType": expression_type,
        },
    )


def consumer_heartbeat(
    client_id: str,
    group: str,
    subscriptions: list[tuple[str, str, str]],
    message_model: str = "CLUSTERING",
) -> RemotingCommand:
    """HEART_BEAT of one consumer; subscriptions are (topic, expression, expression type)."""
    subs = [
        {"classFilterMode": False, "codeSet": [], "expressionType": kind,
         "subString": expression, "subVersion": int(time.time() * 1000),
         "tagsSet": [], "topic": topic}
        for topic, expression, kind in subscriptions
    ]  # fmt: skip
    body = {
        "clientID": client_id,
        "consumerDataSet": [
            {
                "consumeFromWhere": "CONSUME_FROM_LAST_OFFSET",
                "consumeType": "CONSUME_PASSIVELY",
                "groupName": group,
                "messageModel": message_model,
                "subscriptionDataSet": subs,
                "unitMode": False,
            }
        ],
        "producerDataSet": [],
    }
    return request(RequestCode.HEART_BEAT, body=fastjson.dumps(body))
