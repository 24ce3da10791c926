//! Brings the commitlog pages just ahead of the write position into the page cache from a
//! thread of its own, so the put path writes into pages that already exist.
//!
//! A write into a page the cache does not hold yet makes the kernel allocate the page and
//! zero what the write leaves uncovered; on these VMs the first touch of a page is also what
//! pays for the hypervisor backing it, several times the cost of the copy itself. Asked with
//! `posix_fadvise(WILLNEED)` (blocks of an allocated segment read as zeros, so no disk read
//! happens), that work runs on the other core while the put path copies. The pages are
//! clean until written, so nothing extra is ever flushed (Java's `warmMapedFileEnable`
//! writes zeros instead, and pays for flushing them).
use std::fs::File;
use std::num::NonZeroU64;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

/// How far ahead of the write position pages are brought in.
pub const WINDOW: u64 = 32 << 20;
/// A new request is made once less than this is left ahead of the write position.
const LOW_WATER: u64 = WINDOW / 2;
/// One `fadvise` call covers this much, so a stop request is seen soon.
const STEP: u64 = 1 << 20;

#[derive(Debug)]
struct Request {
    file: Arc<File>,
    /// File offsets, `from < to`.
    from: u64,
    to: u64,
}

#[derive(Debug, Default)]
struct State {
    pending: Option<Request>,
    stop: bool,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

#[derive(Debug)]
pub struct Prefetcher {
    shared: Shared,
    thread: Option<JoinHandle<()>>,
    /// Global offset up to which pages were last requested.
    requested_to: u64,
}

impl Prefetcher {
    /// Start the thread. Failing to spawn it leaves a prefetcher that does nothing: the put
    /// path works the same, only slower.
    #[must_use]
    pub fn start() -> Prefetcher {
        let shared: Shared = Arc::default();
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("rmq-prefetch".into())
            .spawn(move || run(&theirs))
            .ok();
        Prefetcher {
            shared,
            thread,
            requested_to: 0,
        }
    }

    /// The writer is at global offset `write_pos` of the segment `file` that starts at
    /// `segment_start` and holds `segment_size` bytes. Cheap unless a request is due.
    pub fn advance(
        &mut self,
        file: &Arc<File>,
        segment_start: u64,
        segment_size: u64,
        write_pos: u64,
    ) {
        if self.thread.is_none() || write_pos + LOW_WATER <= self.requested_to {
            return;
        }
        let segment_end = segment_start + segment_size;
        let from = self.requested_to.clamp(write_pos, segment_end);
        let to = (write_pos + WINDOW).min(segment_end);
        // Past the segment's end there is nothing to bring in until the next one exists.
        self.requested_to = to.max(write_pos + LOW_WATER);
        if from >= to {
            return;
        }
        let (state, wake) = &*self.shared;
        let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
        // A request the thread has not started yet is replaced: the writer moved past it.
        state.pending = Some(Request {
            file: Arc::clone(file),
            from: from - segment_start,
            to: to - segment_start,
        });
        wake.notify_one();
    }

    /// The write position moved backwards (truncation, recovery): ask again from there.
    pub fn reset(&mut self) {
        self.requested_to = 0;
    }
}

impl Drop for Prefetcher {
    fn drop(&mut self) {
        {
            let (state, wake) = &*self.shared;
            state.lock().unwrap_or_else(PoisonError::into_inner).stop = true;
            wake.notify_one();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(shared: &Shared) {
    let (state, wake) = &**shared;
    loop {
        let request = {
            let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if s.stop {
                    return;
                }
                if let Some(request) = s.pending.take() {
                    break request;
                }
                s = wake.wait(s).unwrap_or_else(PoisonError::into_inner);
            }
        };
        let mut at = request.from;
        while at < request.to {
            let len = STEP.min(request.to - at);
            // Only a hint: a failure (a file deleted by retention meanwhile) costs nothing.
            let _ = rustix::fs::fadvise(
                &*request.file,
                at,
                NonZeroU64::new(len),
                rustix::fs::Advice::WillNeed,
            );
            at += len;
            if state.lock().unwrap_or_else(PoisonError::into_inner).stop {
                return;
            }
        }
    }
}
