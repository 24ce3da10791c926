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
//!
//! Under SYNC_FLUSH the thread writes zeros ahead instead ([`Prefetcher::start_zeroing`]),
//! and syncs them. An allocated segment's blocks are unwritten extents: the first fdatasync
//! after data lands in one must also commit the journal entry that marks the extent
//! written, which measured 2,000-2,800 fdatasyncs/s of 38 KiB against 3,500-6,000 over
//! blocks already written. Zeroed ahead, that commit happens here, once per window, off
//! the path of every synced put. Zeros and data never meet: see [`ZeroFence`].
use std::fs::File;
use std::num::NonZeroU64;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

/// How far ahead of the write position pages are brought in.
pub const WINDOW: u64 = 32 << 20;
/// A new request is made once less than this is left ahead of the write position.
const LOW_WATER: u64 = WINDOW / 2;
/// One `fadvise` call covers this much, so a stop request is seen soon.
const STEP: u64 = 1 << 20;
/// Zeros written per hold of the fence's lock: a put that reaches the zeroing front waits
/// for at most one such write.
const ZERO_STEP: u64 = 256 << 10;

#[derive(Debug)]
struct Request {
    file: Arc<File>,
    /// Global offset of the file's first byte.
    segment_start: u64,
    /// Global offsets, `from < to`.
    from: u64,
    to: u64,
}

/// Keeps the zeroing thread's writes and the put path's apart (global offsets).
///
/// The thread writes zeros only at or past `max(zeroed_to, written)`, holding `lock`, and
/// then raises `zeroed_to`. A put whose bytes end at or below `zeroed_to` writes without the
/// lock: `zeroed_to` never falls while it writes (only [`Prefetcher::reset`] lowers it, and
/// that runs on the writer's own thread), so no zeros can land there. A put that reaches past
/// it writes holding `lock` and records its end in `written` before letting go.
#[derive(Debug, Default)]
pub struct ZeroFence {
    lock: Mutex<()>,
    zeroed_to: AtomicU64,
    written: AtomicU64,
}

impl ZeroFence {
    fn hold(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Run `write`, which puts bytes up to global offset `end`, where no zeros can land.
    pub fn write<T>(&self, end: u64, write: impl FnOnce() -> T) -> T {
        let guard = (end > self.zeroed_to.load(Ordering::Acquire)).then(|| self.hold());
        let out = write();
        self.written.store(end, Ordering::Release);
        drop(guard);
        out
    }
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
    /// Set when the thread writes zeros ahead.
    fence: Option<Arc<ZeroFence>>,
}

impl Prefetcher {
    /// Start the thread. Failing to spawn it leaves a prefetcher that does nothing: the put
    /// path works the same, only slower.
    #[must_use]
    pub fn start() -> Prefetcher {
        Prefetcher::spawn(None)
    }

    /// Start a thread that writes zeros ahead and syncs them (SYNC_FLUSH); every write to
    /// the queue must then go through [`Prefetcher::fence`].
    #[must_use]
    pub fn start_zeroing() -> Prefetcher {
        Prefetcher::spawn(Some(Arc::default()))
    }

    fn spawn(fence: Option<Arc<ZeroFence>>) -> Prefetcher {
        let shared: Shared = Arc::default();
        let theirs = Arc::clone(&shared);
        let their_fence = fence.clone();
        let thread = std::thread::Builder::new()
            .name("rmq-prefetch".into())
            .spawn(move || run(&theirs, their_fence.as_deref()))
            .ok();
        let fence = fence.filter(|_| thread.is_some());
        Prefetcher {
            shared,
            thread,
            requested_to: 0,
            fence,
        }
    }

    /// What writes to the queue go through when zeros are written ahead.
    #[must_use]
    pub fn fence(&self) -> Option<&ZeroFence> {
        self.fence.as_deref()
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
            segment_start,
            from,
            to,
        });
        wake.notify_one();
    }

    /// The write position moved backwards to `write_pos` (truncation, recovery): ask
    /// again from there. Zeroing starts over from there too: segments past it may be gone,
    /// and new ones will not have been zeroed.
    pub fn reset(&mut self, write_pos: u64) {
        self.requested_to = 0;
        if let Some(fence) = &self.fence {
            let _guard = fence.hold();
            fence.zeroed_to.store(write_pos, Ordering::Release);
            fence.written.store(write_pos, Ordering::Release);
        }
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

fn run(shared: &Shared, fence: Option<&ZeroFence>) {
    let (state, wake) = &**shared;
    let zeros = fence.map_or_else(Vec::new, |_| {
        vec![0u8; usize::try_from(ZERO_STEP).unwrap_or(0)]
    });
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
        let stopped = || state.lock().unwrap_or_else(PoisonError::into_inner).stop;
        if let Some(fence) = fence {
            if zero_ahead(&request, fence, &zeros, stopped) {
                return;
            }
            continue;
        }
        let mut at = request.from;
        while at < request.to {
            let len = STEP.min(request.to - at);
            // Only a hint: a failure (a file deleted by retention meanwhile) costs nothing.
            let _ = rustix::fs::fadvise(
                &*request.file,
                at - request.segment_start,
                NonZeroU64::new(len),
                rustix::fs::Advice::WillNeed,
            );
            at += len;
            if stopped() {
                return;
            }
        }
    }
}

/// Write zeros over the part of `request` nobody has written yet, then sync them; true
/// when asked to stop meanwhile.
fn zero_ahead(
    request: &Request,
    fence: &ZeroFence,
    zeros: &[u8],
    stopped: impl Fn() -> bool,
) -> bool {
    let mut wrote = false;
    loop {
        {
            let _guard = fence.hold();
            let at = request
                .from
                .max(fence.zeroed_to.load(Ordering::Acquire))
                .max(fence.written.load(Ordering::Acquire));
            if at >= request.to {
                break;
            }
            let len = ZERO_STEP.min(request.to - at);
            let Ok(n) = usize::try_from(len) else { break };
            // A failure (a full disk under a sparse segment) only ends the zeroing: the put
            // path meets the same error itself, and reports it.
            if request
                .file
                .write_all_at(&zeros[..n], at - request.segment_start)
                .is_err()
            {
                break;
            }
            fence.zeroed_to.store(at + len, Ordering::Release);
            wrote = true;
        }
        if stopped() {
            return true;
        }
    }
    if wrote {
        // Marks the zeroed extents written now, in one journal commit.
        let _ = rustix::fs::fdatasync(&*request.file);
    }
    false
}
