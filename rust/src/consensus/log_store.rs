//! The Raft log on disk: append-only segment files of framed entries (`raft-FIRSTINDEX.log`,
//! a new one after 64 MiB), a hard-state file and a `compacted` file (index and term of the
//! last entry removed by compaction, which Raft asks about when matching logs).
//!
//! Frame: `[len u32][crc32 u32][index u64][term u64][entry type u8][data]` (big-endian, `len`
//! counts from `index`, the CRC covers the same bytes). Entries are never rewritten in
//! place: a conflicting suffix is cut off with `set_len` before the new entries follow, so
//! the file always holds indexes `first..=last` in order. A torn or corrupted tail found at
//! open is cut the same way (it was never acknowledged: an entry is acknowledged to the
//! leader only after `append` returned).
//!
//! Only metadata (term, file position, length) stays in memory; `entries` reads data back
//! with positioned reads, which the page cache answers for the recent entries a follower
//! asks for.
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use protobuf::{Message as _, ProtobufEnum as _};
use raft::eraftpb::{ConfState, Entry, EntryType, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState, StorageError};

use crate::error::{Result, StoreError};

const FRAME_HEAD: usize = 8;
const BODY_HEAD: usize = 17;
const HARD_STATE_FILE: &str = "hardstate";
const COMPACTED_FILE: &str = "compacted";
/// Bytes after which appends go to a new segment (whole segments are compacted).
pub const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

fn segment_name(first: u64) -> String {
    format!("raft-{first:020}.log")
}

#[derive(Debug)]
struct Segment {
    first: u64,
    path: PathBuf,
    file: File,
    len: u64,
}

#[derive(Debug, Clone, Copy)]
struct Meta {
    term: u64,
    /// Position of the frame's first byte in its segment.
    pos: u64,
    /// Data length.
    len: u32,
    kind: i32,
}

#[derive(Debug)]
pub struct LogStore {
    dir: PathBuf,
    segments: Vec<Segment>,
    segment_bytes: u64,
    /// Index of `metas[0]`; entries start at 1 in a new log.
    first: u64,
    /// Term of the entry before `first` (0 when nothing was compacted).
    before_first_term: u64,
    metas: Vec<Meta>,
    hard: HardState,
    conf: ConfState,
    /// fdatasync appended entries before they are acknowledged (SYNC_FLUSH).
    sync: bool,
}

fn io_err(op: &'static str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::io(op, path, e)
}

fn to_raft(e: &StoreError) -> raft::Error {
    raft::Error::Store(StorageError::Other(e.to_string().into()))
}

impl LogStore {
    /// Open (or create) the log under `dir` for a group whose voters are `voters`.
    ///
    /// # Errors
    /// I/O failures; a hard-state file that fails its checksum.
    pub fn open(dir: &Path, voters: &[u64], sync: bool) -> Result<LogStore> {
        Self::open_with(dir, voters, sync, SEGMENT_BYTES)
    }

    /// As [`LogStore::open`] with segments of `segment_bytes` (tests use small ones).
    ///
    /// # Errors
    /// I/O failures; a hard-state file that fails its checksum.
    pub fn open_with(
        dir: &Path,
        voters: &[u64],
        sync: bool,
        segment_bytes: u64,
    ) -> Result<LogStore> {
        fs::create_dir_all(dir).map_err(|e| io_err("create", dir, e))?;
        let (compacted_index, before_first_term) = read_compacted(&dir.join(COMPACTED_FILE))?;
        let mut firsts: Vec<u64> = fs::read_dir(dir)
            .map_err(|e| io_err("list", dir, e))?
            .filter_map(std::result::Result::ok)
            .filter_map(|d| {
                let name = d.file_name().into_string().ok()?;
                name.strip_prefix("raft-")?
                    .strip_suffix(".log")?
                    .parse()
                    .ok()
            })
            .collect();
        firsts.sort_unstable();
        let mut store = LogStore {
            dir: dir.to_path_buf(),
            segments: Vec::new(),
            segment_bytes,
            first: compacted_index + 1,
            before_first_term,
            metas: Vec::new(),
            hard: read_hard_state(&dir.join(HARD_STATE_FILE))?,
            conf: ConfState::default(),
            sync,
        };
        store.conf.set_voters(voters.to_vec());
        // A compaction that crashed after writing its record may have left segments that
        // lie wholly below it: finish it.
        while firsts.len() > 1 && firsts[1] <= compacted_index + 1 {
            let path = dir.join(segment_name(firsts.remove(0)));
            fs::remove_file(&path).map_err(|e| io_err("remove", &path, e))?;
        }
        if let Some(&head) = firsts.first() {
            if head > compacted_index + 1 {
                return Err(StoreError::Corrupted {
                    file: dir.join(segment_name(head)),
                    offset: 0,
                    reason: format!(
                        "the Raft log starts at entry {head} but only entries up to \
                         {compacted_index} were compacted: a segment is missing"
                    ),
                });
            }
        }
        let mut broken = false;
        for first in firsts {
            let path = dir.join(segment_name(first));
            if broken || (!store.segments.is_empty() && first != store.end()) {
                // After a torn segment, or not continuing the log: never acknowledged.
                broken = true;
                fs::remove_file(&path).map_err(|e| io_err("remove", &path, e))?;
                continue;
            }
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(|e| io_err("open", &path, e))?;
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)
                .map_err(|e| io_err("read", &path, e))?;
            let (metas, good) = scan(&bytes, first);
            if good < bytes.len() as u64 {
                file.set_len(good)
                    .map_err(|e| io_err("truncate", &path, e))?;
                broken = true;
            }
            if store.segments.is_empty() {
                store.first = first;
            }
            store.metas.extend(metas);
            store.segments.push(Segment {
                first,
                path,
                file,
                len: good,
            });
        }
        if store.first <= compacted_index && !store.metas.is_empty() {
            let gone = usize::try_from(compacted_index + 1 - store.first).unwrap_or(0);
            store.metas.drain(..gone.min(store.metas.len()));
            store.first = compacted_index + 1;
        }
        if store.metas.is_empty() {
            store.first = store.first.max(compacted_index + 1);
        }
        Ok(store)
    }

    #[must_use]
    pub fn hard_state(&self) -> &HardState {
        &self.hard
    }

    /// The index after the last entry.
    #[must_use]
    pub fn end(&self) -> u64 {
        self.first + self.metas.len() as u64
    }

    /// The segment holding `index` (or the one it would be appended to).
    fn segment_of(&self, index: u64) -> usize {
        self.segments
            .partition_point(|seg| seg.first <= index)
            .saturating_sub(1)
    }

    fn new_segment(&mut self, first: u64) -> Result<()> {
        let path = self.dir.join(segment_name(first));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| io_err("create", &path, e))?;
        self.segments.push(Segment {
            first,
            path,
            file,
            len: 0,
        });
        Ok(())
    }

    /// Cut off every entry from `index` on.
    fn cut(&mut self, index: u64) -> Result<()> {
        let keep = usize::try_from(index.saturating_sub(self.first)).unwrap_or(0);
        let at = self.segment_of(index);
        while self.segments.len() > at + 1 {
            if let Some(seg) = self.segments.pop() {
                fs::remove_file(&seg.path).map_err(|e| io_err("remove", &seg.path, e))?;
            }
        }
        if let Some(seg) = self.segments.last_mut() {
            let cut = if index <= seg.first {
                0
            } else {
                self.metas.get(keep).map_or(seg.len, |m| m.pos)
            };
            seg.file
                .set_len(cut)
                .map_err(|e| io_err("truncate", &seg.path, e))?;
            seg.len = cut;
            if cut == 0 {
                seg.first = index;
                let path = self.dir.join(segment_name(index));
                if path != seg.path {
                    fs::rename(&seg.path, &path).map_err(|e| io_err("rename", &path, e))?;
                    seg.path = path;
                }
            }
        }
        self.metas.truncate(keep);
        if self.metas.is_empty() {
            self.first = index;
        }
        Ok(())
    }

    /// Append `entries`, first cutting off any suffix from `entries[0].index` on.
    ///
    /// # Errors
    /// I/O failures, or entries that leave a gap.
    pub fn append(&mut self, entries: &[Entry]) -> Result<()> {
        let Some(head) = entries.first() else {
            return Ok(());
        };
        if head.index < self.end() {
            self.cut(head.index)?;
        } else if head.index > self.end() && !self.metas.is_empty() {
            return Err(StoreError::OutOfOrder {
                expected: self.end(),
                got: head.index,
            });
        } else if self.metas.is_empty() {
            self.first = head.index;
        }
        let roll = self
            .segments
            .last()
            .is_none_or(|seg| seg.len >= self.segment_bytes);
        if roll {
            self.new_segment(head.index)?;
        }
        let Some(seg) = self.segments.last_mut() else {
            return Ok(());
        };
        let mut buf = Vec::new();
        let mut pos = seg.len;
        for e in entries {
            let start = buf.len();
            buf.extend_from_slice(&[0; FRAME_HEAD]);
            buf.extend_from_slice(&e.index.to_be_bytes());
            buf.extend_from_slice(&e.term.to_be_bytes());
            buf.push(u8::try_from(e.get_entry_type().value()).unwrap_or(0));
            buf.extend_from_slice(&e.data);
            let body_len = u32::try_from(buf.len() - start - FRAME_HEAD)
                .map_err(|_| StoreError::Config("raft entry larger than 4 GiB".into()))?;
            let crc = crc32fast::hash(&buf[start + FRAME_HEAD..]);
            buf[start..start + 4].copy_from_slice(&body_len.to_be_bytes());
            buf[start + 4..start + 8].copy_from_slice(&crc.to_be_bytes());
            self.metas.push(Meta {
                term: e.term,
                pos,
                len: u32::try_from(e.data.len()).unwrap_or(u32::MAX),
                kind: e.get_entry_type().value(),
            });
            pos += (buf.len() - start) as u64;
        }
        seg.file
            .write_all_at(&buf, seg.len)
            .map_err(|e| io_err("write", &seg.path, e))?;
        seg.len = pos;
        if self.sync {
            seg.file
                .sync_data()
                .map_err(|e| io_err("fdatasync", &seg.path, e))?;
        }
        Ok(())
    }

    /// Delete whole segments whose entries are all at or below `applied` and whose
    /// commitlog bytes all lie below `commitlog_min` (retention already deleted them, so no
    /// member could be sent them anyway). The last segment always stays. Returns how many
    /// segments went.
    ///
    /// # Errors
    /// I/O failures.
    pub fn compact(&mut self, applied: u64, commitlog_min: u64) -> Result<usize> {
        let mut drop = 0;
        while drop + 1 < self.segments.len() {
            let last = self.segments[drop + 1].first - 1;
            if last > applied || self.data_end_at_or_before(last)? > commitlog_min {
                break;
            }
            drop += 1;
        }
        if drop == 0 {
            return Ok(0);
        }
        let new_first = self.segments[drop].first;
        let term = self
            .meta(new_first - 1)
            .map_or(self.before_first_term, |m| m.term);
        write_compacted(&self.dir, new_first - 1, term)?;
        for seg in self.segments.drain(..drop) {
            fs::remove_file(&seg.path).map_err(|e| io_err("remove", &seg.path, e))?;
        }
        let gone = usize::try_from(new_first - self.first).unwrap_or(0);
        self.metas.drain(..gone.min(self.metas.len()));
        self.first = new_first;
        self.before_first_term = term;
        Ok(drop)
    }

    /// The commitlog end of the last entry with data at or before `index` (0 if none).
    fn data_end_at_or_before(&self, index: u64) -> Result<u64> {
        let mut i = index;
        while i >= self.first {
            if let Some(m) = self.meta(i) {
                if m.len >= 8 && m.kind == EntryType::EntryNormal.value() {
                    let seg = &self.segments[self.segment_of(i)];
                    let mut start = [0u8; 8];
                    seg.file
                        .read_exact_at(&mut start, m.pos + (FRAME_HEAD + BODY_HEAD) as u64)
                        .map_err(|e| io_err("read", &seg.path, e))?;
                    return Ok(u64::from_be_bytes(start) + u64::from(m.len) - 8);
                }
            }
            i -= 1;
        }
        Ok(0)
    }

    /// Record `hs`. A new term or vote is written and synced before it is acted on; a
    /// commit index alone is kept in memory (it is learned again from the leader) and
    /// written with the next term change or at close.
    ///
    /// # Errors
    /// I/O failures.
    pub fn set_hard_state(&mut self, hs: &HardState) -> Result<()> {
        let durable = hs.term != self.hard.term || hs.vote != self.hard.vote;
        self.hard = hs.clone();
        if durable {
            self.persist_hard_state()?;
        }
        Ok(())
    }

    /// Raise the in-memory commit index (a light ready carries only that).
    pub fn commit_to(&mut self, index: u64) {
        if index > self.hard.commit {
            self.hard.commit = index;
        }
    }

    /// Write the hard state to disk (temp file, fsync, rename).
    ///
    /// # Errors
    /// I/O failures.
    pub fn persist_hard_state(&self) -> Result<()> {
        let path = self.dir.join(HARD_STATE_FILE);
        let tmp = self.dir.join("hardstate.tmp");
        let mut body = Vec::with_capacity(28);
        body.extend_from_slice(&self.hard.term.to_be_bytes());
        body.extend_from_slice(&self.hard.vote.to_be_bytes());
        body.extend_from_slice(&self.hard.commit.to_be_bytes());
        body.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
        let mut f = File::create(&tmp).map_err(|e| io_err("create", &tmp, e))?;
        f.write_all(&body).map_err(|e| io_err("write", &tmp, e))?;
        f.sync_all().map_err(|e| io_err("fsync", &tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| io_err("rename", &path, e))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_err("fsync", &self.dir, e))?;
        Ok(())
    }

    fn meta(&self, index: u64) -> Option<&Meta> {
        let at = usize::try_from(index.checked_sub(self.first)?).ok()?;
        self.metas.get(at)
    }

    fn read_entry(&self, index: u64) -> Result<Entry> {
        let meta = *self.meta(index).ok_or(StoreError::OutOfOrder {
            expected: self.end(),
            got: index,
        })?;
        let seg = &self.segments[self.segment_of(index)];
        let mut data = vec![0; meta.len as usize];
        seg.file
            .read_exact_at(&mut data, meta.pos + (FRAME_HEAD + BODY_HEAD) as u64)
            .map_err(|e| io_err("read", &seg.path, e))?;
        Ok(Entry {
            index,
            term: meta.term,
            entry_type: EntryType::from_i32(meta.kind).unwrap_or(EntryType::EntryNormal),
            data: data.into(),
            ..Entry::default()
        })
    }
}

/// The entries of a segment's bytes (starting at index `first`) and the length of its good
/// prefix.
fn scan(bytes: &[u8], first: u64) -> (Vec<Meta>, u64) {
    let mut metas = Vec::new();
    let mut pos = 0usize;
    while pos + FRAME_HEAD + BODY_HEAD <= bytes.len() {
        let len = u32::from_be_bytes(word(&bytes[pos..])) as usize;
        let crc = u32::from_be_bytes(word(&bytes[pos + 4..]));
        let body_at = pos + FRAME_HEAD;
        if len < BODY_HEAD || body_at + len > bytes.len() {
            break;
        }
        let body = &bytes[body_at..body_at + len];
        if crc32fast::hash(body) != crc {
            break;
        }
        let index = u64::from_be_bytes(long(body));
        let term = u64::from_be_bytes(long(&body[8..]));
        if index != first + metas.len() as u64 {
            break;
        }
        metas.push(Meta {
            term,
            pos: pos as u64,
            len: u32::try_from(len - BODY_HEAD).unwrap_or(u32::MAX),
            kind: i32::from(body[16]),
        });
        pos = body_at + len;
    }
    (metas, pos as u64)
}

fn read_compacted(path: &Path) -> Result<(u64, u64)> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, 0)),
        Err(e) => return Err(io_err("read", path, e)),
    };
    if bytes.len() != 20 || crc32fast::hash(&bytes[..16]) != u32::from_be_bytes(word(&bytes[16..]))
    {
        return Err(StoreError::Corrupted {
            file: path.to_path_buf(),
            offset: 0,
            reason: "Raft compaction record fails its checksum".into(),
        });
    }
    Ok((
        u64::from_be_bytes(long(&bytes)),
        u64::from_be_bytes(long(&bytes[8..])),
    ))
}

fn write_compacted(dir: &Path, index: u64, term: u64) -> Result<()> {
    let path = dir.join(COMPACTED_FILE);
    let tmp = dir.join("compacted.tmp");
    let mut body = Vec::with_capacity(20);
    body.extend_from_slice(&index.to_be_bytes());
    body.extend_from_slice(&term.to_be_bytes());
    body.extend_from_slice(&crc32fast::hash(&body).to_be_bytes());
    let mut f = File::create(&tmp).map_err(|e| io_err("create", &tmp, e))?;
    f.write_all(&body).map_err(|e| io_err("write", &tmp, e))?;
    f.sync_all().map_err(|e| io_err("fsync", &tmp, e))?;
    fs::rename(&tmp, &path).map_err(|e| io_err("rename", &path, e))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("fsync", dir, e))
}

fn word(b: &[u8]) -> [u8; 4] {
    [b[0], b[1], b[2], b[3]]
}

fn long(b: &[u8]) -> [u8; 8] {
    [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]
}

fn read_hard_state(path: &Path) -> Result<HardState> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HardState::default()),
        Err(e) => return Err(io_err("read", path, e)),
    };
    if bytes.len() != 28 || crc32fast::hash(&bytes[..24]) != u32::from_be_bytes(word(&bytes[24..]))
    {
        return Err(StoreError::Corrupted {
            file: path.to_path_buf(),
            offset: 0,
            reason: "Raft hard state fails its checksum".into(),
        });
    }
    Ok(HardState {
        term: u64::from_be_bytes(long(&bytes)),
        vote: u64::from_be_bytes(long(&bytes[8..])),
        commit: u64::from_be_bytes(long(&bytes[16..])),
        ..HardState::default()
    })
}

impl raft::Storage for LogStore {
    fn initial_state(&self) -> raft::Result<RaftState> {
        let mut hs = self.hard.clone();
        // A commit index past the log (the log lost an unsynced tail) cannot be honoured.
        hs.commit = hs.commit.min(self.end() - 1);
        Ok(RaftState::new(hs, self.conf.clone()))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low < self.first {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if high > self.end() {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        let limit = max_size.into().unwrap_or(u64::MAX);
        let mut out = Vec::new();
        let mut size = 0u64;
        for index in low..high {
            let e = self.read_entry(index).map_err(|e| to_raft(&e))?;
            size += u64::from(e.compute_size());
            if !out.is_empty() && size > limit {
                break;
            }
            out.push(e);
        }
        Ok(out)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        if idx == self.first - 1 {
            // The entry before the log: Raft's sentinel (0) or the last compacted entry.
            return Ok(self.before_first_term);
        }
        match self.meta(idx) {
            Some(m) => Ok(m.term),
            None if idx < self.first => Err(raft::Error::Store(StorageError::Compacted)),
            None => Err(raft::Error::Store(StorageError::Unavailable)),
        }
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.first)
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.end() - 1)
    }

    fn snapshot(&self, _request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        // Compaction only removes entries whose commitlog bytes retention deleted on this
        // member; a peer that needs them cannot be brought up to date (no snapshots).
        Err(raft::Error::Store(
            StorageError::SnapshotTemporarilyUnavailable,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use raft::Storage;

    fn entry(index: u64, term: u64, data: &[u8]) -> Entry {
        Entry {
            index,
            term,
            data: data.to_vec().into(),
            ..Entry::default()
        }
    }

    #[test]
    fn entries_survive_reopen_and_a_conflict_cuts_the_suffix() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| io_err("tempdir", Path::new("."), e))?;
        {
            let mut log = LogStore::open(dir.path(), &[1, 2, 3], false)?;
            log.append(&[entry(1, 1, b"a"), entry(2, 1, b"b"), entry(3, 1, b"c")])?;
            log.append(&[entry(3, 2, b"C"), entry(4, 2, b"d")])?;
            log.set_hard_state(&HardState {
                term: 2,
                vote: 3,
                ..HardState::default()
            })?;
        }
        let log = LogStore::open(dir.path(), &[1, 2, 3], false)?;
        assert_eq!(log.last_index().ok(), Some(4));
        assert_eq!(log.term(3).ok(), Some(2));
        let got = log
            .entries(1, 5, None, GetEntriesContext::empty(false))
            .map_err(|e| StoreError::Config(e.to_string()))?;
        let data: Vec<&[u8]> = got.iter().map(|e| &e.data[..]).collect();
        assert_eq!(data, vec![&b"a"[..], b"b", b"C", b"d"]);
        assert_eq!((log.hard_state().term, log.hard_state().vote), (2, 3));
        Ok(())
    }

    #[test]
    fn a_torn_tail_is_cut_at_open() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| io_err("tempdir", Path::new("."), e))?;
        {
            let mut log = LogStore::open(dir.path(), &[1], false)?;
            log.append(&[entry(1, 1, b"first"), entry(2, 1, b"second")])?;
        }
        let path = dir.path().join(segment_name(1));
        let len = fs::metadata(&path)
            .map_err(|e| io_err("stat", &path, e))?
            .len();
        let f = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| io_err("open", &path, e))?;
        f.set_len(len - 3)
            .map_err(|e| io_err("truncate", &path, e))?;
        let mut log = LogStore::open(dir.path(), &[1], false)?;
        assert_eq!(log.last_index().ok(), Some(1));
        log.append(&[entry(2, 2, b"again")])?;
        let log = LogStore::open(dir.path(), &[1], false)?;
        assert_eq!(log.term(2).ok(), Some(2));
        Ok(())
    }

    fn positioned(index: u64, term: u64) -> Entry {
        // As a DLedger entry: the commitlog offset (index * 100), then 50 bytes.
        let mut data = (index * 100).to_be_bytes().to_vec();
        data.extend_from_slice(&[7; 50]);
        Entry {
            index,
            term,
            data: data.into(),
            ..Entry::default()
        }
    }

    #[test]
    fn segments_roll_and_compaction_keeps_what_retention_kept() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| io_err("tempdir", Path::new("."), e))?;
        let segments = |d: &Path| {
            fs::read_dir(d).map_or(0, |r| {
                r.filter_map(std::result::Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().starts_with("raft-"))
                    .count()
            })
        };
        {
            let mut log = LogStore::open_with(dir.path(), &[1], false, 300)?;
            for i in 1..=40 {
                log.append(&[positioned(i, 1 + i / 20)])?;
            }
            assert!(segments(dir.path()) >= 8);
            // Nothing goes while the entries are not applied or retention kept their bytes.
            assert_eq!(log.compact(0, 4000)?, 0);
            assert_eq!(log.compact(40, 0)?, 0);
            let dropped = log.compact(30, 1500)?;
            assert!(dropped > 0);
            let first = log
                .first_index()
                .map_err(|e| StoreError::Config(e.to_string()))?;
            // Every entry whose bytes are still in the commitlog (end > 1500) is kept.
            assert!(first <= 15, "first {first}");
            assert!(first > 1);
            assert_eq!(log.term(first - 1).ok(), Some(1 + (first - 1) / 20));
            assert!(log.term(first - 2).is_err());
        }
        let log = LogStore::open_with(dir.path(), &[1], false, 300)?;
        let first = log
            .first_index()
            .map_err(|e| StoreError::Config(e.to_string()))?;
        assert_eq!(log.term(first - 1).ok(), Some(1 + (first - 1) / 20));
        let got = log
            .entries(first, 41, None, GetEntriesContext::empty(false))
            .map_err(|e| StoreError::Config(e.to_string()))?;
        assert_eq!(got.len() as u64, 41 - first);
        assert_eq!(got.last().map(|e| e.index), Some(40));
        Ok(())
    }

    #[test]
    fn a_conflict_in_an_older_segment_removes_the_later_ones() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| io_err("tempdir", Path::new("."), e))?;
        let mut log = LogStore::open_with(dir.path(), &[1], false, 300)?;
        for i in 1..=20 {
            log.append(&[positioned(i, 1)])?;
        }
        log.append(&[positioned(3, 2)])?;
        assert_eq!(log.last_index().ok(), Some(3));
        let log = LogStore::open_with(dir.path(), &[1], false, 300)?;
        assert_eq!(log.last_index().ok(), Some(3));
        assert_eq!(log.term(3).ok(), Some(2));
        assert_eq!(log.term(2).ok(), Some(1));
        Ok(())
    }
}
