//! The CommitLog: every message of every topic, appended in arrival order.
//!
//! Queue offsets and physical offsets are assigned together under the caller's put lock,
//! so a message's queue offset and its position always agree (Java: `CommitLog.putMessage`
//! with `DefaultAppendMessageCallback`).
use std::path::Path;

use crate::codec::record::{self, Check, PreEncoded, RecordInfo};
use crate::error::Result;
use crate::segment_queue::SegmentQueue;
use crate::QueueMap;

/// Where one appended message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub phy_offset: u64,
    pub queue_offset: u64,
    pub size: u32,
    pub store_timestamp: i64,
}

/// Bytes read at a time by recovery (records larger than this are read whole).
const RECOVERY_WINDOW: usize = 8 << 20;

#[derive(Debug)]
pub struct CommitLog {
    pub segments: SegmentQueue,
    /// `(topic, queue id)` -> next queue offset.
    pub queue_offsets: QueueMap<u64>,
    last_store_timestamp: i64,
}

impl CommitLog {
    /// `zero_ahead`: write zeros ahead of the appends instead of only reading pages in
    /// (SYNC_FLUSH, see [`crate::prefetch`]).
    ///
    /// # Errors
    /// I/O failures, wrong-size segments.
    pub fn open(dir: &Path, segment_size: u64, zero_ahead: bool) -> Result<CommitLog> {
        let mut segments = SegmentQueue::load(dir, segment_size)?;
        segments.enable_prefetch(zero_ahead);
        Ok(CommitLog {
            segments,
            queue_offsets: QueueMap::default(),
            last_store_timestamp: 0,
        })
    }

    /// Append `records` back to back; a record that would not leave room for a filler in
    /// the current segment starts the next one (Java's END_FILE_MIN_BLANK_LENGTH rule).
    ///
    /// # Errors
    /// I/O failures; records before the failing one are written.
    pub fn append(&mut self, records: Vec<PreEncoded>, now_ms: i64) -> Result<Vec<Appended>> {
        self.append_keeping(records, now_ms, &mut Vec::new(), &mut Vec::new())
    }

    /// As [`append`](Self::append), handing back each chunk written as `(start, length)` and
    /// each record's dispatch facts in file order, so the caller can dispatch them without
    /// reading or parsing them again.
    ///
    /// # Errors
    /// I/O failures.
    pub fn append_keeping(
        &mut self,
        records: Vec<PreEncoded>,
        now_ms: i64,
        written: &mut Vec<(u64, u64)>,
        infos: &mut Vec<RecordInfo>,
    ) -> Result<Vec<Appended>> {
        // Store timestamps never go backwards in file order, even if the clock does.
        let store_ts = now_ms.max(self.last_store_timestamp);
        self.last_store_timestamp = store_ts;
        let mut out = Vec::with_capacity(records.len());
        // One allocation for the whole run: growing it by doubling copied every record
        // about twice more.
        let total: usize = records.iter().map(|r| r.bytes.len()).sum();
        let mut chunk: Vec<u8> = Vec::with_capacity(total + record::END_FILE_MIN_BLANK_LENGTH);
        let mut chunk_start = self.segments.write_pos();
        let filler = record::END_FILE_MIN_BLANK_LENGTH as u64;
        for mut rec in records {
            let len = rec.bytes.len() as u64;
            let pos = chunk_start + chunk.len() as u64;
            if len + filler > self.segments.left_in_segment(pos) {
                let left = self.segments.left_in_segment(pos);
                chunk.extend_from_slice(&record::blank(usize::try_from(left).unwrap_or(0)));
                self.segments.append(chunk_start, &chunk)?;
                self.segments.skip_to_next_segment();
                written.push((chunk_start, chunk.len() as u64));
                chunk.clear();
                chunk_start = self.segments.write_pos();
            }
            let phy = chunk_start + chunk.len() as u64;
            let key = (rec.topic.clone(), rec.queue_id);
            let in_queue = record::goes_to_queue(rec.sys_flag);
            let queue_offset = if in_queue {
                let next = self.queue_offsets.entry(key).or_insert(0);
                let assigned = *next;
                *next += 1;
                assigned
            } else {
                0
            };
            record::stamp(
                &mut rec.bytes,
                rec.store_timestamp_at,
                i64::try_from(queue_offset).unwrap_or(i64::MAX),
                i64::try_from(phy).unwrap_or(i64::MAX),
                store_ts,
            );
            chunk.extend_from_slice(&rec.bytes);
            infos.push(rec.into_info(
                i64::try_from(queue_offset).unwrap_or(i64::MAX),
                i64::try_from(phy).unwrap_or(i64::MAX),
                store_ts,
            ));
            out.push(Appended {
                phy_offset: phy,
                queue_offset,
                size: u32::try_from(len).unwrap_or(u32::MAX),
                store_timestamp: store_ts,
            });
        }
        if !chunk.is_empty() {
            self.segments.append(chunk_start, &chunk)?;
            written.push((chunk_start, chunk.len() as u64));
        }
        Ok(out)
    }

    /// Records from `from` to the write position, as many as fit in `max_bytes` of the
    /// segment holding `from`; a filler yields `(None, next segment start)`.
    ///
    /// # Errors
    /// I/O failures.
    pub fn scan(&self, from: u64, max_bytes: usize) -> Result<Vec<(u64, Check)>> {
        let data = self.segments.read(from, max_bytes)?;
        let mut out = Vec::new();
        let mut pos = 0usize;
        while pos + record::END_FILE_MIN_BLANK_LENGTH <= data.len() {
            let check = record::check(&data[pos..], false);
            let size = match &check {
                Check::Record(info) => info.size,
                Check::Blank | Check::Incomplete | Check::Invalid(_) => {
                    out.push((from + pos as u64, check));
                    break;
                }
            };
            out.push((from + pos as u64, check));
            pos += size;
        }
        Ok(out)
    }

    /// Store time of the newest appended (or recovered) message.
    #[must_use]
    pub fn last_store_timestamp(&self) -> i64 {
        self.last_store_timestamp
    }

    /// Index of the newest segment whose first record was stored at or before `ms`
    /// (Java's abnormal recovery start); 0 when none qualifies.
    fn last_segment_starting_before(&self, ms: i64) -> Result<usize> {
        for (i, segment) in self.segments.segments().iter().enumerate().rev() {
            let head = self.segments.read_raw(segment.start, 80)?;
            if let Some(ts) = record::store_timestamp_of(&head) {
                if ts <= ms {
                    return Ok(i);
                }
            }
        }
        Ok(0)
    }

    /// Find the end of the valid records, scanning with CRC checks from the third-last
    /// segment (or earlier, from the segment the checkpoint's `durable_before_ms` points
    /// at, after a crash), and truncate everything after it. Returns the records found past
    /// `report_from` (those a crash may have left out of the consume queues).
    ///
    /// # Errors
    /// I/O failures.
    pub fn recover(
        &mut self,
        report_from: u64,
        durable_before_ms: Option<i64>,
    ) -> Result<(u64, Vec<RecordInfo>)> {
        let seg_size = self.segments.segment_size();
        let segs = self.segments.segments().len();
        if segs == 0 {
            return Ok((0, Vec::new()));
        }
        let mut first_index = segs.saturating_sub(3);
        if let Some(ms) = durable_before_ms {
            first_index = first_index.min(self.last_segment_starting_before(ms)?);
        }
        let first = self.segments.segments()[first_index].start;
        let mut pos = first;
        let mut found = Vec::new();
        let last_end = self.segments.segments()[segs - 1].start + seg_size;
        let mut data = Vec::new();
        'segments: while pos < last_end {
            let seg_end = pos - pos % seg_size + seg_size;
            let mut buf_start = pos;
            self.segments
                .read_raw_into(pos, RECOVERY_WINDOW, &mut data)?;
            loop {
                let at = usize::try_from(pos - buf_start).unwrap_or(usize::MAX);
                match record::check(data.get(at..).unwrap_or_default(), true) {
                    Check::Record(info) => {
                        if info.phy_offset != i64::try_from(pos).unwrap_or(-1) {
                            break 'segments; // stale bytes from an older life of this file
                        }
                        pos += info.size as u64;
                        self.last_store_timestamp =
                            self.last_store_timestamp.max(info.store_timestamp);
                        if pos > report_from {
                            found.push(info);
                        }
                    }
                    Check::Blank => {
                        pos = seg_end;
                        if self.segments.segments().iter().all(|s| s.start != pos) {
                            break 'segments;
                        }
                        break;
                    }
                    Check::Incomplete => {
                        if buf_start + data.len() as u64 >= seg_end {
                            break 'segments; // cut short by the end of the data
                        }
                        // The record runs past the window: read again from it, whole.
                        let stated = data
                            .get(at..at + 4)
                            .and_then(|b| <[u8; 4]>::try_from(b).ok())
                            .map_or(0, |b| usize::try_from(i32::from_be_bytes(b)).unwrap_or(0));
                        buf_start = pos;
                        self.segments
                            .read_raw_into(pos, RECOVERY_WINDOW.max(stated), &mut data)?;
                    }
                    Check::Invalid(_) => break 'segments,
                }
            }
        }
        self.segments.truncate(pos)?;
        Ok((pos, found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::record::{pre_encode, MessageInput};

    pub(crate) fn input(topic: &str, queue_id: i32, body_len: usize) -> MessageInput {
        MessageInput {
            topic: topic.into(),
            queue_id,
            body: vec![b'x'; body_len],
            born_host: vec![127, 0, 0, 1, 0, 0, 0, 1],
            store_host: vec![127, 0, 0, 1, 0, 0, 0, 2],
            ..MessageInput::default()
        }
    }

    #[test]
    fn offsets_per_queue_and_segment_roll_with_filler() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = CommitLog::open(dir.path(), 400, false).unwrap();
        let recs: Vec<_> = (0..5)
            .map(|i| pre_encode(&input("T", i % 2, 100), 1024).unwrap())
            .collect();
        let size = recs[0].bytes.len() as u64; // 193 bytes
        let out = log.append(recs, 1).unwrap();
        let queue_offsets: Vec<_> = out.iter().map(|a| a.queue_offset).collect();
        assert_eq!(queue_offsets, [0, 0, 1, 1, 2]);
        // Two records fit in a 400-byte segment (2*193 + 8 <= 400); the third starts at 400.
        let phys: Vec<_> = out.iter().map(|a| a.phy_offset).collect();
        assert_eq!(phys, [0, size, 400, 400 + size, 800]);
        let scan = log.scan(2 * size, 100).unwrap();
        assert_eq!(scan, vec![(2 * size, Check::Blank)]);
    }

    #[test]
    fn recover_stops_at_a_torn_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = CommitLog::open(dir.path(), 4096, false).unwrap();
        let recs: Vec<_> = (0..3)
            .map(|_| pre_encode(&input("T", 0, 10), 1024).unwrap())
            .collect();
        let out = log.append(recs, 1).unwrap();
        let end = log.segments.write_pos();
        // Scribble over the last record's body: its CRC no longer matches.
        let last = out[2];
        let seg = &log.segments.segments()[0];
        std::os::unix::fs::FileExt::write_all_at(&*seg.file, &[0xFF; 4], last.phy_offset + 86)
            .unwrap();
        drop(log);
        let mut log = CommitLog::open(dir.path(), 4096, false).unwrap();
        let (pos, found) = log.recover(0, None).unwrap();
        assert!(pos < end);
        assert_eq!(pos, last.phy_offset);
        assert_eq!(found.len(), 2);
    }
}
