//! rmq's storage engine.
//!
//! This crate will own the bytes on disk and the threads that move them (see
//! `ARCHITECTURE.md`): `CommitLog` and `ConsumeQueue` segments, flush, dispatch, index
//! hashing and recovery. The store itself lands with issue #4; until then the crate
//! carries only the engine version, so the build, the wheel and the Python boundary
//! are exercised end to end from the first commit.
//!
//! Layout:
//! - `py/`: the only code that names pyo3 (behind the `python` feature).
#![deny(unsafe_code)]

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
