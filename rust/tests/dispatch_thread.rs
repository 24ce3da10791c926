#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure should stop the test"
)]
//! The dispatch thread: records get their consume-queue and index entries with no reader
//! asking (Java's reput), replicated bytes too, and the loop's wake-up fd hears of those.
mod common;

use std::io::{ErrorKind, Read};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use _store::codec::record::MessageInput;
use _store::store::{GetStatus, Store, StoreConfig};

fn config(root: &Path) -> StoreConfig {
    common::small_config(root, 400, 32)
}

fn message(i: usize, queue_id: i32) -> MessageInput {
    MessageInput {
        topic: "ReputTopic".into(),
        queue_id,
        body: format!("message-{i}").into_bytes(),
        properties: format!("UNIQ_KEY\u{1}UNIQ{i:04}").into_bytes(),
        born_host: vec![127, 0, 0, 1, 0, 0, 0, 1],
        store_host: vec![127, 0, 0, 1, 0, 0, 0x2A, 0x9F],
        ..MessageInput::default()
    }
}

/// True once the dispatch thread alone has brought `dispatched` to `upto` (nothing here
/// reads, so nothing else dispatches).
fn dispatched_by_thread(store: &Store, upto: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if store.progress().dispatched.load(Ordering::Acquire) >= upto {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

/// Whether a wake-up byte was waiting on the loop's end of the socket (drains it).
fn woken(store: &Store) -> bool {
    let mut reader = &store.progress().reader;
    let mut buf = [0u8; 64];
    let mut any = false;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return any,
            Ok(_) => any = true,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return any,
            Err(e) => panic!("{e}"),
        }
    }
}

#[test]
fn puts_are_dispatched_by_the_thread_across_segment_ends() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(config(root.path())).unwrap();
    for i in 0..60 {
        store.put(&[message(i, 0)]).unwrap();
    }
    // Batches whose records straddle segment ends (a filler closes each segment).
    for i in (60..200).step_by(7) {
        let batch: Vec<_> = (i..i + 7).map(|j| message(j, 1)).collect();
        store.put(&batch).unwrap();
    }
    let (_, end) = store.commitlog_offsets().unwrap();
    assert!(end > 4 * 4096, "the puts span several segments");
    assert!(
        dispatched_by_thread(&store, end),
        "dispatched {} of {end}",
        store.progress().dispatched.load(Ordering::Acquire)
    );
    assert_eq!(store.queue_offsets("ReputTopic", 0).unwrap(), Some((0, 60)));
    assert_eq!(
        store.queue_offsets("ReputTopic", 1).unwrap(),
        Some((0, 140))
    );
    let got = store
        .get("ReputTopic", 1, 0, 200, usize::MAX, None)
        .unwrap();
    assert_eq!((got.status, got.count), (GetStatus::Found, 140));
    let hit = store
        .query_by_key("ReputTopic", "UNIQ0150", 4, 0, i64::MAX)
        .unwrap();
    assert_eq!(hit.len(), 1);
    // The thread's units are what a restart finds.
    drop(store);
    let store = Store::open(config(root.path())).unwrap();
    assert_eq!(
        store.queue_offsets("ReputTopic", 1).unwrap(),
        Some((0, 140))
    );
}

#[test]
fn replicated_bytes_are_dispatched_woken_for_and_counted_for_later_puts() {
    let master_root = tempfile::tempdir().unwrap();
    let replica_root = tempfile::tempdir().unwrap();
    let master = Store::open(config(master_root.path())).unwrap();
    let replica = Store::open(config(replica_root.path())).unwrap();
    for i in 0..50 {
        master.put(&[message(i, 0)]).unwrap();
    }
    let (_, end) = master.commitlog_offsets().unwrap();
    woken(&replica);
    let mut pos = 0;
    while pos < end {
        let chunk = master.read_commitlog(pos, 700).unwrap();
        pos = replica.append_replicated(pos, &chunk).unwrap();
    }
    assert!(dispatched_by_thread(&replica, end));
    assert!(
        woken(&replica),
        "held pulls must hear of replicated messages"
    );
    // A replica that takes puts later (a promoted DLedger follower) continues each queue.
    let next = replica.put(&[message(50, 0)]).unwrap()[0];
    assert_eq!((next.queue_offset, next.phy_offset), (50, end));
    assert_eq!(
        replica.queue_offsets("ReputTopic", 0).unwrap(),
        Some((0, 51))
    );
}

#[test]
fn an_idle_store_is_not_woken_by_the_thread() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(config(root.path())).unwrap();
    store.put(&[message(0, 0)]).unwrap();
    let (_, end) = store.commitlog_offsets().unwrap();
    assert!(dispatched_by_thread(&store, end));
    std::thread::sleep(Duration::from_millis(20)); // the counter moves just before the byte
    woken(&store);
    // The loop made that put and tells its own listeners: nothing new to wake it for.
    std::thread::sleep(Duration::from_millis(50));
    assert!(!woken(&store));
}
