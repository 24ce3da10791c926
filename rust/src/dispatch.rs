//! Dispatch (Java's `ReputMessageService`): consume-queue and index entries for commitlog
//! records, built off the put path.
//!
//! A put hands what encoding learnt of its records ([`Appended`]) to the dispatch side and
//! returns; the dispatch thread applies those hand-overs, and scans the commitlog itself for
//! bytes nobody described (replication, a DLedger commit, recovery). A reader catches up
//! before it reads, so a message is readable as soon as its put returned.
use std::collections::hash_map::Entry;
use std::path::PathBuf;

use crate::codec::cq::CqUnit;
use crate::codec::record::{self, Check, RecordInfo};
use crate::commitlog::CommitLog;
use crate::consume_queue::ConsumeQueue;
use crate::error::{Result, StoreError};
use crate::index::IndexService;
use crate::QueueMap;

/// How much commitlog one dispatch step reads: more than the largest record (4 MiB body
/// limit + 64 KiB), so a step always makes progress over complete records.
const DISPATCH_CHUNK: usize = 8 * 1024 * 1024;

/// Bytes of consume-queue units buffered before they are written (about 200 units).
const CQ_WRITE_BATCH: usize = 4096;

/// What one put appended: its `(start, length)` chunks in file order (a chunk ends at most
/// with a filler, which no info describes) and the facts encoding learnt of each record, in
/// the same order. The bytes themselves are not handed over: freed on another thread, they
/// cost the allocator more than dispatch saved.
#[derive(Debug)]
pub struct Appended {
    pub chunks: Vec<(u64, u64)>,
    pub infos: Vec<RecordInfo>,
}

/// The dispatch side of the store, behind its own lock (taken before the put lock when a
/// caller needs both).
#[derive(Debug)]
pub struct Queues {
    pub queues: QueueMap<ConsumeQueue>,
    pub index: Option<IndexService>,
    pub cq_root: PathBuf,
    pub cq_segment_size: u64,
    /// The commitlog's segment size: a filler runs to the end of its segment.
    pub cl_segment_size: u64,
    /// Every record below this has its consume-queue and index entries.
    pub dispatched: u64,
    /// Store time of the newest dispatched record (the checkpoint's logics stamp).
    pub dispatched_store_ts: i64,
    /// DLedger leader: records past this offset are not yet committed by the group, so they
    /// get no consume-queue or index entries (readers cannot see them).
    pub dispatch_limit: Option<u64>,
    /// Queues dispatched to since `Store::take_moved_queues` last ran, each once.
    pub moved: Vec<(String, i32)>,
}

impl Queues {
    fn queue(&mut self, topic: &str, queue_id: i32) -> Result<&mut ConsumeQueue> {
        match self.queues.entry((topic.to_string(), queue_id)) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(e) => {
                let dir = self.cq_root.join(topic).join(queue_id.to_string());
                Ok(e.insert(ConsumeQueue::open(&dir, self.cq_segment_size)?))
            }
        }
    }

    fn dispatch_record(&mut self, info: &RecordInfo, now_ms: i64) -> Result<()> {
        self.dispatched_store_ts = self.dispatched_store_ts.max(info.store_timestamp);
        if let Some(index) = &mut self.index {
            index.build(info, now_ms)?;
        }
        if !record::goes_to_queue(info.sys_flag) {
            return Ok(());
        }
        let unit = CqUnit {
            phy_offset: info.phy_offset,
            size: i32::try_from(info.size).unwrap_or(i32::MAX),
            tags_code: info.tags_code,
        };
        let queue_offset = u64::try_from(info.queue_offset).unwrap_or(0);
        let queue = self.queue(&info.topic, info.queue_id)?;
        queue.put(queue_offset, unit)?;
        let newly_moved = !queue.moved;
        queue.moved = true;
        // Units are written a few KiB at a time (and by the flush thread): a write per
        // message cost as much as the message's own commitlog write.
        if queue.pending_len() >= CQ_WRITE_BATCH {
            queue.write_pending()?;
        }
        if newly_moved {
            self.moved.push((info.topic.clone(), info.queue_id));
        }
        Ok(())
    }

    /// Dispatch a put's records from what encoding learnt of them instead of parsing the
    /// bytes again. Chunks already dispatched (a scan got there first) are skipped. False
    /// when the chunks do not continue from `dispatched`: the rest is left to a scan.
    ///
    /// # Errors
    /// Consume-queue and index write failures.
    pub fn apply(&mut self, appended: Appended, now_ms: i64) -> Result<bool> {
        if self.dispatch_limit.is_some() {
            return Ok(false);
        }
        let mut infos = appended.infos.into_iter().peekable();
        for &(start, len) in &appended.chunks {
            let end = start + len;
            if end <= self.dispatched {
                while infos
                    .next_if(|i| u64::try_from(i.phy_offset).is_ok_and(|p| p < end))
                    .is_some()
                {}
                continue;
            }
            if start != self.dispatched {
                return Ok(false);
            }
            let mut at = start;
            while at < end {
                match infos.next_if(|i| u64::try_from(i.phy_offset).is_ok_and(|p| p < end)) {
                    Some(info) if u64::try_from(info.phy_offset) == Ok(at) => {
                        self.dispatched = at + info.size as u64;
                        at = self.dispatched;
                        self.dispatch_record(&info, now_ms)?;
                    }
                    // Bytes no record covers end a chunk: the filler before a segment's end.
                    None if end.is_multiple_of(self.cl_segment_size) => {
                        self.dispatched = end;
                        at = end;
                    }
                    _ => return Ok(false),
                }
            }
        }
        Ok(true)
    }

    /// Dispatch by reading the commitlog from `dispatched` to its end (or the limit). A
    /// record cut short by the end of the written data (replication in progress) waits for
    /// the rest. Each record also lifts its queue's next offset in `commitlog` to follow it,
    /// so a log filled by replication assigns the right offsets once it takes puts.
    ///
    /// # Errors
    /// I/O failures; `Corrupted` for an invalid record.
    pub fn scan(&mut self, commitlog: &mut CommitLog, now_ms: i64) -> Result<()> {
        let seg_size = self.cl_segment_size;
        let write_pos = commitlog.segments.write_pos();
        let end = self.dispatch_limit.map_or(write_pos, |l| l.min(write_pos));
        while self.dispatched < end {
            let from = self.dispatched;
            for (at, check) in commitlog.scan(from, DISPATCH_CHUNK)? {
                if at >= end {
                    break;
                }
                match check {
                    Check::Record(info) => {
                        self.dispatched = at + info.size as u64;
                        self.dispatch_record(&info, now_ms)?;
                        if record::goes_to_queue(info.sys_flag) {
                            let next = u64::try_from(info.queue_offset).unwrap_or(0) + 1;
                            let slot = commitlog
                                .queue_offsets
                                .entry((info.topic, info.queue_id))
                                .or_insert(0);
                            *slot = (*slot).max(next);
                        }
                    }
                    Check::Blank => self.dispatched = at - at % seg_size + seg_size,
                    Check::Incomplete => break,
                    Check::Invalid(reason) => {
                        return Err(StoreError::Corrupted {
                            file: self.cq_root.clone(),
                            offset: at,
                            reason: format!("dispatch found an invalid record: {reason}"),
                        })
                    }
                }
            }
            if self.dispatched == from {
                break;
            }
        }
        Ok(())
    }

    /// Set every queue's next offset in `commitlog` to what its consume queue holds (after
    /// recovery or a truncation, when the queues are the truth).
    pub fn reset_queue_offsets(&self, commitlog: &mut CommitLog) {
        commitlog.queue_offsets = self
            .queues
            .iter()
            .map(|(k, q)| (k.clone(), q.max_offset()))
            .collect();
    }
}
