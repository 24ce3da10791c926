//! A file mapped read-write into memory: the one module that uses `unsafe`.
//!
//! Used where writes land at scattered positions (IndexFile hash slots and chains), which
//! positioned I/O would turn into several syscalls per key. Appends to the CommitLog and
//! consume queues use positioned writes instead (see `segment_queue`).
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use memmap2::MmapMut;

use crate::error::{Result, StoreError};

#[derive(Debug)]
pub struct MappedFile {
    path: PathBuf,
    map: MmapMut,
    file: File,
}

fn map(file: &File, path: &Path) -> Result<MmapMut> {
    // SAFETY: the mapping is only sound while nobody else truncates or rewrites the file.
    // The store root's lock file keeps other rmq processes out, the file is private to the
    // store directory, and every mapping lives no longer than the `MappedFile` that owns it
    // and the file handle. Readers and writers go through `&self`/`&mut self`, so Rust's
    // borrow rules order every access within this process (a remap takes `&mut self`).
    unsafe { MmapMut::map_mut(file) }.map_err(|e| StoreError::io("mmap", path, e))
}

impl MappedFile {
    /// Map `path`, creating it with `size` bytes (sparse) when absent.
    ///
    /// # Errors
    /// I/O failures; an existing file whose length is not `size`.
    pub fn open(path: &Path, size: u64) -> Result<MappedFile> {
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
        if len == 0 {
            file.set_len(size)
                .map_err(|e| StoreError::io("size", path, e))?;
        } else if len != size {
            return Err(StoreError::Corrupted {
                file: path.to_path_buf(),
                offset: 0,
                reason: format!("length {len} does not match the expected {size}"),
            });
        }
        Ok(MappedFile {
            path: path.to_path_buf(),
            map: map(&file, path)?,
            file,
        })
    }

    /// Flush, then map the file afresh: the pages this process touched stop counting in
    /// its RSS (they stay in the page cache, and come back as minor faults when read). For
    /// files that are no longer written, so memory follows the hot files, not the data.
    ///
    /// # Errors
    /// The failing msync or mmap.
    pub fn release_pages(&mut self) -> Result<()> {
        self.flush()?;
        self.map = map(&self.file, &self.path)?;
        Ok(())
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.map
    }

    /// msync the whole mapping.
    ///
    /// # Errors
    /// The failing msync.
    pub fn flush(&self) -> Result<()> {
        self.map
            .flush()
            .map_err(|e| StoreError::io("msync", &self.path, e))
    }
}
