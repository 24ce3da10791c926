//! The `checkpoint` file: one 4 KiB page holding three store timestamps (Java:
//! `StoreCheckpoint`), so Apache RocketMQ tools and an abnormal restart see how far each
//! structure was durable.
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Result, StoreError};

const FILE_SIZE: u64 = 4096;

/// Store timestamps (ms) up to which each structure was on disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stamps {
    /// Newest message in the flushed commitlog.
    pub physic: i64,
    /// Newest message whose consume-queue entry was flushed.
    pub logics: i64,
    /// End timestamp of the newest full (flushed) index file.
    pub index: i64,
}

impl Stamps {
    /// Java's `getMinTimestamp`: the older of commitlog and queues, less 3 s of slack.
    #[must_use]
    pub fn min_timestamp(&self) -> i64 {
        (self.physic.min(self.logics) - 3000).max(0)
    }
}

/// Cheap to clone, so the flush thread can write it without holding the store lock.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    file: Arc<File>,
    path: PathBuf,
}

impl Checkpoint {
    /// Open (creating a zeroed page if absent) and read the stored stamps.
    ///
    /// # Errors
    /// I/O failures.
    pub fn open(path: &Path) -> Result<(Checkpoint, Stamps)> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| StoreError::io("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| StoreError::io("stat", path, e))?
            .len();
        if len < FILE_SIZE {
            file.set_len(FILE_SIZE)
                .map_err(|e| StoreError::io("extend", path, e))?;
        }
        let mut raw = [0u8; 24];
        file.read_exact_at(&mut raw, 0)
            .map_err(|e| StoreError::io("read", path, e))?;
        let at = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&raw[i..i + 8]);
            i64::from_be_bytes(b)
        };
        let stamps = Stamps {
            physic: at(0),
            logics: at(8),
            index: at(16),
        };
        Ok((
            Checkpoint {
                file: Arc::new(file),
                path: path.to_path_buf(),
            },
            stamps,
        ))
    }

    /// Write and force the stamps.
    ///
    /// # Errors
    /// I/O failures (the caller poisons the store: a lost fsync is not retried).
    pub fn write(&self, stamps: Stamps) -> Result<()> {
        let mut raw = [0u8; 24];
        raw[0..8].copy_from_slice(&stamps.physic.to_be_bytes());
        raw[8..16].copy_from_slice(&stamps.logics.to_be_bytes());
        raw[16..24].copy_from_slice(&stamps.index.to_be_bytes());
        self.file
            .write_all_at(&raw, 0)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| StoreError::io("write", &self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_in_a_page_sized_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint");
        let (cp, first) = Checkpoint::open(&path).unwrap();
        assert_eq!(first, Stamps::default());
        let stamps = Stamps {
            physic: 1_700_000_000_123,
            logics: 1_700_000_000_100,
            index: 1_699_999_999_000,
        };
        cp.write(stamps).unwrap();
        drop(cp);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 4096);
        let (_, read) = Checkpoint::open(&path).unwrap();
        assert_eq!(read, stamps);
        assert_eq!(read.min_timestamp(), 1_700_000_000_100 - 3000);
    }
}
