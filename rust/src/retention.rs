//! File retention and disk guards (Java: `CleanCommitLogService`, `CleanConsumeQueueService`,
//! `DefaultMessageStore.checkStoreStatus` disk part).
//!
//! Policy inputs that need the local clock (is it `deleteWhen` o'clock?) come from the
//! caller; the disk measurement and the deletions happen here.
use std::path::Path;

use crate::error::{Result, StoreError};

/// What one cleaning pass may do.
#[derive(Debug, Clone, Copy)]
pub struct CleanPolicy {
    /// `fileReservedTime` in ms: a segment older than this (by mtime) is expired.
    pub reserved_ms: i64,
    /// Now is one of the `deleteWhen` hours.
    pub in_window: bool,
    /// An operator asked for it (DELETE_EXPIRED_COMMITLOG).
    pub manual: bool,
    /// `diskMaxUsedSpaceRatio` as a fraction: above it, expired files go outside the window.
    pub disk_max_used_ratio: f64,
    /// Above it (0.85) the oldest files go even if not expired, when `clean_forcibly`.
    pub force_ratio: f64,
    pub clean_forcibly: bool,
    /// Above it (0.90) the store refuses writes until usage drops.
    pub warning_ratio: f64,
    /// At most this many commitlog segments per pass (Java: 10).
    pub max_files: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CleanReport {
    pub disk_ratio: f64,
    pub disk_full: bool,
    pub deleted_commitlog: usize,
    pub deleted_consume_queue: usize,
    pub deleted_index: usize,
    pub min_offset: u64,
}

/// Used fraction of the partition holding `path`, as Java measures it:
/// `(total - free) / ((total - free) + available)`.
///
/// # Errors
/// When statvfs fails.
pub fn disk_ratio(path: &Path) -> Result<f64> {
    let stats = fs4::statvfs(path).map_err(|e| StoreError::io("statvfs", path, e))?;
    let used = stats.total_space().saturating_sub(stats.free_space());
    let denominator = used + stats.available_space();
    if denominator == 0 {
        return Ok(0.0);
    }
    // u64 -> f64 loses precision only past 2^53 bytes, far beyond any disk.
    #[allow(clippy::cast_precision_loss)]
    Ok(used as f64 / denominator as f64)
}
