"""Frame encode/decode of Java-captured frames, both header encodings (pytest-benchmark)."""

from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from rmq.remoting.frame import FrameDecoder, encode

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "remoting"
FRAMES = ["get_route_request", "send_v2_request"]
ENCODINGS = ["json", "rocketmq"]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("frame", FRAMES)
def test_decode(benchmark: BenchmarkFixture, frame: str, encoding: str) -> None:
    raw = (FIXTURES / f"{frame}.{encoding}.bin").read_bytes()
    benchmark.group = f"decode {frame}"
    benchmark.extra_info.update(encoding=encoding, frame_bytes=len(raw))
    decoder = FrameDecoder()
    (cmd,) = benchmark(decoder.feed, raw)
    assert encode(cmd) == raw


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("frame", FRAMES)
def test_encode(benchmark: BenchmarkFixture, frame: str, encoding: str) -> None:
    raw = (FIXTURES / f"{frame}.{encoding}.bin").read_bytes()
    (cmd,) = FrameDecoder().feed(raw)
    benchmark.group = f"encode {frame}"
    benchmark.extra_info.update(encoding=encoding, frame_bytes=len(raw))
    assert benchmark(encode, cmd) == raw


def test_decode_batch_of_100_pipelined_frames(benchmark: BenchmarkFixture) -> None:
    raw = (FIXTURES / "send_v2_request.rocketmq.bin").read_bytes() * 100
    benchmark.group = "decode pipelined"
    decoder = FrameDecoder()
    assert len(benchmark(decoder.feed, raw)) == 100
