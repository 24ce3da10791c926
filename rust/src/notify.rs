//! Progress counters and the wake-up file descriptor.
//!
//! Rust threads never call Python: they bump these counters and write one byte to a
//! socket pair whose other end the asyncio loop watches (`loop.add_reader`). A full socket
//! buffer means a wake-up is already pending, so a failed write is harmless.
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use crate::error::{Result, StoreError};

#[derive(Debug)]
pub struct Progress {
    pub written: AtomicU64,
    pub flushed: AtomicU64,
    pub dispatched: AtomicU64,
    pub poisoned: AtomicBool,
    /// Set by the disk guard: writes are refused until usage drops below the warning level.
    pub disk_full: AtomicBool,
    waker: Mutex<UnixStream>,
    /// Kept so the fd stays open for Python; only Python reads it.
    pub reader: UnixStream,
}

impl Progress {
    /// # Errors
    /// When the socket pair cannot be made.
    pub fn new() -> Result<Progress> {
        let (waker, reader) =
            UnixStream::pair().map_err(|e| StoreError::io("socketpair", "wakeup", e))?;
        for s in [&waker, &reader] {
            s.set_nonblocking(true)
                .map_err(|e| StoreError::io("set nonblocking", "wakeup", e))?;
        }
        Ok(Progress {
            written: AtomicU64::new(0),
            flushed: AtomicU64::new(0),
            dispatched: AtomicU64::new(0),
            poisoned: AtomicBool::new(false),
            disk_full: AtomicBool::new(false),
            waker: Mutex::new(waker),
            reader,
        })
    }

    pub fn wake(&self) {
        if let Ok(mut waker) = self.waker.lock() {
            // WouldBlock: a wake-up is already queued, which is all we need.
            let _ = waker.write(&[1]);
        }
    }

    pub fn set_flushed(&self, offset: u64) {
        self.flushed.fetch_max(offset, Ordering::AcqRel);
        self.wake();
    }

    pub fn set_dispatched(&self, offset: u64) {
        self.dispatched.store(offset, Ordering::Release);
        self.wake();
    }

    /// Wake the loop only when `tell`: what moved is news to it (not its own puts).
    pub fn publish_dispatched(&self, offset: u64, tell: bool) {
        self.dispatched.store(offset, Ordering::Release);
        if tell {
            self.wake();
        }
    }

    pub fn poison(&self) {
        self.poisoned.store(true, Ordering::Release);
        self.wake();
    }

    #[must_use]
    pub fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::Acquire)
    }
}
