//! Pure encode/decode of the on-disk formats; no I/O here.
pub mod batch;
pub mod cq;
pub mod properties;
pub mod record;
