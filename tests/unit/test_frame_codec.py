"""The frame codec: round trips, limits, and that no input raises anything but FrameError."""

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmq.remoting.command import FLAG_RESPONSE, RemotingCommand, SerializeType
from rmq.remoting.frame import FrameDecoder, FrameError, encode

texts = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=20)
int32 = st.integers(-(2**31), 2**31 - 1)
commands = st.builds(
    RemotingCommand,
    code=st.integers(-(2**15), 2**15 - 1),
    opaque=int32,
    flag=st.integers(0, 3),
    language=st.integers(0, 12),
    version=st.integers(0, 2**15 - 1),
    remark=st.none() | texts,
    ext_fields=st.none() | st.dictionaries(texts, texts, min_size=1, max_size=5),
    body=st.none() | st.binary(min_size=1, max_size=64),
    serialize_type=st.sampled_from(SerializeType),
)


@given(commands)
def test_encode_then_decode_is_identity(cmd: RemotingCommand) -> None:
    (back,) = FrameDecoder().feed(encode(cmd))
    assert back == cmd


@settings(max_examples=500)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_frame_error(data: bytes) -> None:
    decoder = FrameDecoder(max_frame_length=4096)
    with contextlib.suppress(FrameError):
        decoder.feed(data)


@settings(max_examples=300)
@given(st.sampled_from([0, 1]), st.binary(max_size=120), st.binary(max_size=16))
def test_arbitrary_headers_raise_only_frame_error(kind: int, header: bytes, body: bytes) -> None:
    frame = struct.pack(">ii", 4 + len(header) + len(body), (kind << 24) | len(header))
    with contextlib.suppress(FrameError):
        FrameDecoder().feed(frame + header + body)


@pytest.mark.parametrize("length", [-1, 0, 3, 16 * 1024 * 1024 - 3])
def test_length_outside_the_limit_is_refused_before_reading_the_frame(length: int) -> None:
    with pytest.raises(FrameError, match="frame length"):
        FrameDecoder().feed(struct.pack(">i", length))


def test_unknown_serialize_type_is_refused() -> None:
    with pytest.raises(FrameError, match="serialize type 5"):
        FrameDecoder().feed(struct.pack(">ii", 6, (5 << 24) | 2) + b"{}")


def test_header_length_past_the_frame_is_refused() -> None:
    with pytest.raises(FrameError, match="header length"):
        FrameDecoder().feed(struct.pack(">ii", 6, 100) + b"{}")


def test_truncated_frame_waits_for_more_bytes() -> None:
    raw = encode(RemotingCommand(code=105, opaque=1, ext_fields={"topic": "T"}))
    decoder = FrameDecoder()
    assert decoder.feed(raw[:-1]) == []
    assert decoder.buffered == len(raw) - 1
    assert [c.opaque for c in decoder.feed(raw[-1:])] == [1]


def test_json_header_fields_of_other_types_are_turned_into_strings() -> None:
    header = b'{"code":105,"extFields":{"a":1,"b":true,"c":null},"flag":0,"language":"GO"}'
    frame = struct.pack(">ii", 4 + len(header), len(header)) + header
    (cmd,) = FrameDecoder().feed(frame)
    assert cmd.ext_fields == {"a": "1", "b": "true"}


def test_json_header_without_code_is_refused() -> None:
    header = b'{"opaque":1}'
    with pytest.raises(FrameError, match="no code"):
        FrameDecoder().feed(struct.pack(">ii", 4 + len(header), len(header)) + header)


def test_response_answers_in_the_request_serialize_type() -> None:
    req = RemotingCommand(code=105, opaque=77, serialize_type=SerializeType.ROCKETMQ)
    resp = req.answer(17, "no route")
    assert (resp.opaque, resp.flag, resp.serialize_type) == (77, FLAG_RESPONSE, req.serialize_type)
