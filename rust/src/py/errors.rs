//! StoreError kinds as Python exceptions: `StoreError` and one subclass per kind; I/O
//! failures become the matching `OSError` subclass with the path in the message.
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyOSError};
use pyo3::prelude::*;

use crate::error::StoreError as EngineError;

create_exception!(
    rmq._store,
    StoreError,
    PyException,
    "Root of the store's errors."
);
create_exception!(
    rmq._store,
    StoreLockedError,
    StoreError,
    "Another process holds the store."
);
create_exception!(
    rmq._store,
    StoreCorruptedError,
    StoreError,
    "A store file is corrupted."
);
create_exception!(
    rmq._store,
    StorePoisonedError,
    StoreError,
    "An earlier I/O failure poisoned the store."
);
create_exception!(
    rmq._store,
    StoreClosedError,
    StoreError,
    "The store is closed."
);
create_exception!(
    rmq._store,
    StoreConfigError,
    StoreError,
    "The store's settings are invalid."
);

create_exception!(
    rmq._store,
    StoreOutOfOrderError,
    StoreError,
    "Replicated bytes leave a gap or overlap."
);

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("StoreError", py.get_type::<StoreError>())?;
    m.add("StoreLockedError", py.get_type::<StoreLockedError>())?;
    m.add("StoreCorruptedError", py.get_type::<StoreCorruptedError>())?;
    m.add("StorePoisonedError", py.get_type::<StorePoisonedError>())?;
    m.add("StoreClosedError", py.get_type::<StoreClosedError>())?;
    m.add("StoreConfigError", py.get_type::<StoreConfigError>())?;
    m.add(
        "StoreOutOfOrderError",
        py.get_type::<StoreOutOfOrderError>(),
    )?;
    Ok(())
}

pub fn to_py(err: EngineError) -> PyErr {
    let message = err.to_string();
    match err {
        EngineError::Io { source, .. } => {
            let errno = source.raw_os_error().unwrap_or(0);
            PyOSError::new_err((errno, message))
        }
        EngineError::Locked { .. } => StoreLockedError::new_err(message),
        EngineError::Corrupted { .. } => StoreCorruptedError::new_err(message),
        EngineError::Poisoned => StorePoisonedError::new_err(message),
        EngineError::Closed => StoreClosedError::new_err(message),
        EngineError::Config(_) => StoreConfigError::new_err(message),
        EngineError::OutOfOrder { .. } => StoreOutOfOrderError::new_err(message),
    }
}
