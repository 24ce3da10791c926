#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure should stop the test"
)]
//! Retention and the disk guard on real files: expired segments go oldest first and take
//! their consume-queue and index entries with them; a disk over the warning level refuses
//! writes until a later pass sees room again.
mod common;

use std::path::Path;

use _store::codec::record::MessageInput;
use _store::retention::CleanPolicy;
use _store::store::{GetStatus, PutStatus, Store, StoreConfig};

const DAY_MS: i64 = 24 * 3600 * 1000;

fn config(root: &Path) -> StoreConfig {
    common::small_config(root, 200, 64)
}

fn message(i: usize) -> MessageInput {
    MessageInput {
        topic: "KeepTopic".into(),
        queue_id: 0,
        body: vec![b'x'; 200],
        properties: format!("KEYS\u{1}key-{i}").into_bytes(),
        born_host: vec![127, 0, 0, 1, 0, 0, 0, 1],
        store_host: vec![127, 0, 0, 1, 0, 0, 0x2A, 0x9F],
        ..MessageInput::default()
    }
}

/// Java's defaults, with the window closed and no manual request.
fn policy() -> CleanPolicy {
    CleanPolicy {
        reserved_ms: 72 * 3600 * 1000,
        in_window: false,
        manual: false,
        disk_max_used_ratio: 0.75,
        force_ratio: 0.85,
        clean_forcibly: true,
        warning_ratio: 0.90,
        max_files: 10,
    }
}

fn fill(store: &Store, count: usize) {
    for i in 0..count {
        let put = store.put(&[message(i)]).unwrap();
        assert_eq!(put[0].status, PutStatus::PutOk);
    }
}

fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[test]
fn nothing_is_deleted_outside_the_window_or_before_expiry() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(config(root.path())).unwrap();
    fill(&store, 60);
    let before = store.commitlog_offsets().unwrap();
    let report = store.clean(&policy(), now()).unwrap();
    assert_eq!(report.deleted_commitlog, 0);
    let in_window = CleanPolicy {
        in_window: true,
        ..policy()
    };
    let report = store.clean(&in_window, now()).unwrap();
    assert_eq!(report.deleted_commitlog, 0, "files are younger than 72 h");
    assert_eq!(store.commitlog_offsets().unwrap(), before);
}

#[test]
fn expired_segments_go_oldest_first_with_their_queue_and_index_entries() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(config(root.path())).unwrap();
    fill(&store, 60);
    let (min_before, max_before) = store.commitlog_offsets().unwrap();
    assert_eq!(min_before, 0);
    let segments_before = std::fs::read_dir(root.path().join("commitlog"))
        .unwrap()
        .count();
    assert!(segments_before >= 4);

    let in_window = CleanPolicy {
        in_window: true,
        ..policy()
    };
    // Three days and a bit later every segment is expired; the one being written stays.
    let report = store.clean(&in_window, now() + 3 * DAY_MS + 1).unwrap();
    assert_eq!(report.deleted_commitlog, segments_before - 1);
    assert!(report.deleted_consume_queue > 0);
    let (min_after, max_after) = store.commitlog_offsets().unwrap();
    assert_eq!(max_after, max_before);
    assert!(min_after > 0);
    assert_eq!(report.min_offset, min_after);

    // Reads below the new minimum say so; what remains is still served.
    let (queue_min, queue_max) = store.queue_offsets("KeepTopic", 0).unwrap().unwrap();
    assert!(queue_min > 0);
    assert_eq!(queue_max, 60);
    let old = store.get("KeepTopic", 0, 0, 32, 1 << 20, None).unwrap();
    assert_eq!(old.status, GetStatus::OffsetTooSmall);
    assert_eq!(old.next_begin_offset, queue_min);
    let tail = store
        .get("KeepTopic", 0, queue_min, 32, 1 << 20, None)
        .unwrap();
    assert_eq!(tail.status, GetStatus::Found);
    assert!(store
        .query_by_key("KeepTopic", "key-0", 8, 0, i64::MAX)
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .query_by_key("KeepTopic", "key-59", 8, 0, i64::MAX)
            .unwrap()
            .len(),
        1
    );
    store.close().unwrap();

    // The deletion is durable: a restart sees the same bounds.
    let store = Store::open(config(root.path())).unwrap();
    assert_eq!(store.commitlog_offsets().unwrap(), (min_after, max_after));
    assert_eq!(
        store.queue_offsets("KeepTopic", 0).unwrap().unwrap(),
        (queue_min, 60)
    );
    fill(&store, 1);
    assert_eq!(store.queue_offsets("KeepTopic", 0).unwrap().unwrap().1, 61);
}

#[test]
fn a_manual_request_deletes_expired_files_outside_the_window() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(config(root.path())).unwrap();
    fill(&store, 60);
    let manual = CleanPolicy {
        manual: true,
        max_files: 2,
        ..policy()
    };
    let report = store.clean(&manual, now() + 4 * DAY_MS).unwrap();
    assert_eq!(report.deleted_commitlog, 2, "at most max_files per pass");
}

#[test]
fn a_disk_over_the_force_ratio_loses_its_oldest_files_even_unexpired() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(config(root.path())).unwrap();
    fill(&store, 60);
    // Any real disk is over 0 % used, so these ratios force a pass without filling a disk.
    let forced = CleanPolicy {
        disk_max_used_ratio: 0.0,
        force_ratio: 0.0,
        max_files: 1,
        ..policy()
    };
    let report = store.clean(&forced, now()).unwrap();
    assert!(report.disk_ratio > 0.0);
    assert_eq!(report.deleted_commitlog, 1);
    let not_forcibly = CleanPolicy {
        clean_forcibly: false,
        ..forced
    };
    let report = store.clean(&not_forcibly, now()).unwrap();
    assert_eq!(
        report.deleted_commitlog, 0,
        "unexpired files stay without force"
    );
}

#[test]
fn a_full_disk_refuses_writes_until_space_returns() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(config(root.path())).unwrap();
    fill(&store, 3);
    let full = CleanPolicy {
        warning_ratio: 0.0,
        ..policy()
    };
    let report = store.clean(&full, now()).unwrap();
    assert!(report.disk_full);
    let refused = store.put(&[message(3)]).unwrap();
    assert_eq!(refused[0].status, PutStatus::ServiceNotAvailable);
    assert_eq!(store.queue_offsets("KeepTopic", 0).unwrap().unwrap().1, 3);
    // What was acknowledged before stays readable.
    let got = store.get("KeepTopic", 0, 0, 32, 1 << 20, None).unwrap();
    assert_eq!(got.count, 3);

    let roomy = CleanPolicy {
        warning_ratio: 1.0,
        ..policy()
    };
    assert!(!store.clean(&roomy, now()).unwrap().disk_full);
    let accepted = store.put(&[message(3)]).unwrap();
    assert_eq!(accepted[0].status, PutStatus::PutOk);
    assert_eq!(accepted[0].queue_offset, 3);
}
