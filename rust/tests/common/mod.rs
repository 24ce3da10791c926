//! What the engine's integration tests share.
use std::path::Path;

use _store::store::StoreConfig;

/// A store of tiny files, so that a few dozen messages roll commitlog segments (4 KiB),
/// consume-queue files (`cq_bytes`) and index files (64 slots, `index_entries` entries).
pub fn small_config(root: &Path, cq_bytes: u64, index_entries: u32) -> StoreConfig {
    let mut config = StoreConfig::new(root);
    config.commitlog_segment_size = 4096;
    config.consume_queue_segment_size = cq_bytes;
    config.max_hash_slot_num = 64;
    config.max_index_num = index_entries;
    config
}
