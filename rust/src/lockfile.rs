//! The store's `lock` file: one process per store root.
//!
//! Java takes an exclusive lock on the file and writes `lock`; rmq writes its pid so the
//! refusal can name the process that holds the store.
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::{Result, StoreError};

#[derive(Debug)]
pub struct LockFile {
    _file: File,
}

impl LockFile {
    /// # Errors
    /// `Locked` (naming the holder's pid when it wrote one) or an I/O failure.
    pub fn acquire(path: &Path) -> Result<LockFile> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| StoreError::io("open", path, e))?;
        if file.try_lock().is_err() {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => "another process".to_string(),
                pid => format!("pid {pid}"),
            };
            return Err(StoreError::Locked {
                path: path.to_path_buf(),
                holder,
            });
        }
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
            .and_then(|()| file.write_all(std::process::id().to_string().as_bytes()))
            .and_then(|()| file.sync_data())
            .map_err(|e| StoreError::io("write", path, e))?;
        Ok(LockFile { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_with_the_pid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let held = LockFile::acquire(&path).unwrap();
        let err = LockFile::acquire(&path).unwrap_err();
        assert!(err
            .to_string()
            .contains(&format!("held by pid {}", std::process::id())));
        drop(held);
        LockFile::acquire(&path).unwrap();
    }
}
