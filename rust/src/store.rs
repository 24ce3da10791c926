//! The engine: CommitLog, consume queues, dispatch, flush thread, recovery and reads.
//!
//! Two mutexes: the put lock guards the CommitLog, the dispatch lock the consume queues and
//! the index (`dispatch`). A put appends under the put lock and hands its records to the
//! dispatch thread; whoever needs both takes the dispatch lock first. The flush thread takes
//! the put lock only to copy the handles of dirty segments, then fsyncs without it.
use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::checkpoint::{Checkpoint, Stamps};
use crate::codec::cq::{CqUnit, UNIT_SIZE as CQ_UNIT_SIZE};
use crate::codec::record::{self, Check, MessageRef, Refusal};
use crate::commitlog::CommitLog;
use crate::consume_queue::ConsumeQueue;
use crate::dispatch::{Appended, Queues};
use crate::error::{Result, StoreError};
use crate::filter::sql92::{EncodedProperties, Expr};
use crate::index::IndexService;
use crate::lockfile::LockFile;
use crate::notify::Progress;
use crate::retention::{disk_ratio, CleanPolicy, CleanReport};
use crate::segment_queue::{sync_files, SegmentQueue};
use crate::QueueMap;

const OS_PAGE: u64 = 4096;
/// Between two dispatch passes while puts come in. Java's reput sleeps 1 ms; here a pass
/// cost about 20 µs of wake-up and locking besides its records, which at 1 ms came to 2-3 µs
/// per message of a broker's 10-15k sync sends a second (its own core's time). Nothing
/// waits on the thread: readers catch up themselves, and replication wakes it at once.
const DISPATCH_PASS: Duration = Duration::from_millis(10);
/// Idle, the thread waits for a put to wake it; this is only a backstop.
const DISPATCH_IDLE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub root: PathBuf,
    pub commitlog_dir: Option<PathBuf>,
    pub consume_queue_dir: Option<PathBuf>,
    pub commitlog_segment_size: u64,
    pub consume_queue_segment_size: u64,
    pub max_message_size: usize,
    pub sync_flush: bool,
    pub flush_interval: Duration,
    pub flush_least_pages: u64,
    pub flush_thorough_interval: Duration,
    pub flush_consume_queue_interval: Duration,
    pub message_index_enable: bool,
    pub max_hash_slot_num: u32,
    pub max_index_num: u32,
}

impl StoreConfig {
    #[must_use]
    pub fn new(root: impl Into<PathBuf>) -> StoreConfig {
        StoreConfig {
            root: root.into(),
            commitlog_dir: None,
            consume_queue_dir: None,
            commitlog_segment_size: 1024 * 1024 * 1024,
            consume_queue_segment_size: 300_000 * 20,
            max_message_size: 4 * 1024 * 1024,
            sync_flush: false,
            flush_interval: Duration::from_millis(500),
            flush_least_pages: 4,
            flush_thorough_interval: Duration::from_secs(10),
            flush_consume_queue_interval: Duration::from_secs(1),
            message_index_enable: true,
            max_hash_slot_num: 5_000_000,
            max_index_num: 20_000_000,
        }
    }
}

/// Names of Java's PutMessageStatus in ordinal order; the Python enum must list the same.
pub const PUT_STATUS_NAMES: [&str; 10] = [
    "PUT_OK",
    "FLUSH_DISK_TIMEOUT",
    "FLUSH_SLAVE_TIMEOUT",
    "SLAVE_NOT_AVAILABLE",
    "SERVICE_NOT_AVAILABLE",
    "CREATE_MAPEDFILE_FAILED",
    "MESSAGE_ILLEGAL",
    "PROPERTIES_SIZE_EXCEEDED",
    "OS_PAGECACHE_BUSY",
    "UNKNOWN_ERROR",
];

/// Names of Java's GetMessageStatus in ordinal order.
pub const GET_STATUS_NAMES: [&str; 9] = [
    "FOUND",
    "NO_MATCHED_MESSAGE",
    "MESSAGE_WAS_REMOVING",
    "OFFSET_FOUND_NULL",
    "OFFSET_OVERFLOW_BADLY",
    "OFFSET_OVERFLOW_ONE",
    "OFFSET_TOO_SMALL",
    "NO_MATCHED_LOGIC_QUEUE",
    "NO_MESSAGE_IN_QUEUE",
];

/// Java's PutMessageStatus values the engine itself produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PutStatus {
    PutOk = 0,
    ServiceNotAvailable = 4,
    MessageIllegal = 6,
    PropertiesSizeExceeded = 7,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PutResult {
    pub status: PutStatus,
    pub phy_offset: u64,
    pub queue_offset: u64,
    pub size: u32,
    pub store_timestamp: i64,
}

impl PutResult {
    fn refused(status: PutStatus) -> PutResult {
        PutResult {
            status,
            phy_offset: 0,
            queue_offset: 0,
            size: 0,
            store_timestamp: 0,
        }
    }
}

/// Java's GetMessageStatus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum GetStatus {
    Found = 0,
    NoMatchedMessage = 1,
    MessageWasRemoving = 2,
    OffsetFoundNull = 3,
    OffsetOverflowBadly = 4,
    OffsetOverflowOne = 5,
    OffsetTooSmall = 6,
    NoMatchedLogicQueue = 7,
    NoMessageInQueue = 8,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetResult {
    pub status: GetStatus,
    pub next_begin_offset: u64,
    pub min_offset: u64,
    pub max_offset: u64,
    /// The matched records back to back, as a pull response body carries them.
    pub buffer: Vec<u8>,
    pub count: u32,
}

/// What a read keeps (Java: the pull's `MessageFilter`).
#[derive(Debug, Clone, Copy)]
pub enum MessageFilter<'a> {
    All,
    Tags(&'a HashSet<i64>),
    Sql(&'a Expr),
}

/// Java's `maxFilterMessageCount` floor: bytes of consume queue one filtered read may scan.
const MAX_FILTER_SCAN_BYTES: usize = 16_000;

/// The put side: what appends need, behind the put lock.
#[derive(Debug)]
struct Log {
    commitlog: CommitLog,
    closed: bool,
    checkpoint: Checkpoint,
    /// Store time of the newest message known flushed to the commitlog.
    flushed_store_ts: i64,
    /// Puts not yet taken by dispatch, in file order.
    pending: Vec<Appended>,
}

fn stamps(physic: i64, queues: &Queues) -> Stamps {
    Stamps {
        physic,
        logics: queues.dispatched_store_ts,
        index: queues
            .index
            .as_ref()
            .map_or(0, IndexService::last_full_end_timestamp),
    }
}

#[derive(Debug, Default)]
struct FlushSignal {
    requested: bool,
    stop: bool,
    /// The flush thread waits on the condvar: only then does a request need a wake-up
    /// (a notify is a futex syscall, and SYNC_FLUSH asks once per group of waiters).
    sleeping: bool,
}

/// What the dispatch thread is asked for, in rising order.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Wanted {
    #[default]
    Nothing,
    /// Puts came in: the next pass takes them (an idle thread is woken for it).
    NextPass,
    /// Replicated bytes, which a held pull on a slave waits for: a pass now.
    Now,
}

/// Wakes the dispatch thread; `sleeping` as in [`FlushSignal`].
#[derive(Debug, Default)]
struct DispatchSignal {
    wanted: Wanted,
    stop: bool,
    sleeping: bool,
}

#[derive(Debug)]
pub struct Store {
    config: StoreConfig,
    log: Arc<Mutex<Log>>,
    queues: Arc<Mutex<Queues>>,
    progress: Arc<Progress>,
    signal: Arc<(Mutex<FlushSignal>, Condvar)>,
    flusher: Mutex<Option<JoinHandle<()>>>,
    dispatch_signal: Arc<(Mutex<DispatchSignal>, Condvar)>,
    dispatcher: Mutex<Option<JoinHandle<()>>>,
    /// Released by `close`, so a closed store can be reopened while this object lives on.
    lock_file: Mutex<Option<LockFile>>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>> {
    // A thread that panicked while holding the lock leaves the store in an unknown state.
    m.lock().map_err(|_| StoreError::Poisoned)
}

/// Upper bound of one read-ahead: large enough for a pull's worth of small records, small
/// enough that a selective filter does not read far past what it keeps.
const MAX_RUN_BYTES: usize = 1 << 20;

/// Serves records from the last contiguous span read from the commitlog.
#[derive(Default)]
struct RunReader {
    start: u64,
    bytes: Vec<u8>,
}

impl RunReader {
    /// The record of `units[0]`, reading it together with the records that follow it back
    /// to back (up to `budget` bytes); None when the commitlog no longer holds it.
    fn record<'a>(
        &'a mut self,
        segments: &SegmentQueue,
        units: &[CqUnit],
        budget: usize,
    ) -> Result<Option<&'a [u8]>> {
        let phy = u64::try_from(units[0].phy_offset).unwrap_or(0);
        let size = usize::try_from(units[0].size).unwrap_or(0);
        let end = self.start + self.bytes.len() as u64;
        if phy < self.start || phy + size as u64 > end {
            let limit = budget.clamp(size, MAX_RUN_BYTES.max(size));
            let mut span = size;
            for pair in units.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                let next = usize::try_from(b.size).unwrap_or(0);
                if b.phy_offset != a.phy_offset + i64::from(a.size) || span + next > limit {
                    break;
                }
                span += next;
            }
            self.start = phy;
            // A run may cross into the next segment: `read` stops at the segment's end and
            // the records past it are read again, alone, when their turn comes.
            self.bytes = segments.read(phy, span)?;
        }
        let at = usize::try_from(phy - self.start).unwrap_or(usize::MAX);
        Ok(self.bytes.get(at..at + size).filter(|b| b.len() == size))
    }
}

fn load_queues(cq_root: &Path, segment_size: u64) -> Result<QueueMap<ConsumeQueue>> {
    let mut queues = QueueMap::default();
    fs::create_dir_all(cq_root).map_err(|e| StoreError::io("create directory", cq_root, e))?;
    for topic in fs::read_dir(cq_root).map_err(|e| StoreError::io("list", cq_root, e))? {
        let topic = topic.map_err(|e| StoreError::io("list", cq_root, e))?;
        let Ok(name) = topic.file_name().into_string() else {
            continue;
        };
        if !topic.path().is_dir() {
            continue;
        }
        for queue in
            fs::read_dir(topic.path()).map_err(|e| StoreError::io("list", topic.path(), e))?
        {
            let queue = queue.map_err(|e| StoreError::io("list", topic.path(), e))?;
            let Some(id) = queue
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<i32>().ok())
            else {
                continue; // Java ignores non-numeric queue directories too
            };
            queues.insert(
                (name.clone(), id),
                ConsumeQueue::open(&queue.path(), segment_size)?,
            );
        }
    }
    Ok(queues)
}

impl Store {
    /// Open the store at `config.root`: take the lock, recover the commitlog and consume
    /// queues (truncating a torn tail and re-dispatching what the queues lack), start the
    /// flush thread and create the `abort` marker.
    ///
    /// # Errors
    /// `Locked` when another process holds the root; I/O and corruption failures.
    pub fn open(config: StoreConfig) -> Result<Store> {
        fs::create_dir_all(&config.root)
            .map_err(|e| StoreError::io("create directory", &config.root, e))?;
        let lock = LockFile::acquire(&config.root.join("lock"))?;
        let cl_dir = config
            .commitlog_dir
            .clone()
            .unwrap_or_else(|| config.root.join("commitlog"));
        let cq_root = config
            .consume_queue_dir
            .clone()
            .unwrap_or_else(|| config.root.join("consumequeue"));
        let abnormal = config.root.join("abort").exists();
        let (checkpoint, saved) = Checkpoint::open(&config.root.join("checkpoint"))?;
        let mut commitlog =
            CommitLog::open(&cl_dir, config.commitlog_segment_size, config.sync_flush)?;
        let mut queues = load_queues(&cq_root, config.consume_queue_segment_size)?;
        let mut covered = queues
            .values()
            .map(ConsumeQueue::max_phy_end)
            .max()
            .unwrap_or(0);
        if abnormal {
            // Units still in a queue's write buffer died with the process, so the furthest
            // queue says nothing about the others: dispatch again from the last offset below
            // which every queue was written (duplicates are skipped per queue).
            if let Some(mark) = read_dispatch_mark(&config.root.join(DISPATCH_MARK_FILE)) {
                covered = covered.min(mark);
            }
        }
        let (end, _) = commitlog.recover(covered, abnormal.then(|| saved.min_timestamp()))?;
        let min_phy = commitlog.segments.min_offset();
        for queue in queues.values_mut() {
            queue.truncate_to_phy(end)?;
            if min_phy > 0 {
                // Java's correctMinOffset: entries below a retained commitlog are gone.
                queue.delete_before_phy(min_phy)?;
            }
        }
        let mut covered = if abnormal {
            covered.min(end)
        } else {
            queues
                .values()
                .map(ConsumeQueue::max_phy_end)
                .max()
                .unwrap_or(0)
        };
        let index = if config.message_index_enable {
            let mut index = IndexService::open(
                &config.root.join("index"),
                config.max_hash_slot_num,
                config.max_index_num,
            )?;
            if let Some(rebuild_from) = index.truncate_to_phy(end)? {
                covered = covered.min(rebuild_from);
            }
            Some(index)
        } else {
            None
        };
        let mut queues = Queues {
            dispatched: covered.max(commitlog.segments.min_offset()).min(end),
            dispatched_store_ts: 0,
            dispatch_limit: None,
            queues,
            index,
            cq_root,
            cq_segment_size: config.consume_queue_segment_size,
            cl_segment_size: commitlog.segments.segment_size(),
            moved: Vec::new(),
        };
        queues.scan(&mut commitlog, now_ms())?;
        queues.reset_queue_offsets(&mut commitlog);
        // Recovery read every record it kept: the newest is also the newest dispatched.
        queues.dispatched_store_ts = commitlog.last_store_timestamp();
        for queue in queues.queues.values_mut() {
            queue.write_pending()?;
        }
        let mark_path = config.root.join(DISPATCH_MARK_FILE);
        write_dispatch_mark(&mark_path, queues.dispatched)
            .map_err(|e| StoreError::io("write", &mark_path, e))?;
        // Everything recovered is on disk; record that before new writes begin.
        sync_files(&commitlog.segments.dirty_files(0, end))?;
        let flushed_store_ts = commitlog.last_store_timestamp();
        checkpoint.write(stamps(flushed_store_ts, &queues))?;
        let abort = config.root.join("abort");
        fs::write(&abort, b"").map_err(|e| StoreError::io("create", &abort, e))?;
        let log = Log {
            commitlog,
            closed: false,
            checkpoint,
            flushed_store_ts,
            pending: Vec::new(),
        };
        Store::start(config, lock, log, queues)
    }

    /// Run a recovered store: its counters, then its dispatch and flush threads.
    fn start(config: StoreConfig, lock: LockFile, log: Log, queues: Queues) -> Result<Store> {
        let progress = Arc::new(Progress::new()?);
        let end = log.commitlog.segments.write_pos();
        progress.written.store(end, Ordering::Release);
        progress.flushed.store(end, Ordering::Release);
        progress
            .dispatched
            .store(queues.dispatched, Ordering::Release);
        let store = Store {
            log: Arc::new(Mutex::new(log)),
            queues: Arc::new(Mutex::new(queues)),
            progress,
            signal: Arc::new((Mutex::new(FlushSignal::default()), Condvar::new())),
            flusher: Mutex::new(None),
            dispatch_signal: Arc::new((Mutex::new(DispatchSignal::default()), Condvar::new())),
            dispatcher: Mutex::new(None),
            lock_file: Mutex::new(Some(lock)),
            config,
        };
        store.start_threads()?;
        Ok(store)
    }

    fn start_threads(&self) -> Result<()> {
        let (queues, log) = (Arc::clone(&self.queues), Arc::clone(&self.log));
        let progress = Arc::clone(&self.progress);
        let signal = Arc::clone(&self.dispatch_signal);
        let handle = std::thread::Builder::new()
            .name("rmq-dispatch".into())
            .spawn(move || dispatch_loop(&queues, &log, &progress, &signal))
            .map_err(|e| StoreError::io("spawn dispatch thread", "rmq-dispatch", e))?;
        *lock(&self.dispatcher)? = Some(handle);
        let (queues, log) = (Arc::clone(&self.queues), Arc::clone(&self.log));
        let progress = Arc::clone(&self.progress);
        let signal = Arc::clone(&self.signal);
        let config = self.config.clone();
        let handle = std::thread::Builder::new()
            .name("rmq-flush".into())
            .spawn(move || flush_loop(&queues, &log, &progress, &signal, &config))
            .map_err(|e| StoreError::io("spawn flush thread", "rmq-flush", e))?;
        *lock(&self.flusher)? = Some(handle);
        Ok(())
    }

    /// The dispatch side, caught up with every put that returned: a reader sees what was
    /// acknowledged even before the dispatch thread got to it.
    fn caught_up(&self) -> Result<MutexGuard<'_, Queues>> {
        let mut queues = lock(&self.queues)?;
        let tell = catch_up(&mut queues, &self.log).inspect_err(|_| self.progress.poison())?;
        self.progress.publish_dispatched(queues.dispatched, tell);
        Ok(queues)
    }

    fn wake_dispatcher(&self, wanted: Wanted) {
        let (state, cv) = &*self.dispatch_signal;
        if let Ok(mut s) = state.lock() {
            s.wanted = s.wanted.max(wanted);
            if s.sleeping || wanted == Wanted::Now {
                cv.notify_one();
            }
        }
    }

    #[must_use]
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    #[must_use]
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// Append `messages` (one call, one lock hold) and hand them to dispatch. The wake-up
    /// fd is not written: the caller learns the new offsets from the results. With
    /// SYNC_FLUSH the caller also asks for the flush ([`Store::request_flush`]); unasked,
    /// the flush thread gets to it within 10 ms.
    ///
    /// # Errors
    /// `Poisoned`/`Closed`, I/O failures (which poison the store).
    pub fn put<'a, M>(&self, messages: &'a [M]) -> Result<Vec<PutResult>>
    where
        &'a M: Into<MessageRef<'a>>,
    {
        if self.progress.is_poisoned() {
            return Err(StoreError::Poisoned);
        }
        let mut results = vec![PutResult::refused(PutStatus::PutOk); messages.len()];
        let mut encoded = Vec::with_capacity(messages.len());
        let mut slots = Vec::with_capacity(messages.len());
        for (i, message) in messages.iter().enumerate() {
            match record::pre_encode_for(
                message,
                self.config.max_message_size,
                self.config.message_index_enable,
            ) {
                Ok(pre) => {
                    encoded.push(pre);
                    slots.push(i);
                }
                Err(Refusal::MessageIllegal) => {
                    results[i] = PutResult::refused(PutStatus::MessageIllegal);
                }
                Err(Refusal::PropertiesSizeExceeded) => {
                    results[i] = PutResult::refused(PutStatus::PropertiesSizeExceeded);
                }
            }
        }
        if encoded.is_empty() {
            return Ok(results);
        }
        if self.progress.disk_full.load(Ordering::Acquire) {
            // Java answers SERVICE_NOT_AVAILABLE while the disk is over the warning level.
            for slot in slots {
                results[slot] = PutResult::refused(PutStatus::ServiceNotAvailable);
            }
            return Ok(results);
        }
        let mut log = lock(&self.log)?;
        if log.closed {
            return Err(StoreError::Closed);
        }
        let mut chunks = Vec::new();
        let mut infos = Vec::with_capacity(encoded.len());
        let appended = log
            .commitlog
            .append_keeping(encoded, now_ms(), &mut chunks, &mut infos)
            .inspect_err(|_| {
                self.progress.poison();
            })?;
        for (slot, a) in slots.into_iter().zip(appended) {
            results[slot] = PutResult {
                status: PutStatus::PutOk,
                phy_offset: a.phy_offset,
                queue_offset: a.queue_offset,
                size: a.size,
                store_timestamp: a.store_timestamp,
            };
        }
        let written = log.commitlog.segments.write_pos();
        let first = log.pending.is_empty();
        log.pending.push(Appended { chunks, infos });
        drop(log);
        self.progress.written.store(written, Ordering::Release);
        if first {
            // Later puts find the list non-empty: one wake-up covers them all.
            self.wake_dispatcher(Wanted::NextPass);
        }
        // No wake-up of the loop: the only caller is the loop that watches the fd, and it
        // tells its own listeners after a put. A wake-up per put cost the broker a socket
        // write, a poll and two reads per message.
        // No flush request either (SYNC_FLUSH): the caller asks once for every put that
        // will wait, after the last of them, so one fsync covers them all. Asked per put,
        // the first put after an fsync started the next one alone.
        Ok(results)
    }

    /// Ask the flush thread to flush now (group commit: one fsync covers every waiter).
    pub fn request_flush(&self) {
        let (state, cv) = &*self.signal;
        if let Ok(mut s) = state.lock() {
            s.requested = true;
            if s.sleeping {
                cv.notify_one();
            }
        }
    }

    /// Up to `max_count` messages of a queue from `offset` whose tags code is in `tags`
    /// (all when `None`), bounded by `max_bytes` (Java: `DefaultMessageStore.getMessage`).
    ///
    /// # Errors
    /// I/O failures.
    pub fn get(
        &self,
        topic: &str,
        queue_id: i32,
        offset: u64,
        max_count: u32,
        max_bytes: usize,
        tags: Option<&HashSet<i64>>,
    ) -> Result<GetResult> {
        let filter = tags.map_or(MessageFilter::All, MessageFilter::Tags);
        self.get_filtered(topic, queue_id, offset, max_count, max_bytes, &filter)
    }

    /// As [`Store::get`], keeping what `filter` accepts: tags codes are checked on the
    /// consume-queue unit, a SQL92 selector on the record's properties
    /// (Java: `isMatchedByConsumeQueue` then `isMatchedByCommitLog`).
    ///
    /// # Errors
    /// I/O failures.
    pub fn get_filtered(
        &self,
        topic: &str,
        queue_id: i32,
        offset: u64,
        max_count: u32,
        max_bytes: usize,
        filter: &MessageFilter<'_>,
    ) -> Result<GetResult> {
        let queues = self.caught_up()?;
        let mut result = GetResult {
            status: GetStatus::NoMatchedLogicQueue,
            next_begin_offset: 0,
            min_offset: 0,
            max_offset: 0,
            buffer: Vec::new(),
            count: 0,
        };
        let Some(queue) = queues.queues.get(&(topic.to_string(), queue_id)) else {
            return Ok(result);
        };
        let (min, max) = (queue.min_offset(), queue.max_offset());
        result.min_offset = min;
        result.max_offset = max;
        if max == 0 {
            result.status = GetStatus::NoMessageInQueue;
            return Ok(result);
        }
        if offset < min {
            result.status = GetStatus::OffsetTooSmall;
            result.next_begin_offset = min;
            return Ok(result);
        }
        if offset == max {
            result.status = GetStatus::OffsetOverflowOne;
            result.next_begin_offset = offset;
            return Ok(result);
        }
        if offset > max {
            result.status = GetStatus::OffsetOverflowBadly;
            result.next_begin_offset = if min == 0 { min } else { max };
            return Ok(result);
        }
        // Java reads at most max(16000, 20 * maxMsgNums) bytes of consume queue, in units.
        let scan_limit = usize::try_from(max_count)
            .unwrap_or(usize::MAX)
            .saturating_mul(CQ_UNIT_SIZE)
            .max(MAX_FILTER_SCAN_BYTES)
            / CQ_UNIT_SIZE;
        let units = queue.units(
            offset,
            scan_limit.min(usize::try_from(max - offset).unwrap_or(0)),
        )?;
        // Held with the dispatch lock: a truncation cannot swap the records under the units.
        let log = lock(&self.log)?;
        let mut next = offset;
        // Records of one queue usually sit back to back in the commitlog: one read covers a
        // run of them instead of one read per record.
        let mut run = RunReader::default();
        for (i, unit) in units.iter().enumerate() {
            if result.count >= max_count {
                break;
            }
            let size = usize::try_from(unit.size).unwrap_or(0);
            if result.count > 0 && result.buffer.len() + size > max_bytes {
                break;
            }
            next += 1;
            if let MessageFilter::Tags(t) = filter {
                if !t.contains(&unit.tags_code) {
                    continue;
                }
            }
            let budget = max_bytes.saturating_sub(result.buffer.len()).max(size);
            // Without a filter every unit ahead is kept: read no further than the count
            // still wanted (a 1 MiB run per 32-message pull spent most of a get zeroing
            // and filling bytes it never returned).
            let ahead = match filter {
                MessageFilter::All => {
                    let wanted = usize::try_from(max_count - result.count).unwrap_or(usize::MAX);
                    &units[i..units.len().min(i.saturating_add(wanted))]
                }
                _ => &units[i..],
            };
            let Some(bytes) = run.record(&log.commitlog.segments, ahead, budget)? else {
                result.status = GetStatus::MessageWasRemoving;
                break;
            };
            if let MessageFilter::Sql(expr) = filter {
                let props = record::properties_of(bytes).unwrap_or_default();
                if !expr.matches(&EncodedProperties(props)) {
                    continue;
                }
            }
            result.buffer.extend_from_slice(bytes);
            result.count += 1;
        }
        result.next_begin_offset = next;
        if result.status != GetStatus::MessageWasRemoving {
            result.status = if result.count > 0 {
                GetStatus::Found
            } else {
                GetStatus::NoMatchedMessage
            };
        }
        Ok(result)
    }

    /// One record by physical offset (view by msgId).
    ///
    /// # Errors
    /// I/O failures.
    pub fn read_record(&self, phy_offset: u64) -> Result<Option<Vec<u8>>> {
        read_record_in(&lock(&self.log)?.commitlog, phy_offset)
    }

    /// `(topic, queue id, max offset)` of every queue dispatched to since the last call,
    /// each once (Java's `arriving` notice per put, for every way a message becomes
    /// readable: puts, replication, a DLedger commit). Held pulls check only these.
    ///
    /// # Errors
    /// A poisoned lock.
    pub fn take_moved_queues(&self) -> Result<Vec<(String, i32, u64)>> {
        let mut queues = self.caught_up()?;
        let moved = std::mem::take(&mut queues.moved);
        let mut out = Vec::with_capacity(moved.len());
        for key in moved {
            if let Some(queue) = queues.queues.get_mut(&key) {
                queue.moved = false;
                let max = queue.max_offset();
                out.push((key.0, key.1, max));
            }
        }
        Ok(out)
    }

    /// `(min, max)` queue offsets, or None for an unknown queue.
    ///
    /// # Errors
    /// A poisoned lock.
    pub fn queue_offsets(&self, topic: &str, queue_id: i32) -> Result<Option<(u64, u64)>> {
        let queues = self.caught_up()?;
        Ok(queues
            .queues
            .get(&(topic.to_string(), queue_id))
            .map(|q| (q.min_offset(), q.max_offset())))
    }

    /// Raw units `(phy_offset, size, tags_code)` of a queue from `index`, at most `count`
    /// (Java: QUERY_CONSUME_QUEUE); `None` for an unknown queue, empty past its end or
    /// before its minimum.
    ///
    /// # Errors
    /// I/O failures.
    pub fn queue_units(
        &self,
        topic: &str,
        queue_id: i32,
        index: u64,
        count: usize,
    ) -> Result<Option<Vec<(i64, i32, i64)>>> {
        let queues = self.caught_up()?;
        let Some(queue) = queues.queues.get(&(topic.to_string(), queue_id)) else {
            return Ok(None);
        };
        let (min, max) = (queue.min_offset(), queue.max_offset());
        if index < min || index >= max {
            return Ok(Some(Vec::new()));
        }
        let want = count.min(usize::try_from(max - index).unwrap_or(0));
        let units = queue.units(index, want)?;
        Ok(Some(
            units
                .iter()
                .map(|u| (u.phy_offset, u.size, u.tags_code))
                .collect(),
        ))
    }

    /// `(min, max)` commitlog offsets.
    ///
    /// # Errors
    /// A poisoned lock.
    pub fn commitlog_offsets(&self) -> Result<(u64, u64)> {
        let log = lock(&self.log)?;
        let segments = &log.commitlog.segments;
        Ok((segments.min_offset(), segments.write_pos()))
    }

    /// Records indexed under `topic#key` stored within `[begin, end]` ms, newest first, at
    /// most `max`; each is re-checked against its topic and keys (hashes collide).
    ///
    /// # Errors
    /// I/O failures.
    pub fn query_by_key(
        &self,
        topic: &str,
        key: &str,
        max: usize,
        begin: i64,
        end: i64,
    ) -> Result<Vec<Vec<u8>>> {
        let queues = self.caught_up()?;
        let Some(index) = &queues.index else {
            return Ok(Vec::new());
        };
        let log = lock(&self.log)?;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        // Ask for more than `max`: collisions and duplicates are filtered out below.
        for phy in index.query(topic, key, max.saturating_mul(4).max(64), begin, end) {
            if out.len() >= max || !seen.insert(phy) {
                continue;
            }
            let Some(bytes) = read_record_in(&log.commitlog, u64::try_from(phy).unwrap_or(0))?
            else {
                continue;
            };
            if let Check::Record(info) = record::check(&bytes, false) {
                let key_matches = info.uniq_key.as_deref() == Some(key)
                    || info
                        .keys
                        .as_deref()
                        .is_some_and(|k| k.split(' ').any(|t| t == key));
                if info.topic == topic && key_matches {
                    out.push(bytes);
                }
            }
        }
        Ok(out)
    }

    /// Queue offset for `timestamp` (Java: SEARCH_OFFSET_BY_TIMESTAMP semantics).
    ///
    /// # Errors
    /// I/O failures.
    pub fn search_offset(&self, topic: &str, queue_id: i32, timestamp: i64) -> Result<u64> {
        let queues = self.caught_up()?;
        let Some(queue) = queues.queues.get(&(topic.to_string(), queue_id)) else {
            return Ok(0);
        };
        let log = lock(&self.log)?;
        queue.offset_by_time(timestamp, |unit| {
            store_time_in(&log.commitlog, u64::try_from(unit.phy_offset).unwrap_or(0))
        })
    }

    /// Store time of the oldest message of a queue (None when it has none).
    ///
    /// # Errors
    /// I/O failures.
    pub fn earliest_store_time(&self, topic: &str, queue_id: i32) -> Result<Option<i64>> {
        let queues = self.caught_up()?;
        let Some(queue) = queues.queues.get(&(topic.to_string(), queue_id)) else {
            return Ok(None);
        };
        match queue.units(queue.min_offset(), 1)?.first() {
            Some(unit) => store_time_in(
                &lock(&self.log)?.commitlog,
                u64::try_from(unit.phy_offset).unwrap_or(0),
            ),
            None => Ok(None),
        }
    }

    /// Raw commitlog bytes from `offset` (HA: what a master streams to its slave), at most
    /// `max` and never past the end of `offset`'s segment.
    ///
    /// # Errors
    /// I/O failures.
    pub fn read_commitlog(&self, offset: u64, max: usize) -> Result<Vec<u8>> {
        lock(&self.log)?.commitlog.segments.read(offset, max)
    }

    /// Append replicated commitlog bytes at exactly `offset` (the end of this log; an empty
    /// log starts wherever its master's data starts); the dispatch thread makes them
    /// readable and wakes the loop.
    ///
    /// # Errors
    /// `OutOfOrder` when `offset` is not the end of the log; I/O failures.
    pub fn append_replicated(&self, offset: u64, data: &[u8]) -> Result<u64> {
        let mut log = lock(&self.log)?;
        if log.closed {
            return Err(StoreError::Closed);
        }
        let _queues = if log.commitlog.segments.is_empty()
            && log.commitlog.segments.write_pos() != offset
        {
            // Moving an empty log moves dispatch with it: both locks, dispatch's first.
            drop(log);
            let mut queues = lock(&self.queues)?;
            log = lock(&self.log)?;
            if log.commitlog.segments.is_empty() && log.commitlog.segments.write_pos() != offset {
                log.commitlog.segments.reset(offset)?;
                queues.dispatched = offset;
            }
            Some(queues)
        } else {
            None
        };
        let expected = log.commitlog.segments.write_pos();
        if offset != expected {
            return Err(StoreError::OutOfOrder {
                expected,
                got: offset,
            });
        }
        let mut pos = offset;
        let mut rest = data;
        while !rest.is_empty() {
            let left = usize::try_from(log.commitlog.segments.left_in_segment(pos)).unwrap_or(0);
            let (now, later) = rest.split_at(left.min(rest.len()));
            log.commitlog
                .segments
                .append(pos, now)
                .inspect_err(|_| self.progress.poison())?;
            pos += now.len() as u64;
            rest = later;
        }
        drop(log);
        self.progress.written.store(pos, Ordering::Release);
        self.wake_dispatcher(Wanted::Now);
        self.request_flush();
        Ok(pos)
    }

    /// Dispatch (make readable) only records below `limit`; `None` lifts the limit. A DLedger
    /// leader moves it to the end of what the group committed. Returns the dispatched offset,
    /// reached before this returns.
    ///
    /// # Errors
    /// I/O failures (which poison the store).
    pub fn set_dispatch_limit(&self, limit: Option<u64>) -> Result<u64> {
        let mut queues = lock(&self.queues)?;
        if lock(&self.log)?.closed {
            return Err(StoreError::Closed);
        }
        queues.dispatch_limit = limit;
        catch_up(&mut queues, &self.log).inspect_err(|_| self.progress.poison())?;
        let dispatched = queues.dispatched;
        drop(queues);
        self.progress.set_dispatched(dispatched);
        Ok(dispatched)
    }

    /// Drop everything at and after `offset` (a diverged or uncommitted suffix).
    ///
    /// # Errors
    /// I/O failures.
    pub fn truncate_commitlog(&self, offset: u64) -> Result<()> {
        let mut queues = lock(&self.queues)?;
        let mut log = lock(&self.log)?;
        if offset >= log.commitlog.segments.write_pos() {
            return Ok(());
        }
        // Cutting inside a record would leave a torn record in the middle of the log once
        // new bytes follow it; only record starts (or segment starts) are allowed.
        let at_segment_start = offset.is_multiple_of(log.commitlog.segments.segment_size());
        let at_record = log
            .commitlog
            .scan(offset, 8 * 1024 * 1024)?
            .first()
            .is_some_and(|(_, check)| {
                matches!(check, Check::Record(info)
                    if u64::try_from(info.phy_offset).is_ok_and(|p| p == offset))
            });
        if !at_segment_start && !at_record {
            return Err(StoreError::Config(format!(
                "cannot truncate the commitlog at {offset}: not the start of a record"
            )));
        }
        log.commitlog.segments.truncate(offset)?;
        // What they described past `offset` is gone; the scan below covers the rest.
        log.pending.clear();
        for queue in queues.queues.values_mut() {
            queue.truncate_to_phy(offset)?;
        }
        let mut redo = None;
        if let Some(index) = &mut queues.index {
            redo = index.truncate_to_phy(offset)?;
        }
        queues.dispatched = queues.dispatched.min(offset).min(redo.unwrap_or(u64::MAX));
        queues.scan(&mut log.commitlog, now_ms())?;
        queues.reset_queue_offsets(&mut log.commitlog);
        let dispatched = queues.dispatched;
        drop(log);
        drop(queues);
        self.progress.written.store(offset, Ordering::Release);
        self.progress.flushed.fetch_min(offset, Ordering::AcqRel);
        self.progress.set_dispatched(dispatched);
        Ok(())
    }

    /// One retention pass: measure the disk, update the write guard, delete expired (or,
    /// when the disk is nearly full, the oldest) commitlog segments, then the consume-queue
    /// segments and index files that only point below the new commitlog start. The newest
    /// segment is never deleted. Commitlog reads hold the put lock and queue reads the
    /// dispatch lock, both held here while files go, so nothing being read goes.
    ///
    /// # Errors
    /// I/O failures.
    pub fn clean(&self, policy: &CleanPolicy, now_ms: i64) -> Result<CleanReport> {
        let cl_dir = self
            .config
            .commitlog_dir
            .clone()
            .unwrap_or_else(|| self.config.root.join("commitlog"));
        let ratio = disk_ratio(&cl_dir)?;
        let mut report = CleanReport {
            disk_ratio: ratio,
            disk_full: ratio > policy.warning_ratio,
            ..CleanReport::default()
        };
        self.progress
            .disk_full
            .store(report.disk_full, Ordering::Release);
        let force = policy.clean_forcibly && ratio > policy.force_ratio;
        let go = policy.in_window || policy.manual || ratio > policy.disk_max_used_ratio || force;
        // Caught up first: a record handed over but not yet dispatched must get its unit
        // before its segment can go, or its queue would skip it.
        let mut queues = self.caught_up()?;
        let mut log = lock(&self.log)?;
        if go {
            while report.deleted_commitlog < policy.max_files
                && log.commitlog.segments.segments().len() > 1
            {
                let expired = log
                    .commitlog
                    .segments
                    .modified_ms(0)?
                    .saturating_add(policy.reserved_ms)
                    <= now_ms;
                if !expired && !force {
                    break; // no holes: stop at the first segment that must stay
                }
                log.commitlog.segments.delete_head()?;
                report.deleted_commitlog += 1;
            }
        }
        let min = log.commitlog.segments.min_offset();
        drop(log);
        report.min_offset = min;
        if report.deleted_commitlog > 0 {
            for queue in queues.queues.values_mut() {
                report.deleted_consume_queue += queue.delete_before_phy(min)?;
            }
            if let Some(index) = &mut queues.index {
                report.deleted_index = index.delete_before_phy(min)?;
            }
            queues.dispatched = queues.dispatched.max(min);
        }
        Ok(report)
    }

    /// Flush everything, stop the flush thread, remove `abort` (a clean shutdown).
    ///
    /// # Errors
    /// I/O failures of the final flush (then `abort` stays and the next start recovers).
    pub fn close(&self) -> Result<()> {
        stop_and_join(&self.signal, &self.flusher, |s| s.stop = true)?;
        stop_and_join(&self.dispatch_signal, &self.dispatcher, |s| s.stop = true)?;
        let mut queues = lock(&self.queues)?;
        if lock(&self.log)?.closed {
            return Ok(());
        }
        catch_up(&mut queues, &self.log).inspect_err(|_| self.progress.poison())?;
        let mut log = lock(&self.log)?;
        log.closed = true;
        for queue in queues.queues.values_mut() {
            queue.write_pending()?;
        }
        let end = log.commitlog.segments.write_pos();
        let mut files = log.commitlog.segments.dirty_files(0, end);
        for queue in queues.queues.values() {
            files.extend(
                queue
                    .segments()
                    .dirty_files(0, queue.segments().write_pos()),
            );
        }
        sync_files(&files)?;
        if let Some(index) = &queues.index {
            index.flush()?;
        }
        log.flushed_store_ts = log.commitlog.last_store_timestamp();
        log.checkpoint
            .write(stamps(log.flushed_store_ts, &queues))?;
        self.progress.set_flushed(end);
        if !self.progress.is_poisoned() {
            let abort = self.config.root.join("abort");
            fs::remove_file(&abort).map_err(|e| StoreError::io("delete", &abort, e))?;
        }
        lock(&self.lock_file)?.take();
        Ok(())
    }
}

/// Tell a store thread to stop (`stop` sets its flag under its lock), wake it and wait for
/// it to end; a thread already joined is skipped.
fn stop_and_join<S>(
    signal: &(Mutex<S>, Condvar),
    thread: &Mutex<Option<JoinHandle<()>>>,
    stop: impl FnOnce(&mut S),
) -> Result<()> {
    let (state, cv) = signal;
    stop(&mut *lock(state)?);
    cv.notify_one();
    if let Some(handle) = lock(thread)?.take() {
        let _ = handle.join();
    }
    Ok(())
}

fn read_record_in(commitlog: &CommitLog, phy_offset: u64) -> Result<Option<Vec<u8>>> {
    let head = commitlog.segments.read(phy_offset, 8)?;
    let Some(size) = head
        .get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(i32::from_be_bytes)
    else {
        return Ok(None);
    };
    let Ok(size) = usize::try_from(size) else {
        return Ok(None);
    };
    let bytes = commitlog.segments.read(phy_offset, size)?;
    Ok(matches!(record::check(&bytes, false), Check::Record(_)).then_some(bytes))
}

fn store_time_in(commitlog: &CommitLog, phy_offset: u64) -> Result<Option<i64>> {
    Ok(read_record_in(commitlog, phy_offset)?.and_then(|bytes| {
        match record::check(&bytes, false) {
            Check::Record(info) => Some(info.store_timestamp),
            _ => None,
        }
    }))
}

impl Drop for Store {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// The flush thread (Java: `FlushRealTimeService` / `GroupCommitService`).
/// rmq's own file beside `checkpoint`: the commitlog offset below which every consume-queue
/// unit was written to its file (Java writes units straight into mapped files, so it has
/// no such gap to bridge).
const DISPATCH_MARK_FILE: &str = "dispatchmark";

fn read_dispatch_mark(path: &Path) -> Option<u64> {
    let bytes = fs::read(path).ok()?;
    if bytes.len() != 12 {
        return None;
    }
    let (offset, crc) = bytes.split_at(8);
    if crc32fast::hash(offset).to_be_bytes() != crc {
        return None;
    }
    Some(u64::from_be_bytes(offset.try_into().ok()?))
}

fn write_dispatch_mark(path: &Path, offset: u64) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut bytes = offset.to_be_bytes().to_vec();
    bytes.extend_from_slice(&crc32fast::hash(&offset.to_be_bytes()).to_be_bytes());
    let file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    // One 12-byte write at offset 0: a torn one fails its checksum and is ignored.
    file.write_all_at(&bytes, 0)
}

fn flush_loop(
    queues: &Mutex<Queues>,
    log: &Mutex<Log>,
    progress: &Progress,
    signal: &(Mutex<FlushSignal>, Condvar),
    config: &StoreConfig,
) {
    let (state, cv) = signal;
    let mut last_thorough = Instant::now();
    let mut last_cq_flush = Instant::now();
    let wait = if config.sync_flush {
        Duration::from_millis(10)
    } else {
        config.flush_interval
    };
    loop {
        let stop = {
            let Ok(mut guard) = state.lock() else {
                return progress.poison();
            };
            // The predicate is checked before any wait, under the same lock a request
            // takes: a request made while this thread was flushing is never missed.
            guard.sleeping = true;
            let Ok((mut guard, _)) =
                cv.wait_timeout_while(guard, wait, |s| !s.requested && !s.stop)
            else {
                return progress.poison();
            };
            guard.sleeping = false;
            guard.requested = false;
            guard.stop
        };
        if stop {
            return;
        }
        if last_cq_flush.elapsed() >= config.flush_consume_queue_interval {
            last_cq_flush = Instant::now();
            let (files, stamps, checkpoint, mark): (Vec<_>, _, _, _) = match queues.lock() {
                Ok(mut queues) => {
                    let mut files = Vec::new();
                    for queue in queues.queues.values_mut() {
                        match queue.take_dirty() {
                            Ok(dirty) => files.extend(dirty),
                            Err(_) => return progress.poison(),
                        }
                    }
                    let Ok(log) = log.lock() else {
                        return progress.poison();
                    };
                    let stamps = stamps(log.flushed_store_ts, &queues);
                    // Every record below `dispatched` now has its unit in a queue file.
                    (files, stamps, log.checkpoint.clone(), queues.dispatched)
                }
                Err(_) => return progress.poison(),
            };
            if sync_files(&files).is_err()
                || checkpoint.write(stamps).is_err()
                || write_dispatch_mark(&config.root.join(DISPATCH_MARK_FILE), mark).is_err()
            {
                return progress.poison();
            }
        }
        let flushed = progress.flushed.load(Ordering::Acquire);
        let written = progress.written.load(Ordering::Acquire);
        if written <= flushed {
            continue;
        }
        let thorough = last_thorough.elapsed() >= config.flush_thorough_interval;
        let enough = written / OS_PAGE - flushed / OS_PAGE >= config.flush_least_pages;
        if !(config.sync_flush || thorough || enough) {
            continue;
        }
        let (files, written, written_ts) = match log.lock() {
            Ok(log) => {
                let pos = log.commitlog.segments.write_pos();
                let ts = log.commitlog.last_store_timestamp();
                (log.commitlog.segments.dirty_files(flushed, pos), pos, ts)
            }
            Err(_) => return progress.poison(),
        };
        // A failed fsync means the kernel may have dropped dirty pages: never retry it.
        if sync_files(&files).is_err() {
            return progress.poison();
        }
        if thorough {
            last_thorough = Instant::now();
        }
        match log.lock() {
            Ok(mut log) => log.flushed_store_ts = log.flushed_store_ts.max(written_ts),
            Err(_) => return progress.poison(),
        }
        progress.set_flushed(written);
    }
}

/// Bring the dispatch side up to every put that returned: apply what the puts handed over,
/// then scan the bytes none described (replication, a DLedger commit). True when the loop
/// has not heard of what moved: a scan moved `dispatched`, or queues moved that nobody
/// was told of yet.
fn catch_up(queues: &mut Queues, log: &Mutex<Log>) -> Result<bool> {
    let (pending, written) = {
        let mut log = lock(log)?;
        (
            std::mem::take(&mut log.pending),
            log.commitlog.segments.write_pos(),
        )
    };
    let now = now_ms();
    let moved_before = queues.moved.len();
    let mut described = true;
    for appended in pending {
        // Once one does not follow on, the scan reads the rest from the file.
        described = described && queues.apply(appended, now)?;
    }
    let end = queues.dispatch_limit.map_or(written, |l| l.min(written));
    let mut scanned = false;
    if queues.dispatched < end {
        let before = queues.dispatched;
        queues.scan(&mut lock(log)?.commitlog, now)?;
        scanned = queues.dispatched > before;
    }
    Ok(scanned || queues.moved.len() > moved_before)
}

/// Java's `ReputMessageService`: while puts come in, a pass every [`DISPATCH_PASS`] takes
/// all they handed over at once; when a pass finds nothing, it sleeps until a put wakes it.
fn dispatch_loop(
    queues: &Mutex<Queues>,
    log: &Mutex<Log>,
    progress: &Progress,
    signal: &(Mutex<DispatchSignal>, Condvar),
) {
    let (state, cv) = signal;
    let mut busy = false;
    loop {
        let stop = {
            let Ok(mut guard) = state.lock() else {
                return progress.poison();
            };
            // Busy: come back after a pass interval without being woken, so a run of puts
            // costs no wake-up each. Idle: sleep until a put (or replication) asks.
            guard.sleeping = !busy;
            let wait = if busy { DISPATCH_PASS } else { DISPATCH_IDLE };
            let Ok((mut guard, _)) = cv.wait_timeout_while(guard, wait, |s| {
                let asked = s.wanted == Wanted::Now || (!busy && s.wanted > Wanted::Nothing);
                !asked && !s.stop
            }) else {
                return progress.poison();
            };
            guard.sleeping = false;
            guard.wanted = Wanted::Nothing;
            guard.stop
        };
        if stop {
            return;
        }
        let Ok(mut guard) = queues.lock() else {
            return progress.poison();
        };
        let before = guard.dispatched;
        match catch_up(&mut guard, log) {
            Ok(tell) => {
                let dispatched = guard.dispatched;
                drop(guard);
                busy = dispatched != before;
                progress.publish_dispatched(dispatched, tell);
            }
            Err(_) => return progress.poison(),
        }
    }
}
