//! The engine: CommitLog, consume queues, dispatch, flush thread, recovery and reads.
//!
//! One mutex (the put lock) guards the CommitLog and the consume queues; appends and the
//! dispatch that follows them run under it. The flush thread takes it only to copy the
//! handles of dirty segments, then fsyncs without it.
use std::collections::hash_map::Entry;
use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::checkpoint::{Checkpoint, Stamps};
use crate::codec::cq::{CqUnit, UNIT_SIZE as CQ_UNIT_SIZE};
use crate::codec::record::{self, Check, MessageRef, RecordInfo, Refusal};
use crate::commitlog::CommitLog;
use crate::consume_queue::ConsumeQueue;
use crate::error::{Result, StoreError};
use crate::filter::sql92::{EncodedProperties, Expr};
use crate::index::IndexService;
use crate::lockfile::LockFile;
use crate::notify::Progress;
use crate::retention::{disk_ratio, CleanPolicy, CleanReport};
use crate::segment_queue::{sync_files, SegmentQueue};
use crate::QueueMap;

const OS_PAGE: u64 = 4096;
/// How much commitlog one dispatch step reads: more than the largest record (4 MiB body
/// limit + 64 KiB), so a step always makes progress over complete records.
const DISPATCH_CHUNK: usize = 8 * 1024 * 1024;

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

/// Bytes of consume-queue units buffered before they are written (about 200 units).
const CQ_WRITE_BATCH: usize = 4096;

/// Java's `maxFilterMessageCount` floor: bytes of consume queue one filtered read may scan.
const MAX_FILTER_SCAN_BYTES: usize = 16_000;

#[derive(Debug)]
struct Inner {
    commitlog: CommitLog,
    queues: QueueMap<ConsumeQueue>,
    index: Option<IndexService>,
    cq_root: PathBuf,
    cq_segment_size: u64,
    dispatched: u64,
    /// DLedger leader: records past this offset are not yet committed by the group, so they
    /// get no consume-queue or index entries (readers cannot see them).
    dispatch_limit: Option<u64>,
    closed: bool,
    checkpoint: Checkpoint,
    /// Queues dispatched to since [`Store::take_moved_queues`] last ran, each once.
    moved: Vec<(String, i32)>,
    /// Store time of the newest message known flushed to the commitlog.
    flushed_store_ts: i64,
}

impl Inner {
    fn stamps(&self, logics: i64) -> Stamps {
        Stamps {
            physic: self.flushed_store_ts,
            logics,
            index: self
                .index
                .as_ref()
                .map_or(0, IndexService::last_full_end_timestamp),
        }
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

#[derive(Debug)]
pub struct Store {
    config: StoreConfig,
    inner: Arc<Mutex<Inner>>,
    progress: Arc<Progress>,
    signal: Arc<(Mutex<FlushSignal>, Condvar)>,
    flusher: Mutex<Option<JoinHandle<()>>>,
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

impl Inner {
    fn queue(&mut self, topic: &str, queue_id: i32) -> Result<&mut ConsumeQueue> {
        match self.queues.entry((topic.to_string(), queue_id)) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(e) => {
                let dir = self.cq_root.join(topic).join(queue_id.to_string());
                Ok(e.insert(ConsumeQueue::open(&dir, self.cq_segment_size)?))
            }
        }
    }

    fn dispatch_record(&mut self, info: &RecordInfo) -> Result<()> {
        if let Some(index) = &mut self.index {
            index.build(info, now_ms())?;
        }
        if !record::goes_to_queue(info.sys_flag) {
            return Ok(());
        }
        let unit = CqUnit {
            phy_offset: info.phy_offset,
            size: i32::try_from(info.size).unwrap_or(i32::MAX),
            tags_code: info.tags_code,
        };
        let queue_offset = u64::try_from(info.queue_offset).unwrap_or(0);
        let queue = self.queue(&info.topic, info.queue_id)?;
        queue.put(queue_offset, unit)?;
        let newly_moved = !queue.moved;
        queue.moved = true;
        // Units are written a few KiB at a time (and by the flush thread): a write per
        // message cost as much as the message's own commitlog write.
        if queue.pending_len() >= CQ_WRITE_BATCH {
            queue.write_pending()?;
        }
        if newly_moved {
            self.moved.push((info.topic.clone(), info.queue_id));
        }
        Ok(())
    }

    /// Build consume-queue and index entries for everything written past `dispatched`.
    /// A record cut short by the end of the written data (replication in progress) waits
    /// for the rest.
    fn dispatch(&mut self) -> Result<()> {
        self.dispatch_records()
    }

    /// Dispatch records just appended (`(start, bytes)` chunks) from `infos`, what encoding
    /// learnt of each, in file order, instead of parsing the bytes again; a chunk ends at
    /// most with a filler. Falls back to reading the file when something before them is
    /// still undispatched.
    fn dispatch_appended(
        &mut self,
        chunks: &[(u64, Vec<u8>)],
        infos: Vec<RecordInfo>,
    ) -> Result<()> {
        if self.dispatch_limit.is_some() {
            return self.dispatch();
        }
        let seg_size = self.commitlog.segments.segment_size();
        let mut infos = infos.into_iter();
        for (start, bytes) in chunks {
            if *start != self.dispatched {
                // Something before these bytes is undispatched (or a filler ended a segment
                // outside them): read the file from where dispatch stands.
                return self.dispatch();
            }
            let mut pos = 0;
            while pos + record::END_FILE_MIN_BLANK_LENGTH <= bytes.len() {
                let at = start + pos as u64;
                if record::is_blank(&bytes[pos..]) {
                    self.dispatched = at - at % seg_size + seg_size;
                    break;
                }
                match infos.next() {
                    Some(info) if u64::try_from(info.phy_offset) == Ok(at) => {
                        self.dispatched = at + info.size as u64;
                        pos += info.size;
                        self.dispatch_record(&info)?;
                    }
                    _ => return self.dispatch(),
                }
            }
        }
        self.dispatch()
    }

    fn dispatch_records(&mut self) -> Result<()> {
        let seg_size = self.commitlog.segments.segment_size();
        let write_pos = self.commitlog.segments.write_pos();
        let end = self.dispatch_limit.map_or(write_pos, |l| l.min(write_pos));
        while self.dispatched < end {
            let from = self.dispatched;
            for (at, check) in self.commitlog.scan(from, DISPATCH_CHUNK)? {
                if at >= end {
                    break;
                }
                match check {
                    Check::Record(info) => {
                        self.dispatched = at + info.size as u64;
                        self.dispatch_record(&info)?;
                    }
                    Check::Blank => self.dispatched = at - at % seg_size + seg_size,
                    Check::Incomplete => break,
                    Check::Invalid(reason) => {
                        return Err(StoreError::Corrupted {
                            file: self.cq_root.clone(),
                            offset: at,
                            reason: format!("dispatch found an invalid record: {reason}"),
                        })
                    }
                }
            }
            if self.dispatched == from {
                break;
            }
        }
        Ok(())
    }

    fn rebuild_queue_offsets(&mut self) {
        self.commitlog.queue_offsets = self
            .queues
            .iter()
            .map(|(k, q)| (k.clone(), q.max_offset()))
            .collect();
    }
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
        let (checkpoint, stamps) = Checkpoint::open(&config.root.join("checkpoint"))?;
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
        let (end, _) = commitlog.recover(covered, abnormal.then(|| stamps.min_timestamp()))?;
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
        let mut inner = Inner {
            dispatched: covered.max(commitlog.segments.min_offset()).min(end),
            dispatch_limit: None,
            commitlog,
            queues,
            index,
            cq_root,
            cq_segment_size: config.consume_queue_segment_size,
            closed: false,
            checkpoint,
            moved: Vec::new(),
            flushed_store_ts: 0,
        };
        inner.dispatch()?;
        inner.rebuild_queue_offsets();
        for queue in inner.queues.values_mut() {
            queue.write_pending()?;
        }
        let mark_path = config.root.join(DISPATCH_MARK_FILE);
        write_dispatch_mark(&mark_path, inner.dispatched)
            .map_err(|e| StoreError::io("write", &mark_path, e))?;
        // Everything recovered is on disk; record that before new writes begin.
        sync_files(&inner.commitlog.segments.dirty_files(0, end))?;
        inner.flushed_store_ts = inner.commitlog.last_store_timestamp();
        inner
            .checkpoint
            .write(inner.stamps(inner.flushed_store_ts))?;
        let progress = Arc::new(Progress::new()?);
        progress.written.store(end, Ordering::Release);
        progress.flushed.store(end, Ordering::Release);
        progress
            .dispatched
            .store(inner.dispatched, Ordering::Release);
        let abort = config.root.join("abort");
        fs::write(&abort, b"").map_err(|e| StoreError::io("create", &abort, e))?;
        let store = Store {
            inner: Arc::new(Mutex::new(inner)),
            progress,
            signal: Arc::new((Mutex::new(FlushSignal::default()), Condvar::new())),
            flusher: Mutex::new(None),
            lock_file: Mutex::new(Some(lock)),
            config,
        };
        store.start_flusher()?;
        Ok(store)
    }

    fn start_flusher(&self) -> Result<()> {
        let inner = Arc::clone(&self.inner);
        let progress = Arc::clone(&self.progress);
        let signal = Arc::clone(&self.signal);
        let config = self.config.clone();
        let handle = std::thread::Builder::new()
            .name("rmq-flush".into())
            .spawn(move || flush_loop(&inner, &progress, &signal, &config))
            .map_err(|e| StoreError::io("spawn flush thread", "rmq-flush", e))?;
        *lock(&self.flusher)? = Some(handle);
        Ok(())
    }

    #[must_use]
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    #[must_use]
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// Append `messages` (one call, one lock hold) and dispatch them to their queues. The
    /// wake-up fd is not written: the caller learns the new offsets from the results. With
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
        let mut inner = lock(&self.inner)?;
        if inner.closed {
            return Err(StoreError::Closed);
        }
        let mut chunks = Vec::new();
        let mut infos = Vec::with_capacity(encoded.len());
        let appended = inner
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
        let written = inner.commitlog.segments.write_pos();
        inner
            .dispatch_appended(&chunks, infos)
            .inspect_err(|_| self.progress.poison())?;
        let dispatched = inner.dispatched;
        drop(inner);
        self.progress.written.store(written, Ordering::Release);
        // No wake-up: the only caller is the loop that watches the fd, and it tells its own
        // listeners after a put. A wake-up per put cost the broker a socket write, a poll
        // and two reads per message.
        self.progress.set_dispatched_quietly(dispatched);
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
        let inner = lock(&self.inner)?;
        let mut result = GetResult {
            status: GetStatus::NoMatchedLogicQueue,
            next_begin_offset: 0,
            min_offset: 0,
            max_offset: 0,
            buffer: Vec::new(),
            count: 0,
        };
        let Some(queue) = inner.queues.get(&(topic.to_string(), queue_id)) else {
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
            let Some(bytes) = run.record(&inner.commitlog.segments, ahead, budget)? else {
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
        let inner = lock(&self.inner)?;
        let head = inner.commitlog.segments.read(phy_offset, 8)?;
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
        let bytes = inner.commitlog.segments.read(phy_offset, size)?;
        Ok(matches!(record::check(&bytes, false), Check::Record(_)).then_some(bytes))
    }

    /// `(topic, queue id, max offset)` of every queue dispatched to since the last call,
    /// each once (Java's `arriving` notice per put, for every way a message becomes
    /// readable: puts, replication, a DLedger commit). Held pulls check only these.
    ///
    /// # Errors
    /// A poisoned lock.
    pub fn take_moved_queues(&self) -> Result<Vec<(String, i32, u64)>> {
        let mut inner = lock(&self.inner)?;
        let moved = std::mem::take(&mut inner.moved);
        let mut out = Vec::with_capacity(moved.len());
        for key in moved {
            if let Some(queue) = inner.queues.get_mut(&key) {
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
        let inner = lock(&self.inner)?;
        Ok(inner
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
        let inner = lock(&self.inner)?;
        let Some(queue) = inner.queues.get(&(topic.to_string(), queue_id)) else {
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
        let inner = lock(&self.inner)?;
        let segments = &inner.commitlog.segments;
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
        let inner = lock(&self.inner)?;
        let Some(index) = &inner.index else {
            return Ok(Vec::new());
        };
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        // Ask for more than `max`: collisions and duplicates are filtered out below.
        for phy in index.query(topic, key, max.saturating_mul(4).max(64), begin, end) {
            if out.len() >= max || !seen.insert(phy) {
                continue;
            }
            let Some(bytes) = read_record_locked(&inner, u64::try_from(phy).unwrap_or(0))? else {
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
        let inner = lock(&self.inner)?;
        let Some(queue) = inner.queues.get(&(topic.to_string(), queue_id)) else {
            return Ok(0);
        };
        queue.offset_by_time(timestamp, |unit| {
            store_time_locked(&inner, u64::try_from(unit.phy_offset).unwrap_or(0))
        })
    }

    /// Store time of the oldest message of a queue (None when it has none).
    ///
    /// # Errors
    /// I/O failures.
    pub fn earliest_store_time(&self, topic: &str, queue_id: i32) -> Result<Option<i64>> {
        let inner = lock(&self.inner)?;
        let Some(queue) = inner.queues.get(&(topic.to_string(), queue_id)) else {
            return Ok(None);
        };
        match queue.units(queue.min_offset(), 1)?.first() {
            Some(unit) => store_time_locked(&inner, u64::try_from(unit.phy_offset).unwrap_or(0)),
            None => Ok(None),
        }
    }

    /// Raw commitlog bytes from `offset` (HA: what a master streams to its slave), at most
    /// `max` and never past the end of `offset`'s segment.
    ///
    /// # Errors
    /// I/O failures.
    pub fn read_commitlog(&self, offset: u64, max: usize) -> Result<Vec<u8>> {
        let inner = lock(&self.inner)?;
        inner.commitlog.segments.read(offset, max)
    }

    /// Append replicated commitlog bytes at exactly `offset` (the end of this log; an empty
    /// log starts wherever its master's data starts) and dispatch them.
    ///
    /// # Errors
    /// `OutOfOrder` when `offset` is not the end of the log; I/O failures.
    pub fn append_replicated(&self, offset: u64, data: &[u8]) -> Result<u64> {
        let mut inner = lock(&self.inner)?;
        if inner.closed {
            return Err(StoreError::Closed);
        }
        if inner.commitlog.segments.is_empty() && inner.commitlog.segments.write_pos() != offset {
            inner.commitlog.segments.reset(offset)?;
            inner.dispatched = offset;
        }
        let expected = inner.commitlog.segments.write_pos();
        if offset != expected {
            return Err(StoreError::OutOfOrder {
                expected,
                got: offset,
            });
        }
        let mut pos = offset;
        let mut rest = data;
        while !rest.is_empty() {
            let left = usize::try_from(inner.commitlog.segments.left_in_segment(pos)).unwrap_or(0);
            let (now, later) = rest.split_at(left.min(rest.len()));
            inner
                .commitlog
                .segments
                .append(pos, now)
                .inspect_err(|_| self.progress.poison())?;
            pos += now.len() as u64;
            rest = later;
        }
        inner.dispatch().inspect_err(|_| self.progress.poison())?;
        inner.rebuild_queue_offsets();
        let dispatched = inner.dispatched;
        drop(inner);
        self.progress.written.store(pos, Ordering::Release);
        self.progress.set_dispatched(dispatched);
        self.request_flush();
        Ok(pos)
    }

    /// Dispatch (make readable) only records below `limit`; `None` lifts the limit. A DLedger
    /// leader moves it to the end of what the group committed. Returns the dispatched offset.
    ///
    /// # Errors
    /// I/O failures (which poison the store).
    pub fn set_dispatch_limit(&self, limit: Option<u64>) -> Result<u64> {
        let mut inner = lock(&self.inner)?;
        if inner.closed {
            return Err(StoreError::Closed);
        }
        inner.dispatch_limit = limit;
        inner.dispatch().inspect_err(|_| self.progress.poison())?;
        let dispatched = inner.dispatched;
        drop(inner);
        self.progress.set_dispatched(dispatched);
        Ok(dispatched)
    }

    /// Drop everything at and after `offset` (a diverged or uncommitted suffix).
    ///
    /// # Errors
    /// I/O failures.
    pub fn truncate_commitlog(&self, offset: u64) -> Result<()> {
        let mut inner = lock(&self.inner)?;
        if offset >= inner.commitlog.segments.write_pos() {
            return Ok(());
        }
        // Cutting inside a record would leave a torn record in the middle of the log once
        // new bytes follow it; only record starts (or segment starts) are allowed.
        let at_segment_start = offset.is_multiple_of(inner.commitlog.segments.segment_size());
        let at_record = inner
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
        inner.commitlog.segments.truncate(offset)?;
        for queue in inner.queues.values_mut() {
            queue.truncate_to_phy(offset)?;
        }
        let mut redo = None;
        if let Some(index) = &mut inner.index {
            redo = index.truncate_to_phy(offset)?;
        }
        inner.dispatched = inner.dispatched.min(offset).min(redo.unwrap_or(u64::MAX));
        inner.dispatch()?;
        inner.rebuild_queue_offsets();
        let dispatched = inner.dispatched;
        drop(inner);
        self.progress.written.store(offset, Ordering::Release);
        self.progress.flushed.fetch_min(offset, Ordering::AcqRel);
        self.progress.set_dispatched(dispatched);
        Ok(())
    }

    /// One retention pass: measure the disk, update the write guard, delete expired (or,
    /// when the disk is nearly full, the oldest) commitlog segments, then the consume-queue
    /// segments and index files that only point below the new commitlog start. The newest
    /// segment is never deleted. Reads hold the same lock, so nothing being read goes.
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
        let mut inner = lock(&self.inner)?;
        if go {
            while report.deleted_commitlog < policy.max_files
                && inner.commitlog.segments.segments().len() > 1
            {
                let expired = inner
                    .commitlog
                    .segments
                    .modified_ms(0)?
                    .saturating_add(policy.reserved_ms)
                    <= now_ms;
                if !expired && !force {
                    break; // no holes: stop at the first segment that must stay
                }
                inner.commitlog.segments.delete_head()?;
                report.deleted_commitlog += 1;
            }
        }
        let min = inner.commitlog.segments.min_offset();
        report.min_offset = min;
        if report.deleted_commitlog > 0 {
            for queue in inner.queues.values_mut() {
                report.deleted_consume_queue += queue.delete_before_phy(min)?;
            }
            if let Some(index) = &mut inner.index {
                report.deleted_index = index.delete_before_phy(min)?;
            }
            inner.dispatched = inner.dispatched.max(min);
        }
        Ok(report)
    }

    /// Flush everything, stop the flush thread, remove `abort` (a clean shutdown).
    ///
    /// # Errors
    /// I/O failures of the final flush (then `abort` stays and the next start recovers).
    pub fn close(&self) -> Result<()> {
        {
            let (state, cv) = &*self.signal;
            let mut s = lock(state)?;
            s.stop = true;
            cv.notify_one();
        }
        if let Some(handle) = lock(&self.flusher)?.take() {
            let _ = handle.join();
        }
        let mut inner = lock(&self.inner)?;
        if inner.closed {
            return Ok(());
        }
        inner.closed = true;
        for queue in inner.queues.values_mut() {
            queue.write_pending()?;
        }
        let end = inner.commitlog.segments.write_pos();
        let mut files = inner.commitlog.segments.dirty_files(0, end);
        for queue in inner.queues.values() {
            files.extend(
                queue
                    .segments()
                    .dirty_files(0, queue.segments().write_pos()),
            );
        }
        sync_files(&files)?;
        if let Some(index) = &inner.index {
            index.flush()?;
        }
        inner.flushed_store_ts = inner.commitlog.last_store_timestamp();
        let stamps = inner.stamps(inner.flushed_store_ts);
        inner.checkpoint.write(stamps)?;
        self.progress.set_flushed(end);
        if !self.progress.is_poisoned() {
            let abort = self.config.root.join("abort");
            fs::remove_file(&abort).map_err(|e| StoreError::io("delete", &abort, e))?;
        }
        lock(&self.lock_file)?.take();
        Ok(())
    }
}

fn read_record_locked(inner: &Inner, phy_offset: u64) -> Result<Option<Vec<u8>>> {
    let head = inner.commitlog.segments.read(phy_offset, 8)?;
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
    let bytes = inner.commitlog.segments.read(phy_offset, size)?;
    Ok(matches!(record::check(&bytes, false), Check::Record(_)).then_some(bytes))
}

fn store_time_locked(inner: &Inner, phy_offset: u64) -> Result<Option<i64>> {
    Ok(read_record_locked(inner, phy_offset)?.and_then(|bytes| {
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
    inner: &Mutex<Inner>,
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
            // Dispatch is inline, so the newest appended message is also the newest queued.
            let (files, stamps, checkpoint, mark): (Vec<_>, _, _, _) = match inner.lock() {
                Ok(mut inner) => {
                    let logics = inner.commitlog.last_store_timestamp();
                    let stamps = inner.stamps(logics);
                    let mut files = Vec::new();
                    for queue in inner.queues.values_mut() {
                        match queue.take_dirty() {
                            Ok(dirty) => files.extend(dirty),
                            Err(_) => return progress.poison(),
                        }
                    }
                    // Every record below `dispatched` now has its unit in a queue file.
                    (files, stamps, inner.checkpoint.clone(), inner.dispatched)
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
        let (files, written, written_ts) = match inner.lock() {
            Ok(inner) => {
                let pos = inner.commitlog.segments.write_pos();
                let ts = inner.commitlog.last_store_timestamp();
                (inner.commitlog.segments.dirty_files(flushed, pos), pos, ts)
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
        match inner.lock() {
            Ok(mut inner) => inner.flushed_store_ts = inner.flushed_store_ts.max(written_ts),
            Err(_) => return progress.poison(),
        }
        progress.set_flushed(written);
    }
}
