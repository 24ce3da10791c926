"""The broker's per-topic and per-group counters behind VIEW_BROKER_STATS_DATA."""

from rmq.broker.stats_items import GROUP_GET_NUMS, TOPIC_PUT_NUMS, StatsItems


def test_unknown_counter_has_no_snapshot() -> None:
    items = StatsItems()
    assert items.snapshot(TOPIC_PUT_NUMS, "T", 0.0) is None
    assert items.minute_tps(TOPIC_PUT_NUMS, "T") == 0.0


def test_windows_sum_rate_and_average_per_increment() -> None:
    items = StatsItems()
    items.add(TOPIC_PUT_NUMS, "T", 0, 0)
    items.sample(1000.0)
    for _ in range(10):
        items.add(TOPIC_PUT_NUMS, "T", 30)  # ten sends of 30 messages
    items.sample(1010.0)
    snap = items.snapshot(TOPIC_PUT_NUMS, "T", 1020.0)
    assert snap is not None
    minute = snap["statsMinute"]
    assert minute["sum"] == 300
    assert minute["tps"] == 300 / 20  # first sample to now
    assert minute["avgpt"] == 30
    # Hour and day samples are taken once per period: the first at 1000 s.
    assert snap["statsHour"]["sum"] == 300
    assert items.minute_tps(TOPIC_PUT_NUMS, "T") == 300 / 10


def test_counters_are_kept_per_key() -> None:
    items = StatsItems()
    items.sample(0.0)
    items.add(GROUP_GET_NUMS, "T@g1", 5)
    items.add(GROUP_GET_NUMS, "T@g2", 7)
    items.sample(10.0)
    items.add(GROUP_GET_NUMS, "T@g1", 5)
    one = items.snapshot(GROUP_GET_NUMS, "T@g1", 20.0)
    two = items.snapshot(GROUP_GET_NUMS, "T@g2", 20.0)
    assert one is not None
    assert two is not None
    # Counted from each key's first sample (taken at 10 s, when the key existed).
    assert one["statsMinute"]["sum"] == 5
    assert two["statsMinute"]["sum"] == 0
