//! One consume queue: `consumequeue/TOPIC/QUEUEID/`, 20-byte units (Java: `ConsumeQueue`).
//!
//! Logical offset `i` (the queue offset) lives at byte `i * 20` of the queue's segment chain.
//! Only the dispatcher writes; readers take units by logical offset.
use std::path::Path;

use crate::codec::cq::{CqUnit, UNIT_SIZE};
use crate::error::Result;
use crate::segment_queue::SegmentQueue;

const UNIT: u64 = UNIT_SIZE as u64;
/// Java's filler for the part of a first segment before a queue's first real entry.
const FILLER: CqUnit = CqUnit {
    phy_offset: 0,
    size: i32::MAX,
    tags_code: 0,
};

#[derive(Debug)]
pub struct ConsumeQueue {
    segments: SegmentQueue,
    /// First logical offset that holds a real entry.
    min_offset: u64,
    /// Largest `phy_offset + size` of any entry: dispatch skips records at or below it.
    max_phy_end: u64,
    /// Byte position up to which the flush thread has been handed the files.
    flushed_pos: u64,
    /// Encoded units not yet written: one dispatch pass writes each queue's run with one
    /// syscall instead of one per message. Always written before the store lock is released.
    pending: Vec<u8>,
    /// Dispatched to since the store last handed out the queues that moved
    /// ([`crate::store::Store::take_moved_queues`]).
    pub moved: bool,
}

/// The segment size for `configured` bytes, rounded up to whole units as Java does.
#[must_use]
pub fn segment_bytes(configured: u64) -> u64 {
    configured.div_ceil(UNIT).max(1) * UNIT
}

impl ConsumeQueue {
    /// Open (or create) the queue in `dir` and recover its written part: units are read
    /// from the third-last segment on until the first one that is not a written entry.
    ///
    /// # Errors
    /// I/O failures, wrong-size segments.
    pub fn open(dir: &Path, segment_size: u64) -> Result<ConsumeQueue> {
        let mut segments = SegmentQueue::load(dir, segment_bytes(segment_size))?;
        let mut min_offset = segments.min_offset() / UNIT;
        let mut max_phy_end = 0;
        let mut end = segments.min_offset();
        let scan_from = segments.segments().len().saturating_sub(3);
        let starts: Vec<u64> = segments.segments()[scan_from..]
            .iter()
            .map(|s| s.start)
            .collect();
        'scan: for start in starts {
            let data =
                segments.read_raw(start, usize::try_from(segments.segment_size()).unwrap_or(0))?;
            for (i, chunk) in data.chunks_exact(UNIT_SIZE).enumerate() {
                let Some(unit) = CqUnit::decode(chunk) else {
                    break 'scan;
                };
                if !unit.is_valid() {
                    end = start + i as u64 * UNIT;
                    break 'scan;
                }
                if unit != FILLER {
                    let phy_end = u64::try_from(unit.phy_offset).unwrap_or(0)
                        + u64::try_from(unit.size).unwrap_or(0);
                    max_phy_end = max_phy_end.max(phy_end);
                }
                end = start + (i as u64 + 1) * UNIT;
            }
        }
        if !segments.is_empty() {
            segments.truncate(end)?;
        }
        // Fillers at the head of the first segment are not entries.
        if let Some(first) = segments.segments().first().map(|s| s.start) {
            let head = segments.read(first, usize::try_from(end - first).unwrap_or(0))?;
            let fillers = head
                .chunks_exact(UNIT_SIZE)
                .take_while(|c| CqUnit::decode(c) == Some(FILLER))
                .count() as u64;
            min_offset = first / UNIT + fillers;
        }
        let flushed_pos = segments.write_pos();
        Ok(ConsumeQueue {
            segments,
            min_offset,
            max_phy_end,
            flushed_pos,
            pending: Vec::new(),
            moved: false,
        })
    }

    /// Next queue offset to be written (Java: `getMaxOffsetInQueue`).
    #[must_use]
    pub fn max_offset(&self) -> u64 {
        (self.segments.write_pos() + self.pending.len() as u64) / UNIT
    }

    /// Whether units wait in the write buffer ([`write_pending`](Self::write_pending)).
    #[must_use]
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Write the buffered units.
    ///
    /// # Errors
    /// I/O failures.
    pub fn write_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.segments
            .append(self.segments.write_pos(), &self.pending)?;
        self.pending.clear();
        Ok(())
    }

    fn push(&mut self, unit: &CqUnit) -> Result<()> {
        let pos = self.segments.write_pos() + self.pending.len() as u64;
        if pos.is_multiple_of(self.segments.segment_size()) {
            self.write_pending()?; // a run never crosses a segment boundary
        }
        self.pending.extend_from_slice(&unit.encode());
        Ok(())
    }

    #[must_use]
    pub fn min_offset(&self) -> u64 {
        self.min_offset.min(self.max_offset())
    }

    #[must_use]
    pub fn max_phy_end(&self) -> u64 {
        self.max_phy_end
    }

    /// Append the entry for queue offset `queue_offset`. Duplicates (re-dispatch after a
    /// crash) are skipped; returns whether the entry was written.
    ///
    /// # Errors
    /// I/O failures.
    pub fn put(&mut self, queue_offset: u64, unit: CqUnit) -> Result<bool> {
        let phy_end =
            u64::try_from(unit.phy_offset).unwrap_or(0) + u64::try_from(unit.size).unwrap_or(0);
        if phy_end <= self.max_phy_end {
            return Ok(false);
        }
        let current = self.max_offset();
        if queue_offset < current {
            return Ok(false);
        }
        if queue_offset > current && self.segments.is_empty() {
            // A queue that starts past 0: fill its first segment up to the entry, as Java does.
            let seg_units = self.segments.segment_size() / UNIT;
            let first = queue_offset - queue_offset % seg_units;
            self.segments.reset(first * UNIT)?;
            for _ in first..queue_offset {
                self.push(&FILLER)?;
            }
            self.min_offset = queue_offset;
        }
        self.push(&unit)?;
        self.max_phy_end = phy_end;
        Ok(true)
    }

    /// Up to `max` units from `offset`.
    ///
    /// # Errors
    /// I/O failures.
    pub fn units(&self, offset: u64, max: usize) -> Result<Vec<CqUnit>> {
        let mut out = Vec::new();
        let mut pos = offset * UNIT;
        let written = self.segments.write_pos();
        while out.len() < max && pos < written {
            let want = (max - out.len()) * UNIT_SIZE;
            let data = self.segments.read(pos, want)?;
            if data.is_empty() {
                break;
            }
            out.extend(data.chunks_exact(UNIT_SIZE).filter_map(CqUnit::decode));
            pos += data.len() as u64;
        }
        // Units not yet written sit in the write buffer, right after the file's end.
        if out.len() < max && pos >= written {
            let from = usize::try_from(pos - written).unwrap_or(usize::MAX);
            if let Some(rest) = self.pending.get(from..) {
                let take = (max - out.len()) * UNIT_SIZE;
                let rest = &rest[..take.min(rest.len())];
                out.extend(rest.chunks_exact(UNIT_SIZE).filter_map(CqUnit::decode));
            }
        }
        Ok(out)
    }

    /// Bytes of units waiting in the write buffer.
    #[must_use]
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Drop entries that point at or past `phy_end` (after the commitlog was truncated).
    ///
    /// # Errors
    /// I/O failures.
    pub fn truncate_to_phy(&mut self, phy_end: u64) -> Result<()> {
        self.write_pending()?;
        if self.max_phy_end <= phy_end {
            return Ok(());
        }
        let mut keep = self.max_offset();
        let mut max_end = 0;
        while keep > self.min_offset() {
            let unit = self.units(keep - 1, 1)?;
            let Some(unit) = unit.first() else { break };
            let end =
                u64::try_from(unit.phy_offset).unwrap_or(0) + u64::try_from(unit.size).unwrap_or(0);
            if end <= phy_end {
                max_end = end;
                break;
            }
            keep -= 1;
        }
        self.segments.truncate(keep * UNIT)?;
        self.max_phy_end = max_end;
        Ok(())
    }

    /// After the commitlog lost everything below `min_phy`: delete whole segments whose
    /// last entry points below it (never the last segment) and move the min offset to the
    /// first entry that still points into the commitlog. Returns deleted segment count.
    ///
    /// # Errors
    /// I/O failures.
    pub fn delete_before_phy(&mut self, min_phy: u64) -> Result<usize> {
        self.write_pending()?;
        let mut deleted = 0;
        let seg = self.segments.segment_size();
        while self.segments.segments().len() > 1 {
            let start = self.segments.segments()[0].start;
            let last = self.segments.read(start + seg - UNIT, UNIT_SIZE)?;
            let points_below = CqUnit::decode(&last).is_some_and(|u| {
                u.is_valid() && u64::try_from(u.phy_offset).is_ok_and(|p| p < min_phy)
            });
            if !points_below {
                break;
            }
            self.segments.delete_head()?;
            deleted += 1;
        }
        let mut offset = self.min_offset().max(self.segments.min_offset() / UNIT);
        while offset < self.max_offset() {
            let units = self.units(offset, 1024)?;
            if units.is_empty() {
                break;
            }
            let skip = units
                .iter()
                .take_while(|u| {
                    u64::try_from(u.phy_offset).is_ok_and(|p| p < min_phy) || **u == FILLER
                })
                .count();
            offset += skip as u64;
            if skip < units.len() {
                break;
            }
        }
        self.min_offset = offset;
        Ok(deleted)
    }

    /// Handles for the flush thread.
    #[must_use]
    pub fn segments(&self) -> &SegmentQueue {
        &self.segments
    }

    /// Write the buffered units, then the files written since the last call, for the
    /// flush thread to fsync.
    ///
    /// # Errors
    /// I/O failures of the buffered write.
    pub fn take_dirty(
        &mut self,
    ) -> Result<Vec<(std::sync::Arc<std::fs::File>, std::path::PathBuf)>> {
        self.write_pending()?;
        let end = self.segments.write_pos();
        if end <= self.flushed_pos {
            self.flushed_pos = end;
            return Ok(Vec::new());
        }
        let files = self.segments.dirty_files(self.flushed_pos, end);
        self.flushed_pos = end;
        Ok(files)
    }

    /// The queue offset of the first entry whose store time (read through `store_time`)
    /// is `timestamp`, or else the closer of its neighbours (Java: `getOffsetInQueueByTime`).
    ///
    /// # Errors
    /// I/O failures.
    pub fn offset_by_time(
        &self,
        timestamp: i64,
        mut store_time: impl FnMut(&CqUnit) -> Result<Option<i64>>,
    ) -> Result<u64> {
        let (mut lo, mut hi) = (self.min_offset(), self.max_offset());
        if lo >= hi {
            return Ok(hi);
        }
        let time_at = |offset: u64,
                       f: &mut dyn FnMut(&CqUnit) -> Result<Option<i64>>|
         -> Result<Option<i64>> {
            match self.units(offset, 1)?.first() {
                Some(unit) => f(unit),
                None => Ok(None),
            }
        };
        let (first, last) = (lo, hi - 1);
        // Lower bound: the first offset whose store time is >= timestamp.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match time_at(mid, &mut store_time)? {
                Some(ts) if ts < timestamp => lo = mid + 1,
                _ => hi = mid,
            }
        }
        if lo > last {
            return Ok(last); // everything is older: the newest message
        }
        let right_ts = time_at(lo, &mut store_time)?;
        if lo == first || right_ts == Some(timestamp) {
            return Ok(lo);
        }
        let left_ts = time_at(lo - 1, &mut store_time)?;
        Ok(match (left_ts, right_ts) {
            (Some(l), Some(r)) if (timestamp - l).abs() <= (r - timestamp).abs() => lo - 1,
            (Some(_), None) => lo - 1,
            _ => lo,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(phy: i64) -> CqUnit {
        CqUnit {
            phy_offset: phy,
            size: 100,
            tags_code: 1,
        }
    }

    #[test]
    fn put_read_recover_and_skip_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let mut cq = ConsumeQueue::open(dir.path(), 60).unwrap();
        for i in 0..7 {
            assert!(cq.put(i, unit(i64::try_from(i).unwrap() * 100)).unwrap());
        }
        assert!(!cq.put(3, unit(300)).unwrap());
        assert_eq!(cq.max_offset(), 7);
        cq.write_pending().unwrap();
        assert_eq!(cq.units(5, 10).unwrap().len(), 2);
        drop(cq);
        let cq = ConsumeQueue::open(dir.path(), 60).unwrap();
        assert_eq!(
            (cq.min_offset(), cq.max_offset(), cq.max_phy_end()),
            (0, 7, 700)
        );
        assert_eq!(cq.units(2, 1).unwrap()[0], unit(200));
    }

    #[test]
    fn queue_starting_past_zero_gets_fillers() {
        let dir = tempfile::tempdir().unwrap();
        let mut cq = ConsumeQueue::open(dir.path(), 60).unwrap();
        cq.put(4, unit(0)).unwrap();
        assert_eq!((cq.min_offset(), cq.max_offset()), (4, 5));
        cq.write_pending().unwrap();
        drop(cq);
        let cq = ConsumeQueue::open(dir.path(), 60).unwrap();
        assert_eq!((cq.min_offset(), cq.max_offset()), (4, 5));
    }

    #[test]
    fn truncate_to_phy_drops_entries_past_the_commitlog_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut cq = ConsumeQueue::open(dir.path(), 60).unwrap();
        for i in 0..5 {
            cq.put(i, unit(i64::try_from(i).unwrap() * 100)).unwrap();
        }
        cq.write_pending().unwrap();
        cq.truncate_to_phy(350).unwrap();
        assert_eq!((cq.max_offset(), cq.max_phy_end()), (3, 300));
        assert!(cq.put(3, unit(300)).unwrap());
    }
}
