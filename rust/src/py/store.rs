//! `rmq._store.Store`: whole units of work cross the boundary; inputs are extracted (or
//! borrowed, for bytes) while attached, then the call detaches so disk work never holds
//! the GIL.
use std::collections::HashSet;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::{PyBackedBytes, PyBackedStr};
use pyo3::types::PyBytes;

use crate::codec::batch;
use crate::codec::record::MessageRef;
use crate::error::StoreError;
use crate::py::errors::to_py;
use crate::py::filter::PySqlFilter;
use crate::retention::CleanPolicy;
use crate::store::{GetResult, MessageFilter, PutResult, Store, StoreConfig};

/// (topic, queue_id, body, properties, flag, sys_flag, born_timestamp, born_host,
///  store_host, reconsume_times, prepared_transaction_offset)
///
/// Bytes come in as `PyBackedBytes`: extracting `Vec<u8>` would walk a `bytes` object item
/// by item, which measured slower than the disk write it feeds.
type RawMessage = (
    PyBackedStr,
    i32,
    PyBackedBytes,
    PyBackedBytes,
    i32,
    i32,
    i64,
    PyBackedBytes,
    PyBackedBytes,
    i32,
    i64,
);
/// (status, phy_offset, queue_offset, size, store_timestamp)
type RawPut = (u8, u64, u64, u32, i64);
/// (status, next_begin_offset, min_offset, max_offset, buffer, count)
type RawGet = (u8, u64, u64, u64, Py<PyBytes>, u32);

/// (disk_ratio, disk_full, deleted_commitlog, deleted_consume_queue, deleted_index, min_offset)
type RawClean = (f64, bool, usize, usize, usize, u64);

fn raw_get(py: Python<'_>, r: &GetResult) -> RawGet {
    let buffer = PyBytes::new(py, &r.buffer).unbind();
    (
        r.status as u8,
        r.next_begin_offset,
        r.min_offset,
        r.max_offset,
        buffer,
        r.count,
    )
}

fn raw_put(r: &PutResult) -> RawPut {
    (
        r.status as u8,
        r.phy_offset,
        r.queue_offset,
        r.size,
        r.store_timestamp,
    )
}

enum BatchFailure {
    Malformed(batch::BatchError),
    Store(StoreError),
}

impl From<batch::BatchError> for BatchFailure {
    fn from(e: batch::BatchError) -> Self {
        BatchFailure::Malformed(e)
    }
}

impl From<StoreError> for BatchFailure {
    fn from(e: StoreError) -> Self {
        BatchFailure::Store(e)
    }
}

/// Detach from the interpreter for `work` and map its error.
fn enter<T: Send>(
    py: Python<'_>,
    work: impl FnOnce() -> Result<T, StoreError> + Send,
) -> PyResult<T> {
    py.detach(work).map_err(to_py)
}

#[pyclass(name = "Store", module = "rmq._store", frozen)]
pub struct PyStore {
    engine: Arc<Store>,
}

#[pymethods]
impl PyStore {
    #[new]
    #[pyo3(signature = (
        root, *, commitlog_dir=None, consume_queue_dir=None,
        commitlog_segment_size=1_073_741_824, consume_queue_segment_size=6_000_000,
        max_message_size=4_194_304, sync_flush=false, flush_interval_ms=500,
        flush_least_pages=4, flush_thorough_interval_ms=10_000,
        flush_consume_queue_interval_ms=1_000, message_index_enable=true,
        max_hash_slot_num=5_000_000, max_index_num=20_000_000,
    ))]
    #[allow(
        clippy::too_many_arguments,
        reason = "mirrors the store's settings one to one"
    )]
    fn new(
        py: Python<'_>,
        root: PathBuf,
        commitlog_dir: Option<PathBuf>,
        consume_queue_dir: Option<PathBuf>,
        commitlog_segment_size: u64,
        consume_queue_segment_size: u64,
        max_message_size: usize,
        sync_flush: bool,
        flush_interval_ms: u64,
        flush_least_pages: u64,
        flush_thorough_interval_ms: u64,
        flush_consume_queue_interval_ms: u64,
        message_index_enable: bool,
        max_hash_slot_num: u32,
        max_index_num: u32,
    ) -> PyResult<PyStore> {
        let config = StoreConfig {
            root,
            commitlog_dir,
            consume_queue_dir,
            commitlog_segment_size,
            consume_queue_segment_size,
            max_message_size,
            sync_flush,
            flush_interval: Duration::from_millis(flush_interval_ms),
            flush_least_pages,
            flush_thorough_interval: Duration::from_millis(flush_thorough_interval_ms),
            flush_consume_queue_interval: Duration::from_millis(flush_consume_queue_interval_ms),
            message_index_enable,
            max_hash_slot_num,
            max_index_num,
        };
        let engine = enter(py, move || Store::open(config))?;
        Ok(PyStore {
            engine: Arc::new(engine),
        })
    }

    /// Append a batch; returns once the bytes are written (not yet flushed).
    #[allow(
        clippy::needless_pass_by_value,
        reason = "pyo3 extracts arguments by value; the engine reads them in place"
    )]
    fn put(&self, py: Python<'_>, messages: Vec<RawMessage>) -> PyResult<Vec<RawPut>> {
        // Encoding reads the Python bytes in place: they cannot change (`bytes` is
        // immutable; PyBackedBytes copies a bytearray) and `messages` keeps them alive
        // until after the call.
        let inputs: Vec<MessageRef<'_>> = messages
            .iter()
            .map(|m| MessageRef {
                topic: &m.0,
                queue_id: m.1,
                body: &m.2,
                properties: &m.3,
                flag: m.4,
                sys_flag: m.5,
                born_timestamp: m.6,
                born_host: &m.7,
                store_host: &m.8,
                reconsume_times: m.9,
                prepared_transaction_offset: m.10,
            })
            .collect();
        let engine = &self.engine;
        let results = enter(py, || engine.put(&inputs))?;
        Ok(results.iter().map(raw_put).collect())
    }

    /// Split a SEND_BATCH_MESSAGE body and append its messages as one batch; every element
    /// is checked before anything is written. `shared` is the request's property string:
    /// an element gets each pair it lacks. A malformed body raises `ValueError`.
    #[allow(
        clippy::too_many_arguments,
        reason = "a batch request's fields, one to one"
    )]
    fn put_batch(
        &self,
        py: Python<'_>,
        body: PyBackedBytes,
        topic: String,
        queue_id: i32,
        sys_flag: i32,
        born_timestamp: i64,
        born_host: PyBackedBytes,
        store_host: PyBackedBytes,
        reconsume_times: i32,
        shared: PyBackedBytes,
        cluster: String,
    ) -> PyResult<Vec<RawPut>> {
        let engine = Arc::clone(&self.engine);
        let outcome = py.detach(move || {
            let elements = batch::decode(&body)?;
            let shared = batch::parse(&shared);
            let properties: Vec<Vec<u8>> = elements
                .iter()
                .map(|e| batch::stored_properties(e.properties, &shared, cluster.as_bytes()))
                .collect();
            let inputs: Vec<MessageRef<'_>> = elements
                .iter()
                .zip(&properties)
                .map(|(e, properties)| MessageRef {
                    topic: &topic,
                    queue_id,
                    body: e.body,
                    properties,
                    flag: e.flag,
                    sys_flag,
                    born_timestamp,
                    born_host: &born_host,
                    store_host: &store_host,
                    reconsume_times,
                    prepared_transaction_offset: 0,
                })
                .collect();
            Ok::<_, BatchFailure>(engine.put(&inputs)?)
        });
        match outcome {
            Ok(results) => Ok(results.iter().map(raw_put).collect()),
            Err(BatchFailure::Malformed(e)) => Err(PyValueError::new_err(e.0)),
            Err(BatchFailure::Store(e)) => Err(to_py(e)),
        }
    }

    #[pyo3(signature = (topic, queue_id, offset, max_count, max_bytes, tags=None))]
    #[allow(clippy::too_many_arguments, reason = "a pull's parameters, one to one")]
    fn get(
        &self,
        py: Python<'_>,
        topic: String,
        queue_id: i32,
        offset: u64,
        max_count: u32,
        max_bytes: usize,
        tags: Option<HashSet<i64>>,
    ) -> PyResult<RawGet> {
        let engine = Arc::clone(&self.engine);
        let r = enter(py, move || {
            engine.get(
                &topic,
                queue_id,
                offset,
                max_count,
                max_bytes,
                tags.as_ref(),
            )
        })?;
        Ok(raw_get(py, &r))
    }

    /// As `get`, keeping the messages a SQL92 selector accepts.
    #[allow(clippy::too_many_arguments)]
    fn get_filtered(
        &self,
        py: Python<'_>,
        topic: String,
        queue_id: i32,
        offset: u64,
        max_count: u32,
        max_bytes: usize,
        selector: &Bound<'_, PySqlFilter>,
    ) -> PyResult<RawGet> {
        let engine = Arc::clone(&self.engine);
        let filter = MessageFilter::Sql(&selector.get().expr);
        let r = enter(py, move || {
            engine.get_filtered(&topic, queue_id, offset, max_count, max_bytes, &filter)
        })?;
        Ok(raw_get(py, &r))
    }

    fn read_record(&self, py: Python<'_>, phy_offset: u64) -> PyResult<Option<Py<PyBytes>>> {
        let engine = Arc::clone(&self.engine);
        let record = enter(py, move || engine.read_record(phy_offset))?;
        Ok(record.map(|b| PyBytes::new(py, &b).unbind()))
    }

    fn queue_offsets(&self, topic: &str, queue_id: i32) -> PyResult<Option<(u64, u64)>> {
        self.engine.queue_offsets(topic, queue_id).map_err(to_py)
    }

    /// `(topic, queue id, max offset)` of each queue dispatched to since the last call.
    fn take_moved_queues(&self) -> PyResult<Vec<(String, i32, u64)>> {
        self.engine.take_moved_queues().map_err(to_py)
    }

    fn queue_units(
        &self,
        topic: &str,
        queue_id: i32,
        index: u64,
        count: usize,
    ) -> PyResult<Option<Vec<(i64, i32, i64)>>> {
        self.engine
            .queue_units(topic, queue_id, index, count)
            .map_err(to_py)
    }

    fn commitlog_offsets(&self) -> PyResult<(u64, u64)> {
        self.engine.commitlog_offsets().map_err(to_py)
    }

    #[pyo3(signature = (topic, key, max_count, begin=0, end=i64::MAX))]
    fn query_by_key(
        &self,
        py: Python<'_>,
        topic: String,
        key: String,
        max_count: usize,
        begin: i64,
        end: i64,
    ) -> PyResult<Vec<Py<PyBytes>>> {
        let engine = Arc::clone(&self.engine);
        let records = enter(py, move || {
            engine.query_by_key(&topic, &key, max_count, begin, end)
        })?;
        Ok(records
            .iter()
            .map(|b| PyBytes::new(py, b).unbind())
            .collect())
    }

    fn search_offset(
        &self,
        py: Python<'_>,
        topic: String,
        queue_id: i32,
        timestamp: i64,
    ) -> PyResult<u64> {
        let engine = Arc::clone(&self.engine);
        enter(py, move || {
            engine.search_offset(&topic, queue_id, timestamp)
        })
    }

    fn earliest_store_time(
        &self,
        py: Python<'_>,
        topic: String,
        queue_id: i32,
    ) -> PyResult<Option<i64>> {
        let engine = Arc::clone(&self.engine);
        enter(py, move || engine.earliest_store_time(&topic, queue_id))
    }

    fn read_commitlog(
        &self,
        py: Python<'_>,
        offset: u64,
        max_bytes: usize,
    ) -> PyResult<Py<PyBytes>> {
        let engine = Arc::clone(&self.engine);
        let bytes = enter(py, move || engine.read_commitlog(offset, max_bytes))?;
        Ok(PyBytes::new(py, &bytes).unbind())
    }

    /// Make records below `limit` readable (None: all); returns the dispatched offset.
    #[pyo3(signature = (limit))]
    fn set_dispatch_limit(&self, py: Python<'_>, limit: Option<u64>) -> PyResult<u64> {
        let engine = Arc::clone(&self.engine);
        enter(py, move || engine.set_dispatch_limit(limit))
    }

    /// Append replicated bytes at exactly `offset`; returns the new end of the log.
    fn append_replicated(&self, py: Python<'_>, offset: u64, data: &[u8]) -> PyResult<u64> {
        let data = data.to_vec();
        let engine = Arc::clone(&self.engine);
        enter(py, move || engine.append_replicated(offset, &data))
    }

    fn truncate_commitlog(&self, py: Python<'_>, offset: u64) -> PyResult<()> {
        let engine = Arc::clone(&self.engine);
        enter(py, move || engine.truncate_commitlog(offset))
    }

    /// One retention and disk-guard pass; returns (disk_ratio, disk_full, deleted
    /// commitlog segments, deleted consume-queue segments, deleted index files, min offset).
    #[pyo3(signature = (
        *, now_ms, reserved_ms, in_window, manual=false, disk_max_used_ratio=0.75,
        force_ratio=0.85, clean_forcibly=true, warning_ratio=0.90, max_files=10,
    ))]
    #[allow(
        clippy::too_many_arguments,
        reason = "mirrors the cleaning policy one to one"
    )]
    fn clean(
        &self,
        py: Python<'_>,
        now_ms: i64,
        reserved_ms: i64,
        in_window: bool,
        manual: bool,
        disk_max_used_ratio: f64,
        force_ratio: f64,
        clean_forcibly: bool,
        warning_ratio: f64,
        max_files: usize,
    ) -> PyResult<RawClean> {
        let engine = Arc::clone(&self.engine);
        let policy = CleanPolicy {
            reserved_ms,
            in_window,
            manual,
            disk_max_used_ratio,
            force_ratio,
            clean_forcibly,
            warning_ratio,
            max_files,
        };
        let r = enter(py, move || engine.clean(&policy, now_ms))?;
        Ok((
            r.disk_ratio,
            r.disk_full,
            r.deleted_commitlog,
            r.deleted_consume_queue,
            r.deleted_index,
            r.min_offset,
        ))
    }

    /// (written, flushed, dispatched, poisoned)
    fn progress(&self) -> (u64, u64, u64, bool) {
        let p = self.engine.progress();
        (
            p.written.load(Ordering::Acquire),
            p.flushed.load(Ordering::Acquire),
            p.dispatched.load(Ordering::Acquire),
            p.is_poisoned(),
        )
    }

    /// A non-blocking fd that becomes readable when progress moves; drain it, then read
    /// [`progress`](Self::progress).
    fn wakeup_fd(&self) -> i32 {
        self.engine.progress().reader.as_raw_fd()
    }

    fn request_flush(&self) {
        self.engine.request_flush();
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let engine = Arc::clone(&self.engine);
        enter(py, move || engine.close())
    }
}
