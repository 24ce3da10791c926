"""Frames encoded by the official Java RemotingCommand (tests/fixtures/remoting, captured with
``RmqCompat fixtures``) decode to the right fields, and rmq re-encodes them byte for byte."""

from pathlib import Path

import pytest

from rmq.common.codes import LanguageCode, RequestCode, ResponseCode
from rmq.remoting.command import SerializeType
from rmq.remoting.frame import FrameDecoder, encode

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "remoting"
ENCODINGS = {"json": SerializeType.JSON, "rocketmq": SerializeType.ROCKETMQ}


def load(name: str, encoding: str) -> bytes:
    return (FIXTURES / f"{name}.{encoding}.bin").read_bytes()


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_java_route_request_decodes(encoding: str) -> None:
    (cmd,) = FrameDecoder().feed(load("get_route_request", encoding))
    assert cmd.code == RequestCode.GET_ROUTEINFO_BY_TOPIC
    assert cmd.opaque == 42
    assert cmd.language == LanguageCode.JAVA
    assert cmd.version == 407
    assert not cmd.is_response
    assert not cmd.is_oneway
    assert cmd.ext_fields == {"topic": "TopicTest"}
    assert cmd.serialize_type is ENCODINGS[encoding]
    assert cmd.body is None


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_java_response_with_remark_decodes(encoding: str) -> None:
    (cmd,) = FrameDecoder().feed(load("topic_not_exist_response", encoding))
    assert cmd.code == ResponseCode.TOPIC_NOT_EXIST
    assert cmd.is_response
    assert cmd.remark == "No topic route info in name server for the topic: TopicTest"


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_java_send_v2_request_keeps_control_characters_and_body(encoding: str) -> None:
    (cmd,) = FrameDecoder().feed(load("send_v2_request", encoding))
    assert cmd.code == RequestCode.SEND_MESSAGE_V2
    assert cmd.body == b"Hello RocketMQ"
    assert cmd.ext_fields is not None
    assert cmd.ext_fields["a"] == "ProducerGroup"
    assert cmd.ext_fields["i"] == "TAGS\x01TagA\x02KEYS\x01key-1\x02UNIQ_KEY\x01ABCDEF\x02"
    assert cmd.ext_fields["k"] == "false"
    assert cmd.ext_fields["bname"] == "broker-a"


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_java_oneway_request_with_non_ascii_value(encoding: str) -> None:
    (cmd,) = FrameDecoder().feed(load("put_kv_oneway_request", encoding))
    assert cmd.is_oneway
    assert cmd.ext_fields == {"namespace": "ns", "key": "k", "value": "中文 value"}


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize(
    "name",
    ["get_route_request", "topic_not_exist_response", "send_v2_request", "put_kv_oneway_request"],
)
def test_rmq_reencodes_java_frames_byte_for_byte(name: str, encoding: str) -> None:
    raw = load(name, encoding)
    (cmd,) = FrameDecoder().feed(raw)
    assert encode(cmd) == raw


def test_frames_split_at_every_byte_boundary_decode_the_same() -> None:
    stream = b"".join(load(n, "rocketmq") for n in ("get_route_request", "send_v2_request"))
    for cut in range(len(stream) + 1):
        decoder = FrameDecoder()
        got = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
        assert [c.code for c in got] == [105, 310]
        assert decoder.buffered == 0
