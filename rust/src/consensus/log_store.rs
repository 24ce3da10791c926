//! The Raft log on disk: one append-only file of framed entries plus a hard-state file.
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
const LOG_FILE: &str = "raft.log";
const HARD_STATE_FILE: &str = "hardstate";

#[derive(Debug, Clone, Copy)]
struct Meta {
    term: u64,
    /// Position of the frame's first byte.
    pos: u64,
    /// Data length.
    len: u32,
    kind: i32,
}

#[derive(Debug)]
pub struct LogStore {
    dir: PathBuf,
    file: File,
    file_len: u64,
    /// Index of `metas[0]`; entries start at 1 in a new log.
    first: u64,
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
        fs::create_dir_all(dir).map_err(|e| io_err("create", dir, e))?;
        let path = dir.join(LOG_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_err("open", &path, e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| io_err("read", &path, e))?;
        let (first, metas, good) = scan(&bytes);
        if good < bytes.len() as u64 {
            file.set_len(good)
                .map_err(|e| io_err("truncate", &path, e))?;
        }
        let mut conf = ConfState::default();
        conf.set_voters(voters.to_vec());
        let hard = read_hard_state(&dir.join(HARD_STATE_FILE))?;
        Ok(LogStore {
            dir: dir.to_path_buf(),
            file,
            file_len: good,
            first,
            metas,
            hard,
            conf,
            sync,
        })
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

    /// Append `entries`, first cutting off any suffix from `entries[0].index` on.
    ///
    /// # Errors
    /// I/O failures, or entries that leave a gap.
    pub fn append(&mut self, entries: &[Entry]) -> Result<()> {
        let Some(head) = entries.first() else {
            return Ok(());
        };
        let path = self.dir.join(LOG_FILE);
        if head.index < self.end() {
            let keep = usize::try_from(head.index.saturating_sub(self.first)).unwrap_or(0);
            let cut = self.metas.get(keep).map_or(self.file_len, |m| m.pos);
            self.metas.truncate(keep);
            if self.metas.is_empty() {
                self.first = head.index;
            }
            self.file
                .set_len(cut)
                .map_err(|e| io_err("truncate", &path, e))?;
            self.file_len = cut;
        } else if head.index > self.end() && !self.metas.is_empty() {
            return Err(StoreError::OutOfOrder {
                expected: self.end(),
                got: head.index,
            });
        } else if self.metas.is_empty() {
            self.first = head.index;
        }
        let mut buf = Vec::new();
        let mut pos = self.file_len;
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
        self.file
            .write_all_at(&buf, self.file_len)
            .map_err(|e| io_err("write", &path, e))?;
        self.file_len = pos;
        if self.sync {
            self.file
                .sync_data()
                .map_err(|e| io_err("fdatasync", &path, e))?;
        }
        Ok(())
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
        let path = self.dir.join(LOG_FILE);
        let meta = *self.meta(index).ok_or(StoreError::OutOfOrder {
            expected: self.end(),
            got: index,
        })?;
        let mut data = vec![0; meta.len as usize];
        self.file
            .read_exact_at(&mut data, meta.pos + (FRAME_HEAD + BODY_HEAD) as u64)
            .map_err(|e| io_err("read", &path, e))?;
        Ok(Entry {
            index,
            term: meta.term,
            entry_type: EntryType::from_i32(meta.kind).unwrap_or(EntryType::EntryNormal),
            data: data.into(),
            ..Entry::default()
        })
    }
}

/// The entries of a log file's bytes and the length of its good prefix.
fn scan(bytes: &[u8]) -> (u64, Vec<Meta>, u64) {
    let mut metas = Vec::new();
    let mut first = 1;
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
        if metas.is_empty() {
            first = index;
        } else if index != first + metas.len() as u64 {
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
    (first, metas, pos as u64)
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
            // The entry before the log (0 for a new log): Raft's sentinel.
            return Ok(0);
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
        // The log is never compacted, so a peer is never sent a snapshot.
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
        let path = dir.path().join(LOG_FILE);
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
}
