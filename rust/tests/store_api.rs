#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure should stop the test"
)]
//! The engine's read APIs and HA hooks on real files: key lookup, time search, replication
//! between two stores, truncation of a diverged suffix.
mod common;

use std::path::Path;

use _store::codec::record::MessageInput;
use _store::store::{GetStatus, Store, StoreConfig};

fn config(root: &Path) -> StoreConfig {
    common::small_config(root, 400, 32)
}

fn message(i: usize, keys: &str) -> MessageInput {
    MessageInput {
        topic: "ApiTopic".into(),
        queue_id: 0,
        body: format!("message-{i}").into_bytes(),
        properties: format!("KEYS\u{1}{keys}\u{2}UNIQ_KEY\u{1}UNIQ{i:04}").into_bytes(),
        born_host: vec![127, 0, 0, 1, 0, 0, 0, 1],
        store_host: vec![127, 0, 0, 1, 0, 0, 0x2A, 0x9F],
        ..MessageInput::default()
    }
}

/// The records of a read's buffer, back to back.
fn records(mut buffer: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !buffer.is_empty() {
        let size = usize::try_from(i32::from_be_bytes(buffer[..4].try_into().unwrap())).unwrap();
        out.push(&buffer[..size]);
        buffer = &buffer[size..];
    }
    out
}

fn body_of(record: &[u8]) -> String {
    let len = usize::try_from(i32::from_be_bytes(record[84..88].try_into().unwrap())).unwrap();
    String::from_utf8(record[88..88 + len].to_vec()).unwrap()
}

#[test]
fn query_by_key_and_unique_key_across_index_files() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(config(root.path())).unwrap();
    for i in 0..40 {
        store
            .put(&[message(i, &format!("order-{} shared", i % 5))])
            .unwrap();
    }
    let hits = store
        .query_by_key("ApiTopic", "order-3", 64, 0, i64::MAX)
        .unwrap();
    let mut bodies: Vec<_> = hits.iter().map(|r| body_of(r)).collect();
    bodies.sort();
    let expected: Vec<_> = (0..40)
        .filter(|i| i % 5 == 3)
        .map(|i| format!("message-{i}"))
        .collect();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(bodies, expected_sorted);
    let uniq = store
        .query_by_key("ApiTopic", "UNIQ0017", 64, 0, i64::MAX)
        .unwrap();
    assert_eq!(
        uniq.iter().map(|r| body_of(r)).collect::<Vec<_>>(),
        ["message-17"]
    );
    assert_eq!(
        store
            .query_by_key("ApiTopic", "shared", 5, 0, i64::MAX)
            .unwrap()
            .len(),
        5
    );
    assert!(store
        .query_by_key("Other", "order-3", 64, 0, i64::MAX)
        .unwrap()
        .is_empty());
    assert!(store
        .query_by_key("ApiTopic", "order-3", 64, 0, 1)
        .unwrap()
        .is_empty());
    drop(store);
    // A clean reopen keeps the index.
    let store = Store::open(config(root.path())).unwrap();
    assert_eq!(
        store
            .query_by_key("ApiTopic", "UNIQ0039", 64, 0, i64::MAX)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn search_offset_and_earliest_time() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(config(root.path())).unwrap();
    assert_eq!(store.earliest_store_time("ApiTopic", 0).unwrap(), None);
    let first = store.put(&[message(0, "a")]).unwrap()[0];
    std::thread::sleep(std::time::Duration::from_millis(30));
    let second = store.put(&[message(1, "b")]).unwrap()[0];
    assert_eq!(
        store.earliest_store_time("ApiTopic", 0).unwrap(),
        Some(first.store_timestamp)
    );
    assert_eq!(store.search_offset("ApiTopic", 0, 0).unwrap(), 0);
    assert_eq!(
        store
            .search_offset("ApiTopic", 0, second.store_timestamp)
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .search_offset("ApiTopic", 0, second.store_timestamp - 1)
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .search_offset("ApiTopic", 0, first.store_timestamp + 1)
            .unwrap(),
        0
    );
    assert_eq!(store.search_offset("ApiTopic", 0, i64::MAX).unwrap(), 1);
    assert_eq!(store.search_offset("Nope", 0, 0).unwrap(), 0);
}

#[test]
fn replica_built_from_raw_bytes_matches_the_master() {
    let master_root = tempfile::tempdir().unwrap();
    let slave_root = tempfile::tempdir().unwrap();
    let master = Store::open(config(master_root.path())).unwrap();
    let slave = Store::open(config(slave_root.path())).unwrap();
    for i in 0..100 {
        master.put(&[message(i, "k")]).unwrap();
    }
    let (_, master_end) = master.commitlog_offsets().unwrap();
    let mut pos = 0;
    while pos < master_end {
        let chunk = master.read_commitlog(pos, 1000).unwrap();
        assert!(!chunk.is_empty());
        pos = slave.append_replicated(pos, &chunk).unwrap();
    }
    assert_eq!(slave.commitlog_offsets().unwrap(), (0, master_end));
    assert_eq!(
        slave.read_commitlog(0, 8192).unwrap(),
        master.read_commitlog(0, 8192).unwrap()
    );
    assert_eq!(slave.queue_offsets("ApiTopic", 0).unwrap(), Some((0, 100)));
    let got = slave.get("ApiTopic", 0, 98, 32, usize::MAX, None).unwrap();
    assert_eq!((got.status, got.count), (GetStatus::Found, 2));
    assert_eq!(
        slave
            .query_by_key("ApiTopic", "UNIQ0050", 4, 0, i64::MAX)
            .unwrap()
            .len(),
        1
    );
    // A gap or an overlap is refused, and nothing is written.
    let err = slave.append_replicated(master_end + 10, b"x").unwrap_err();
    assert!(
        err.to_string().contains("do not continue this log"),
        "{err}"
    );
    assert!(slave.append_replicated(0, b"x").is_err());
    assert_eq!(slave.commitlog_offsets().unwrap(), (0, master_end));
}

#[test]
fn truncating_a_suffix_rolls_queues_and_index_back() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(config(root.path())).unwrap();
    let results: Vec<_> = (0..30)
        .map(|i| store.put(&[message(i, "t")]).unwrap()[0])
        .collect();
    let cut = results[20].phy_offset;
    store.truncate_commitlog(cut).unwrap();
    assert_eq!(store.queue_offsets("ApiTopic", 0).unwrap(), Some((0, 20)));
    assert!(store
        .query_by_key("ApiTopic", "UNIQ0025", 4, 0, i64::MAX)
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .query_by_key("ApiTopic", "UNIQ0019", 4, 0, i64::MAX)
            .unwrap()
            .len(),
        1
    );
    let next = store.put(&[message(99, "t")]).unwrap()[0];
    assert_eq!((next.queue_offset, next.phy_offset), (20, cut));
    assert_eq!(
        store
            .query_by_key("ApiTopic", "UNIQ0099", 4, 0, i64::MAX)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn a_dispatch_limit_hides_records_past_it_until_it_moves() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(config(root.path())).unwrap();
    store.put(&[message(0, "a")]).unwrap();
    let committed = store.commitlog_offsets().unwrap().1;
    store.set_dispatch_limit(Some(committed)).unwrap();
    let pending: Vec<_> = (1..40)
        .map(|i| store.put(&[message(i, "b")]).unwrap()[0])
        .collect();
    // Queue offsets are assigned at once; readers see only what is below the limit.
    assert_eq!(pending[38].queue_offset, 39);
    assert_eq!(store.queue_offsets("ApiTopic", 0).unwrap(), Some((0, 1)));
    assert!(store
        .query_by_key("ApiTopic", "UNIQ0005", 4, 0, i64::MAX)
        .unwrap()
        .is_empty());
    let half = pending[19].phy_offset + u64::from(pending[19].size);
    store.set_dispatch_limit(Some(half)).unwrap();
    assert_eq!(store.queue_offsets("ApiTopic", 0).unwrap(), Some((0, 21)));
    // A cut back to the limit forgets the hidden records; the next put reuses their slots.
    store.truncate_commitlog(half).unwrap();
    store.set_dispatch_limit(None).unwrap();
    let next = store.put(&[message(99, "c")]).unwrap()[0];
    assert_eq!((next.queue_offset, next.phy_offset), (21, half));
    assert_eq!(store.queue_offsets("ApiTopic", 0).unwrap(), Some((0, 22)));
}

#[test]
fn sql_filtered_reads_scan_at_most_java_s_800_units() {
    use _store::filter::sql92::{Constant, Expr, OrderOp};
    use _store::store::MessageFilter;
    let root = tempfile::tempdir().unwrap();
    let mut cfg = config(root.path());
    cfg.commitlog_segment_size = 1 << 20;
    cfg.consume_queue_segment_size = 20 * 1000;
    let store = Store::open(cfg).unwrap();
    let batch: Vec<_> = (0..1000)
        .map(|i| MessageInput {
            properties: format!("a\u{1}{}", i % 10).into_bytes(),
            ..message(i, "k")
        })
        .collect();
    store.put(&batch).unwrap();
    assert_eq!(store.queue_offsets("ApiTopic", 0).unwrap(), Some((0, 1000)));
    let prop = || Box::new(Expr::Property("a".into()));
    let at_least = |v| {
        Expr::Order(
            OrderOp::GreaterOrEqual,
            prop(),
            Box::new(Expr::Constant(Constant::Int(v))),
        )
    };
    let half = at_least(5);
    let got = store
        .get_filtered("ApiTopic", 0, 0, 32, usize::MAX, &MessageFilter::Sql(&half))
        .unwrap();
    assert_eq!((got.status, got.count), (GetStatus::Found, 32));
    // Five of every ten match: the 32nd is message 66, so the next read starts at 67.
    assert_eq!(got.next_begin_offset, 67);
    let bodies: Vec<_> = records(&got.buffer).into_iter().map(body_of).collect();
    assert_eq!(bodies[..3], ["message-5", "message-6", "message-7"]);
    // Nothing matches: the read stops after 800 units and says where to go on from.
    let none = at_least(10);
    let got = store
        .get_filtered("ApiTopic", 0, 0, 32, usize::MAX, &MessageFilter::Sql(&none))
        .unwrap();
    assert_eq!(
        (got.status, got.count, got.next_begin_offset),
        (GetStatus::NoMatchedMessage, 0, 800)
    );
}

#[test]
fn reads_cross_segment_ends_and_return_every_record_in_order() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(config(root.path())).unwrap();
    for i in 0..300 {
        store.put(&[message(i, "k")]).unwrap();
    }
    let (mut offset, mut bodies) = (0, Vec::new());
    while offset < 300 {
        let got = store.get("ApiTopic", 0, offset, 32, 2000, None).unwrap();
        assert_eq!(got.status, GetStatus::Found);
        bodies.extend(records(&got.buffer).into_iter().map(body_of));
        assert!(got.buffer.len() <= 2000);
        offset = got.next_begin_offset;
    }
    let expected: Vec<_> = (0..300).map(|i| format!("message-{i}")).collect();
    assert_eq!(bodies, expected);
}

#[test]
fn batches_that_cross_segment_ends_are_all_readable_by_queue_offset_and_key() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(config(root.path())).unwrap();
    // 4 KiB segments and ~100-byte records: most batches of 7 end a segment with a filler
    // part way through and go on in the next, all dispatched from what encoding learnt.
    let mut puts = Vec::new();
    for b in 0..20 {
        let batch: Vec<_> = (0..7)
            .map(|j| message(b * 7 + j, &format!("b{b}")))
            .collect();
        puts.extend(store.put(&batch).unwrap());
    }
    let offsets: Vec<u64> = puts.iter().map(|p| p.queue_offset).collect();
    assert_eq!(offsets, (0..140).collect::<Vec<u64>>());
    let (mut offset, mut count) = (0, 0);
    while offset < 140 {
        let got = store.get("ApiTopic", 0, offset, 32, 1 << 20, None).unwrap();
        assert_eq!(got.status, GetStatus::Found);
        for record in records(&got.buffer) {
            assert_eq!(body_of(record), format!("message-{count}"));
            count += 1;
        }
        offset = got.next_begin_offset;
    }
    assert_eq!(count, 140);
    for p in &puts {
        let record = store.read_record(p.phy_offset).unwrap().unwrap();
        let i = usize::try_from(p.queue_offset).unwrap();
        assert_eq!(body_of(&record), format!("message-{i}"));
        let uniq = store
            .query_by_key("ApiTopic", &format!("UNIQ{i:04}"), 4, 0, i64::MAX)
            .unwrap();
        assert_eq!(uniq.len(), 1);
        assert_eq!(body_of(&uniq[0]), format!("message-{i}"));
    }
    let hits = store
        .query_by_key("ApiTopic", "b3", 32, 0, i64::MAX)
        .unwrap();
    assert_eq!(hits.len(), 7);
}

#[test]
fn moved_queues_are_handed_out_once_each_with_their_max_offset() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(config(root.path())).unwrap();
    let on = |queue_id: i32, i: usize| MessageInput {
        queue_id,
        ..message(i, "k")
    };
    store.put(&[on(0, 0), on(1, 1), on(0, 2)]).unwrap();
    let mut moved = store.take_moved_queues().unwrap();
    moved.sort();
    assert_eq!(
        moved,
        vec![("ApiTopic".to_owned(), 0, 2), ("ApiTopic".to_owned(), 1, 1)]
    );
    assert!(store.take_moved_queues().unwrap().is_empty());
    store.put(&[on(1, 3)]).unwrap();
    store.put(&[on(1, 4)]).unwrap();
    assert_eq!(
        store.take_moved_queues().unwrap(),
        vec![("ApiTopic".to_owned(), 1, 3)]
    );
}
