//! The Python module `rmq._store`.
use pyo3::prelude::*;

#[pymodule]
fn _store(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ENGINE_VERSION", crate::ENGINE_VERSION)?;
    Ok(())
}
