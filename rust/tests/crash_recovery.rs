#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure should stop the test"
)]
//! Crash recovery on real files: a store's directory as a crash leaves it (copied while the
//! store runs), then cut or scribbled over at every record boundary and mid-record, must
//! reopen with exactly the intact prefix, consume queues agreeing, and accept new writes.
use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::FileExt;
use std::path::Path;

use _store::codec::record::MessageInput;
use _store::store::{GetStatus, PutStatus, Store, StoreConfig};

const SEGMENT: u64 = 2048;

fn config(root: &Path) -> StoreConfig {
    let mut config = StoreConfig::new(root);
    config.commitlog_segment_size = SEGMENT;
    config.consume_queue_segment_size = 200;
    config.max_hash_slot_num = 64;
    config.max_index_num = 256;
    config
}

fn message(i: usize) -> MessageInput {
    MessageInput {
        topic: "CrashTopic".into(),
        queue_id: i32::try_from(i % 2).unwrap(),
        body: format!("body-{i:04}").repeat(5).into_bytes(),
        properties: format!("TAGS\u{1}Tag{}\u{2}KEYS\u{1}key-{i}", i % 3).into_bytes(),
        born_timestamp: 1,
        born_host: vec![127, 0, 0, 1, 0, 0, 0, 1],
        store_host: vec![127, 0, 0, 1, 0, 0, 0x2A, 0x9F],
        ..MessageInput::default()
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "lock" {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Zero the commitlog from global offset `cut` on, as a crash that lost those bytes would.
fn cut_commitlog(root: &Path, cut: u64) {
    let dir = root.join("commitlog");
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let start: u64 = path.file_name().unwrap().to_str().unwrap().parse().unwrap();
        if start >= cut && start > 0 {
            fs::remove_file(&path).unwrap();
        } else if start + SEGMENT > cut {
            let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
            let from = cut - start;
            file.write_all_at(&vec![0u8; usize::try_from(SEGMENT - from).unwrap()], from)
                .unwrap();
        }
    }
}

fn bodies(store: &Store) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for queue in 0..2 {
        let r = store
            .get("CrashTopic", queue, 0, 1000, usize::MAX, None)
            .unwrap();
        if r.status != GetStatus::Found {
            continue;
        }
        let mut pos = 0;
        while pos < r.buffer.len() {
            let size = usize::try_from(i32::from_be_bytes(
                r.buffer[pos..pos + 4].try_into().unwrap(),
            ))
            .unwrap();
            out.push(r.buffer[pos..pos + size].to_vec());
            pos += size;
        }
    }
    out
}

#[test]
fn every_cut_point_recovers_exactly_the_intact_prefix() {
    let live = tempfile::tempdir().unwrap();
    let store = Store::open(config(live.path())).unwrap();
    let mut ends = Vec::new();
    for i in 0..40 {
        let r = store.put(&[message(i)]).unwrap()[0];
        assert_eq!(r.status, PutStatus::PutOk);
        ends.push(r.phy_offset + u64::from(r.size));
    }
    let snapshot = tempfile::tempdir().unwrap();
    copy_dir(live.path(), snapshot.path());
    drop(store);

    let starts: Vec<u64> = std::iter::once(0).chain(ends.iter().copied()).collect();
    let mut cuts: Vec<u64> = Vec::new();
    for (i, end) in ends.iter().enumerate() {
        cuts.push(*end); // exactly at a boundary
        cuts.push(starts[i] + 3); // inside the size field
        cuts.push(starts[i] + 90); // inside the body
    }
    for cut in cuts {
        let root = tempfile::tempdir().unwrap();
        copy_dir(snapshot.path(), root.path());
        cut_commitlog(root.path(), cut);
        let store = Store::open(config(root.path())).unwrap();
        let intact = ends.iter().filter(|e| **e <= cut).count();
        let found = bodies(&store);
        assert_eq!(found.len(), intact, "cut at {cut}");
        // The index holds exactly the intact messages too.
        for i in [intact.saturating_sub(1), intact] {
            let hits = store
                .query_by_key("CrashTopic", &format!("key-{i}"), 8, 0, i64::MAX)
                .unwrap();
            assert_eq!(hits.len(), usize::from(i < intact), "key-{i}, cut at {cut}");
        }
        // The next message continues the queue where the intact prefix left it.
        let next = store.put(&[message(intact)]).unwrap()[0];
        assert_eq!(
            next.queue_offset,
            u64::try_from(intact / 2).unwrap(),
            "cut at {cut}"
        );
        assert_eq!(bodies(&store).len(), intact + 1);
    }
}

#[test]
fn scribbled_body_ends_the_log_before_that_record() {
    let live = tempfile::tempdir().unwrap();
    let store = Store::open(config(live.path())).unwrap();
    let results: Vec<_> = (0..10)
        .map(|i| store.put(&[message(i)]).unwrap()[0])
        .collect();
    let snapshot = tempfile::tempdir().unwrap();
    copy_dir(live.path(), snapshot.path());
    drop(store);
    let victim = results[6];
    let segment = victim.phy_offset - victim.phy_offset % SEGMENT;
    let path = snapshot
        .path()
        .join("commitlog")
        .join(format!("{segment:020}"));
    let file = fs::OpenOptions::new().write(true).open(path).unwrap();
    file.write_all_at(b"garbage", victim.phy_offset - segment + 100)
        .unwrap();
    drop(file);
    let store = Store::open(config(snapshot.path())).unwrap();
    assert_eq!(bodies(&store).len(), 6);
    let (_, max) = store.commitlog_offsets().unwrap();
    assert_eq!(max, victim.phy_offset);
}

#[test]
fn lost_consume_queue_is_rebuilt_from_the_commitlog() {
    let live = tempfile::tempdir().unwrap();
    let store = Store::open(config(live.path())).unwrap();
    for i in 0..25 {
        store.put(&[message(i)]).unwrap();
    }
    let snapshot = tempfile::tempdir().unwrap();
    copy_dir(live.path(), snapshot.path());
    drop(store);
    fs::remove_dir_all(snapshot.path().join("consumequeue")).unwrap();
    let store = Store::open(config(snapshot.path())).unwrap();
    assert_eq!(store.queue_offsets("CrashTopic", 0).unwrap(), Some((0, 13)));
    assert_eq!(store.queue_offsets("CrashTopic", 1).unwrap(), Some((0, 12)));
    assert_eq!(bodies(&store).len(), 25);
}

#[test]
fn clean_close_removes_abort_and_reopen_keeps_everything() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(config(root.path())).unwrap();
    assert!(root.path().join("abort").exists());
    for i in 0..30 {
        store.put(&[message(i)]).unwrap();
    }
    store.close().unwrap();
    assert!(!root.path().join("abort").exists());
    drop(store);
    let store = Store::open(config(root.path())).unwrap();
    assert_eq!(bodies(&store).len(), 30);
}

#[test]
fn second_open_of_a_root_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let _store = Store::open(config(root.path())).unwrap();
    let err = Store::open(config(root.path())).unwrap_err();
    assert!(err.to_string().contains("held by pid"), "{err}");
}

#[test]
fn get_statuses_and_tag_filter() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(config(root.path())).unwrap();
    let r = store.get("CrashTopic", 0, 0, 32, usize::MAX, None).unwrap();
    assert_eq!(r.status, GetStatus::NoMatchedLogicQueue);
    for i in 0..12 {
        store.put(&[message(i * 2)]).unwrap(); // all to queue 0, tags Tag0/Tag2/Tag1...
    }
    let r = store
        .get("CrashTopic", 0, 12, 32, usize::MAX, None)
        .unwrap();
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetStatus::OffsetOverflowOne, 12)
    );
    let r = store
        .get("CrashTopic", 0, 99, 32, usize::MAX, None)
        .unwrap();
    assert_eq!(
        (r.status, r.next_begin_offset),
        (GetStatus::OffsetOverflowBadly, 0)
    );
    let tag0 = _store::codec::properties::tags_code(b"Tag0");
    let only: HashSet<i64> = [tag0].into_iter().collect();
    let r = store
        .get("CrashTopic", 0, 0, 32, usize::MAX, Some(&only))
        .unwrap();
    assert_eq!(
        (r.status, r.count, r.next_begin_offset),
        (GetStatus::Found, 4, 12)
    );
    let r = store.get("CrashTopic", 0, 0, 3, usize::MAX, None).unwrap();
    assert_eq!((r.count, r.next_begin_offset), (3, 3));
    let none: HashSet<i64> = [7].into_iter().collect();
    let r = store
        .get("CrashTopic", 0, 0, 32, usize::MAX, Some(&none))
        .unwrap();
    assert_eq!(r.status, GetStatus::NoMatchedMessage);
}

/// The checkpoint says nothing was durable (a crash right after start-up): abnormal recovery
/// must then scan from the first segment, not only the last three, and stop at damage there.
#[test]
fn abnormal_recovery_scans_back_to_the_checkpoint() {
    let root = tempfile::tempdir().unwrap();
    let store = Store::open(config(root.path())).unwrap();
    let mut ends = Vec::new();
    for i in 0..120 {
        let put = store.put(&[message(i)]).unwrap();
        ends.push(put[0].phy_offset + u64::from(put[0].size));
    }
    store.close().unwrap();
    let segments = fs::read_dir(root.path().join("commitlog")).unwrap().count();
    assert!(segments >= 6, "{segments} segments");
    let checkpoint = fs::read(root.path().join("checkpoint")).unwrap();
    assert_eq!(checkpoint.len(), 4096);
    assert!(i64::from_be_bytes(checkpoint[..8].try_into().unwrap()) > 0);

    // Scribble over a record in the second segment, zero the checkpoint, mark a crash.
    let victim = ends.iter().position(|&e| e > SEGMENT + 300).unwrap();
    let at = ends[victim - 1] + 90; // inside the body, which the CRC covers
    let second = root.path().join("commitlog").join(format!("{SEGMENT:020}"));
    let file = fs::OpenOptions::new().write(true).open(&second).unwrap();
    file.write_all_at(b"\xFF\xFF\xFF\xFF", at - SEGMENT)
        .unwrap();
    drop(file);
    fs::write(root.path().join("checkpoint"), vec![0u8; 4096]).unwrap();
    fs::write(root.path().join("abort"), b"").unwrap();

    let store = Store::open(config(root.path())).unwrap();
    let (_, max) = store.commitlog_offsets().unwrap();
    assert_eq!(max, ends[victim - 1], "cut at the damaged record");
    let mut queued = 0;
    for queue in 0..2 {
        queued += store.queue_offsets("CrashTopic", queue).unwrap().unwrap().1;
    }
    assert_eq!(queued, u64::try_from(victim).unwrap());
}

/// Recovery reads a segment in windows; records that straddle a window edge still count.
#[test]
fn recovery_reads_records_across_its_read_windows() {
    let root = tempfile::tempdir().unwrap();
    let mut big = config(root.path());
    big.commitlog_segment_size = 32 << 20;
    big.max_message_size = 2 << 20;
    let store = Store::open(big.clone()).unwrap();
    for i in 0..20 {
        let m = MessageInput {
            body: vec![u8::try_from(i).unwrap(); 1_500_000],
            ..message(i)
        };
        assert_eq!(store.put(&[m]).unwrap()[0].status, PutStatus::PutOk);
    }
    let (_, before) = store.commitlog_offsets().unwrap();
    store.close().unwrap();
    fs::write(root.path().join("checkpoint"), vec![0u8; 4096]).unwrap();
    fs::write(root.path().join("abort"), b"").unwrap();
    let store = Store::open(big).unwrap();
    assert_eq!(store.commitlog_offsets().unwrap(), (0, before));
}
