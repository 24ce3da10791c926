"""The side-by-side benchmark harness (bench/e2e/compare.py) in its smoke size: seconds, rmq
only, so it cannot rot; the real comparison runs outside CI timing (make bench-compare)."""

import json
from pathlib import Path

import pytest

from bench.e2e import compare

pytestmark = [pytest.mark.compat, pytest.mark.slow]


def test_compare_smoke_writes_json_markdown_and_plot(tmp_path: Path) -> None:
    stem = compare.main(["--smoke", "--out", str(tmp_path)])
    report = json.loads(stem.with_suffix(".json").read_text())
    assert report["machine"]["nproc"] >= 1
    assert report["machine"]["seq_write_MB_s"] > 0
    rows = report["summary"]["workloads"]
    assert set(rows) == {"send-128", "consume", "send+consume"}
    # The rate needs two deliveries to span a time; on a loaded box a late consumer may get
    # the whole smoke run in one, so what must hold is that it received messages.
    mixed = [r for r in report["runs"] if r["workload"] == "send+consume"]
    assert [r["consumed"] > 0 for r in mixed] == [True]
    send = rows["send-128"]["rmq"]
    assert send["tps"]["median"] > 0
    assert send["p99_ms"]["median"] > 0
    assert send["cpu_s_per_million"]["median"] > 0
    # Everything the send stored was read back.
    runs = {r["workload"]: r for r in report["runs"]}
    assert runs["consume"]["messages"] == runs["send-128"]["messages"]
    pair = report["summary"]["pairs"]["rmq"]
    assert pair["boot_s"]["median"] > 0
    assert 100 < pair["store_bytes_per_msg"]["median"] < 1000  # a 128 B body and its header
    table = stem.with_suffix(".md").read_text()
    assert "| send-128 |" in table
    assert stem.with_suffix(".png").stat().st_size > 0
