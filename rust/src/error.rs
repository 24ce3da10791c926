//! `StoreError`: the closed set of ways the engine fails.
//!
//! Expected outcomes of a put or get (message too large, offset out of range) are statuses,
//! not errors; these are the conditions an operator has to act on.
use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("store lock {path} is held by {holder} (Lock failed, MQ already started)")]
    Locked { path: PathBuf, holder: String },
    #[error("corrupted store file {file} at offset {offset}: {reason}")]
    Corrupted {
        file: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error("store is poisoned after an earlier I/O failure; restart the broker")]
    Poisoned,
    #[error("store is closed")]
    Closed,
    #[error(
        "replicated bytes for offset {got} do not continue this log, which ends at {expected}"
    )]
    OutOfOrder { expected: u64, got: u64 },
    #[error("invalid store configuration: {0}")]
    Config(String),
}

impl StoreError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        StoreError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;
