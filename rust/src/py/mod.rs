//! The Python module `rmq._store`: the only code that names pyo3.
use pyo3::prelude::*;

mod errors;
mod filter;
mod raft;
mod store;

#[pymodule]
fn _store(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ENGINE_VERSION", crate::ENGINE_VERSION)?;
    m.add("PUT_STATUS_NAMES", crate::store::PUT_STATUS_NAMES.to_vec())?;
    m.add("GET_STATUS_NAMES", crate::store::GET_STATUS_NAMES.to_vec())?;
    m.add_class::<store::PyStore>()?;
    m.add_class::<filter::PySqlFilter>()?;
    m.add_class::<raft::PyRaftNode>()?;
    errors::register(m)?;
    Ok(())
}
