//! rmq's storage engine: RocketMQ's CommitLog and ConsumeQueue layout, flush and recovery.
//!
//! Layout (see `ARCHITECTURE.md` and `STYLE.md`):
//! - `codec/`: pure encode/decode of commitlog records, consume-queue units, properties.
//! - `segment_queue`: segment files named by start offset (positioned I/O).
//! - `commitlog`, `consume_queue`: the two logs; `dispatch`: their consume-queue and index
//!   entries, off the put path; `store`: the engine that ties them together (put lock,
//!   dispatch thread, flush thread, recovery, reads).
//! - `index`: IndexFile (lookup by key and time) over `mapped_file`, the only `unsafe`.
//! - `consensus`: DLedger mode's Raft member (tikv's crate) over its own on-disk log.
//! - `notify`: progress counters and the wake-up fd; `lockfile`: one process per root.
//! - `prefetch`: brings commitlog pages into the page cache ahead of the writer.
//! - `py/`: the only code that names pyo3 (behind the `python` feature).
#![deny(unsafe_code)]

pub mod checkpoint;
pub mod codec;
pub mod commitlog;
pub mod consensus;
pub mod consume_queue;
pub mod dispatch;
pub mod error;
pub mod filter;
pub mod index;
pub mod lockfile;
pub mod mapped_file;
pub mod notify;
pub mod prefetch;
pub mod retention;
pub mod segment_queue;
pub mod store;

/// A map keyed by `(topic, queue id)`, hashed on every put and dispatch: Fx instead of
/// SipHash, which measured as a larger cost than the consume-queue write itself. Topic names
/// are chosen by clients, but each must be a topic the broker created first, so a flood of
/// colliding keys costs the attacker a topic each.
pub type QueueMap<V> = std::collections::HashMap<(String, i32), V, rustc_hash::FxBuildHasher>;

/// Version of the engine, reported by the broker's runtime info.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(feature = "python")]
mod py;

#[cfg(test)]
mod tests {
    #[test]
    fn engine_version_is_the_crate_version() {
        assert_eq!(super::ENGINE_VERSION, "0.1.0");
    }
}

/// Dispatch and the record codec allocate a handful of small buffers per message; glibc's
/// malloc measured as the largest user-space cost of a put.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
