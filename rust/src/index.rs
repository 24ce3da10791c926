//! IndexFile: lookup of messages by key and time (Java: `IndexFile`, `IndexService`).
//!
//! ```text
//! 0                40                       40 + slots*4                  + (max+1)*20
//! +----------------+------------------------+------------------------------+
//! | header (40)    | hash slots (int each)  | entries (20 bytes each)      |
//! +----------------+------------------------+------------------------------+
//! header: beginTimestamp i64, endTimestamp i64, beginPhyOffset i64, endPhyOffset i64,
//!         hashSlotCount i32, indexCount i32 (next entry number, from 1)
//! entry:  keyHash i32, phyOffset i64, timeDiff i32 (seconds since beginTimestamp),
//!         previous entry number in the bucket i32 (0 ends the chain)
//! ```
//! Big-endian, as Java writes it; entry number 0 is never used. Files are named by their
//! creation time `yyyyMMddHHmmssSSS` (rmq uses UTC; Java uses the local zone).
//! Only the dispatcher writes, under the store's put lock.
use std::fs;
use std::path::{Path, PathBuf};

use crate::codec::record::RecordInfo;
use crate::error::{Result, StoreError};
use crate::mapped_file::MappedFile;

pub const HEADER_SIZE: usize = 40;
const SLOT_SIZE: usize = 4;
const ENTRY_SIZE: usize = 20;

/// `abs(String.hashCode(key))`, with `Integer.MIN_VALUE` mapped to 0, as Java does.
#[must_use]
pub fn key_hash(key: &str) -> i32 {
    let mut h: i32 = 0;
    if key.is_ascii() {
        // Every byte is its own UTF-16 unit: skip the decoder (keys are nearly always ASCII).
        for &b in key.as_bytes() {
            h = h.wrapping_mul(31).wrapping_add(i32::from(b));
        }
    } else {
        for unit in key.encode_utf16() {
            h = h.wrapping_mul(31).wrapping_add(i32::from(unit));
        }
    }
    if h == i32::MIN {
        0
    } else {
        h.abs()
    }
}

fn rd_i64(b: &[u8], at: usize) -> i64 {
    b.get(at..at + 8)
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map_or(0, i64::from_be_bytes)
}

fn rd_i32(b: &[u8], at: usize) -> i32 {
    b.get(at..at + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map_or(0, i32::from_be_bytes)
}

fn wr(b: &mut [u8], at: usize, v: &[u8]) {
    b[at..at + v.len()].copy_from_slice(v);
}

#[derive(Debug)]
pub struct IndexFile {
    map: MappedFile,
    slots: u32,
    max_index: u32,
}

impl IndexFile {
    #[must_use]
    pub fn file_size(slots: u32, max_index: u32) -> u64 {
        (HEADER_SIZE + slots as usize * SLOT_SIZE + max_index as usize * ENTRY_SIZE) as u64
    }

    /// # Errors
    /// I/O failures, a file of the wrong size.
    pub fn open(path: &Path, slots: u32, max_index: u32) -> Result<IndexFile> {
        let map = MappedFile::open(path, Self::file_size(slots, max_index))?;
        Ok(IndexFile {
            map,
            slots,
            max_index,
        })
    }

    fn b(&self) -> &[u8] {
        self.map.bytes()
    }

    #[must_use]
    pub fn begin_timestamp(&self) -> i64 {
        rd_i64(self.b(), 0)
    }
    #[must_use]
    pub fn end_timestamp(&self) -> i64 {
        rd_i64(self.b(), 8)
    }
    #[must_use]
    pub fn begin_phy_offset(&self) -> i64 {
        rd_i64(self.b(), 16)
    }
    #[must_use]
    pub fn end_phy_offset(&self) -> i64 {
        rd_i64(self.b(), 24)
    }
    #[must_use]
    pub fn index_count(&self) -> i32 {
        rd_i32(self.b(), 36).max(1)
    }
    #[must_use]
    pub fn is_full(&self) -> bool {
        u32::try_from(self.index_count()).unwrap_or(u32::MAX) >= self.max_index
    }

    fn entry_at(&self, n: i32) -> usize {
        HEADER_SIZE + self.slots as usize * SLOT_SIZE + usize::try_from(n).unwrap_or(0) * ENTRY_SIZE
    }

    /// Seed an empty file's header with the previous file's end values (Java does this so
    /// time ranges of consecutive files touch).
    pub fn seed(&mut self, end_phy: i64, end_ts: i64) {
        let b = self.map.bytes_mut();
        wr(b, 0, &end_ts.to_be_bytes());
        wr(b, 8, &end_ts.to_be_bytes());
        wr(b, 16, &end_phy.to_be_bytes());
        wr(b, 24, &end_phy.to_be_bytes());
    }

    /// Add `key` -> `phy_offset`; false when the file is full.
    pub fn put(&mut self, key: &str, phy_offset: i64, store_ts: i64) -> bool {
        if self.is_full() {
            return false;
        }
        let hash = key_hash(key);
        let slot_at = HEADER_SIZE + (hash.unsigned_abs() % self.slots) as usize * SLOT_SIZE;
        let count = self.index_count();
        let mut previous = rd_i32(self.b(), slot_at);
        if previous <= 0 || previous > count {
            previous = 0;
        }
        let begin_ts = match self.begin_timestamp() {
            0 => store_ts,
            begin => begin,
        };
        let diff = if begin_ts <= 0 {
            0
        } else {
            i32::try_from(((store_ts - begin_ts) / 1000).clamp(0, i64::from(i32::MAX))).unwrap_or(0)
        };
        let entry_at = self.entry_at(count);
        let slots_used = rd_i32(self.b(), 32);
        let b = self.map.bytes_mut();
        wr(b, entry_at, &hash.to_be_bytes());
        wr(b, entry_at + 4, &phy_offset.to_be_bytes());
        wr(b, entry_at + 12, &diff.to_be_bytes());
        wr(b, entry_at + 16, &previous.to_be_bytes());
        wr(b, slot_at, &count.to_be_bytes());
        if rd_i64(b, 0) == 0 {
            wr(b, 0, &store_ts.to_be_bytes());
            wr(b, 16, &phy_offset.to_be_bytes());
        }
        if previous == 0 {
            wr(b, 32, &(slots_used + 1).to_be_bytes());
        }
        wr(b, 36, &(count + 1).to_be_bytes());
        wr(b, 8, &store_ts.to_be_bytes());
        wr(b, 24, &phy_offset.to_be_bytes());
        true
    }

    /// Offsets of entries for `key` stored within `[begin_ts, end_ts]`, newest first.
    #[must_use]
    pub fn select(&self, key: &str, begin_ts: i64, end_ts: i64, max: usize) -> Vec<i64> {
        let mut out = Vec::new();
        let hash = key_hash(key);
        let slot_at = HEADER_SIZE + (hash.unsigned_abs() % self.slots) as usize * SLOT_SIZE;
        let count = self.index_count();
        let mut n = rd_i32(self.b(), slot_at);
        let file_begin = self.begin_timestamp();
        let mut steps = 0;
        while n > 0 && n < count && out.len() < max && steps < count {
            steps += 1;
            let at = self.entry_at(n);
            let entry_hash = rd_i32(self.b(), at);
            let phy = rd_i64(self.b(), at + 4);
            let ts = file_begin + i64::from(rd_i32(self.b(), at + 12)) * 1000;
            let previous = rd_i32(self.b(), at + 16);
            if ts < begin_ts {
                break; // chains run newest to oldest
            }
            if entry_hash == hash && ts <= end_ts {
                out.push(phy);
            }
            if previous >= n {
                break;
            }
            n = previous;
        }
        out
    }

    /// # Errors
    /// The failing msync.
    pub fn flush(&self) -> Result<()> {
        self.map.flush()
    }

    /// Flush and drop this process's hold on the file's pages (a full file).
    ///
    /// # Errors
    /// The failing msync or mmap.
    pub fn release_pages(&mut self) -> Result<()> {
        self.map.release_pages()
    }
}

/// Civil date of a Unix timestamp in ms (UTC), as `yyyyMMddHHmmssSSS`.
#[must_use]
pub fn file_name_for(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}{:03}",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// All index files of a store, oldest first.
#[derive(Debug)]
pub struct IndexService {
    dir: PathBuf,
    slots: u32,
    max_index: u32,
    files: Vec<IndexFile>,
}

impl IndexService {
    /// # Errors
    /// I/O failures, wrong-size files.
    pub fn open(dir: &Path, slots: u32, max_index: u32) -> Result<IndexService> {
        if slots == 0 || max_index < 2 {
            return Err(StoreError::Config(
                "index slots and entries must be positive".into(),
            ));
        }
        fs::create_dir_all(dir).map_err(|e| StoreError::io("create directory", dir, e))?;
        let mut names: Vec<String> = fs::read_dir(dir)
            .map_err(|e| StoreError::io("list", dir, e))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.len() == 17 && n.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        names.sort();
        let files = names
            .iter()
            .map(|n| IndexFile::open(&dir.join(n), slots, max_index))
            .collect::<Result<Vec<_>>>()?;
        Ok(IndexService {
            dir: dir.to_path_buf(),
            slots,
            max_index,
            files,
        })
    }

    /// Drop files that cover commitlog bytes at or past `end` (lost in a crash); returns the
    /// commitlog offset from which the index must be rebuilt, if any file was dropped.
    ///
    /// # Errors
    /// I/O failures.
    pub fn truncate_to_phy(&mut self, end: u64) -> Result<Option<u64>> {
        let end = i64::try_from(end).unwrap_or(i64::MAX);
        let mut rebuild: Option<u64> = None;
        while self.files.last().is_some_and(|f| f.end_phy_offset() >= end) {
            if let Some(file) = self.files.pop() {
                let begin = u64::try_from(file.begin_phy_offset()).unwrap_or(0);
                rebuild = Some(rebuild.map_or(begin, |r| r.min(begin)));
                fs::remove_file(file.map.path())
                    .map_err(|e| StoreError::io("delete", file.map.path(), e))?;
            }
        }
        Ok(rebuild)
    }

    fn writable(&mut self, now_ms: i64) -> Result<&mut IndexFile> {
        let need_new = self.files.last().is_none_or(IndexFile::is_full);
        if need_new {
            let (end_phy, end_ts) = self
                .files
                .last()
                .map_or((0, 0), |f| (f.end_phy_offset(), f.end_timestamp()));
            if let Some(full) = self.files.last_mut() {
                // Java flushes a file when it fills up; its pages also leave this process's
                // RSS, which would otherwise grow by a whole index file (about 420 MB at
                // the defaults) for every 20 million keys stored.
                full.release_pages()?;
            }
            let mut name_ms = now_ms;
            let path = loop {
                let path = self.dir.join(file_name_for(name_ms));
                if !path.exists() {
                    break path;
                }
                name_ms += 1;
            };
            let mut file = IndexFile::open(&path, self.slots, self.max_index)?;
            if end_phy > 0 {
                file.seed(end_phy, end_ts);
            }
            self.files.push(file);
        }
        self.files
            .last_mut()
            .ok_or_else(|| StoreError::Config("no index file".into()))
    }

    /// Index a dispatched message: `topic#UNIQ_KEY` and `topic#k` for each KEYS token.
    ///
    /// # Errors
    /// I/O failures creating a new file.
    pub fn build(&mut self, info: &RecordInfo, now_ms: i64) -> Result<()> {
        if info.sys_flag & crate::codec::record::TRANSACTION_TYPE_MASK
            == crate::codec::record::TRANSACTION_ROLLBACK
        {
            return Ok(());
        }
        if self
            .files
            .last()
            .is_some_and(|f| info.phy_offset < f.end_phy_offset())
        {
            return Ok(()); // already indexed (re-dispatch after a crash)
        }
        let uniq = info.uniq_key.as_deref().into_iter();
        let keys = info.keys.as_deref().into_iter().flat_map(|l| l.split(' '));
        let keys = keys.filter(|k| !k.is_empty());
        // One buffer for every `topic#key`: format! per key cost more than the hashing.
        let mut full = String::with_capacity(info.topic.len() + 64);
        for key in uniq.chain(keys) {
            full.clear();
            full.push_str(&info.topic);
            full.push('#');
            full.push_str(key);
            // `writable` never returns a full file, so this put always lands.
            self.writable(now_ms)?
                .put(&full, info.phy_offset, info.store_timestamp);
        }
        Ok(())
    }

    /// Commitlog offsets of messages indexed under `topic#key`, newest first.
    #[must_use]
    pub fn query(&self, topic: &str, key: &str, max: usize, begin: i64, end: i64) -> Vec<i64> {
        let full = format!("{topic}#{key}");
        let mut out = Vec::new();
        for file in self.files.iter().rev() {
            if out.len() >= max {
                break;
            }
            if file.end_timestamp() < begin || file.begin_timestamp() > end {
                continue;
            }
            out.extend(file.select(&full, begin, end, max - out.len()));
        }
        out
    }

    /// Delete files (never the newest) that only cover commitlog bytes below `min_phy`.
    ///
    /// # Errors
    /// I/O failures.
    pub fn delete_before_phy(&mut self, min_phy: u64) -> Result<usize> {
        let min_phy = i64::try_from(min_phy).unwrap_or(i64::MAX);
        let mut deleted = 0;
        while self.files.len() > 1 && self.files[0].end_phy_offset() < min_phy {
            let file = self.files.remove(0);
            fs::remove_file(file.map.path())
                .map_err(|e| StoreError::io("delete", file.map.path(), e))?;
            deleted += 1;
        }
        Ok(deleted)
    }

    /// msync every file.
    ///
    /// # Errors
    /// The first failing msync.
    pub fn flush(&self) -> Result<()> {
        self.files.iter().try_for_each(IndexFile::flush)
    }

    /// End timestamp of the newest full index file (flushed when it filled), else 0.
    #[must_use]
    pub fn last_full_end_timestamp(&self) -> i64 {
        self.files
            .iter()
            .rev()
            .find(|f| f.is_full())
            .map_or(0, IndexFile::end_timestamp)
    }

    #[must_use]
    pub fn file_count(&self) -> usize {
        self.files.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(key: &str, phy: i64, ts: i64) -> RecordInfo {
        RecordInfo {
            size: 100,
            topic: "T".into(),
            queue_id: 0,
            queue_offset: 0,
            phy_offset: phy,
            sys_flag: 0,
            store_timestamp: ts,
            tags_code: 0,
            keys: Some(format!("{key} other")),
            uniq_key: Some(format!("U{phy}")),
        }
    }

    #[test]
    fn key_hash_matches_java() {
        assert_eq!(key_hash("T#k1"), {
            let h = "T#k1"
                .chars()
                .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32));
            h.abs()
        });
        let java = |k: &str| {
            k.encode_utf16()
                .fold(0i32, |h, u| h.wrapping_mul(31) + i32::from(u))
        };
        assert_eq!(key_hash("T#订单-1"), java("T#订单-1").abs()); // not ASCII: UTF-16 units
        assert_eq!(key_hash("T#😀"), java("T#😀").abs()); // a surrogate pair
        assert!(key_hash("polygenelubricants") >= 0); // Java: hashCode == Integer.MIN_VALUE
        assert_eq!(key_hash("polygenelubricants"), 0);
    }

    #[test]
    fn file_names_are_utc_timestamps() {
        assert_eq!(file_name_for(0), "19700101000000000");
        assert_eq!(file_name_for(1_700_000_000_123), "20231114221320123");
    }

    #[test]
    fn put_select_roll_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut svc = IndexService::open(dir.path(), 7, 8).unwrap();
        for i in 0..10 {
            svc.build(
                &info(&format!("k{}", i % 3), i * 100, 1_000_000 + i * 1000),
                5,
            )
            .unwrap();
        }
        // 10 messages x 3 keys, 7 usable entries per file (entry 0 unused).
        assert_eq!(svc.file_count(), 5);
        let mut hits = svc.query("T", "k1", 64, 0, i64::MAX);
        hits.sort_unstable();
        assert_eq!(hits, vec![100, 400, 700]);
        assert_eq!(svc.query("T", "U700", 64, 0, i64::MAX), vec![700]);
        assert_eq!(svc.query("T", "k1", 64, 1_005_000, i64::MAX), vec![700]);
        assert!(svc.query("T", "nope", 64, 0, i64::MAX).is_empty());
        drop(svc);
        let svc = IndexService::open(dir.path(), 7, 8).unwrap();
        assert_eq!(svc.query("T", "U300", 64, 0, i64::MAX), vec![300]);
    }

    /// Resident KiB of this process's mappings of `path` (Linux `/proc/self/smaps`).
    fn resident_kib(path: &Path) -> u64 {
        let smaps = fs::read_to_string("/proc/self/smaps").unwrap();
        let name = path.to_str().unwrap();
        let mut inside = false;
        let mut total = 0;
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or("");
            // A mapping's header starts with its address range; its fields follow it.
            if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
                inside = line.ends_with(name);
            } else if let Some(kib) = line.strip_prefix("Rss:").filter(|_| inside) {
                total += kib.trim().trim_end_matches(" kB").parse::<u64>().unwrap();
            }
        }
        total
    }

    #[test]
    fn a_full_file_leaves_the_process_resident_set_and_still_answers() {
        let dir = tempfile::tempdir().unwrap();
        let mut svc = IndexService::open(dir.path(), 1000, 20_000).unwrap();
        // 2 keys a message: the first file fills after 9,999 messages.
        for i in 0..10_500 {
            svc.build(&info(&format!("k{i}"), i * 100, 1_000_000 + i), 5)
                .unwrap();
        }
        assert_eq!(svc.file_count(), 2);
        let (full, hot) = (svc.files[0].map.path(), svc.files[1].map.path());
        assert_eq!(
            resident_kib(full),
            0,
            "a full file keeps no pages mapped in"
        );
        assert!(resident_kib(hot) > 0);
        assert_eq!(svc.query("T", "k17", 64, 0, i64::MAX), vec![1700]);
        assert_eq!(svc.query("T", "U1000000", 64, 0, i64::MAX), vec![1_000_000]);
    }

    #[test]
    fn truncate_drops_files_past_the_commitlog_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut svc = IndexService::open(dir.path(), 7, 8).unwrap();
        for i in 0..10 {
            svc.build(&info("k", i * 100, 1_000_000), 5).unwrap();
        }
        let rebuild = svc.truncate_to_phy(450).unwrap();
        assert!(rebuild.is_some_and(|r| r <= 500));
        assert!(svc.query("T", "U900", 64, 0, i64::MAX).is_empty());
        assert_eq!(svc.query("T", "U300", 64, 0, i64::MAX), vec![300]);
    }
}
