//! `rmq._store.RaftNode`: one DLedger member's Raft state machine (see `consensus`).
//!
//! Called only from the broker's event loop, one call at a time; disk writes of the log are
//! small appends, so calls stay attached to the interpreter.
use std::path::Path;
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::consensus::{GroupConfig, GroupNode};
use crate::error::StoreError;
use crate::py::errors::to_py;

/// (messages as (to, bytes), committed as (index, data), highest committed index handed out)
type RawReady = (Vec<(u64, Py<PyBytes>)>, Vec<(u64, Py<PyBytes>)>, u64);
/// (leader id, term, role: 0 follower / 1 candidate / 2 leader, commit index, last index)
type RawStatus = (u64, u64, u8, u64, u64);

#[pyclass(name = "RaftNode", module = "rmq._store", frozen)]
pub struct PyRaftNode {
    node: Mutex<GroupNode>,
}

impl PyRaftNode {
    fn with<T>(&self, f: impl FnOnce(&mut GroupNode) -> Result<T, StoreError>) -> PyResult<T> {
        let mut node = self.node.lock().map_err(|_| to_py(StoreError::Poisoned))?;
        f(&mut node).map_err(to_py)
    }
}

#[pymethods]
impl PyRaftNode {
    #[new]
    #[pyo3(signature = (
        path, *, id, voters, election_tick = 10, heartbeat_tick = 2, applied = 0, sync = false
    ))]
    fn new(
        path: &str,
        id: u64,
        voters: Vec<u64>,
        election_tick: usize,
        heartbeat_tick: usize,
        applied: u64,
        sync: bool,
    ) -> PyResult<PyRaftNode> {
        let config = GroupConfig {
            id,
            voters,
            election_tick,
            heartbeat_tick,
            applied,
            sync,
        };
        let node = GroupNode::open(Path::new(path), &config).map_err(to_py)?;
        Ok(PyRaftNode {
            node: Mutex::new(node),
        })
    }

    /// Advance the logical clock one tick; true when there may be something ready.
    fn tick(&self) -> PyResult<bool> {
        self.with(|n| Ok(n.tick()))
    }

    /// Feed a message a peer sent.
    fn step(&self, message: &[u8]) -> PyResult<()> {
        self.with(|n| n.step(message))
    }

    /// Propose an entry; false when this member is not the leader.
    fn propose(&self, data: Vec<u8>) -> PyResult<bool> {
        self.with(|n| Ok(n.propose(data)))
    }

    fn campaign(&self) -> PyResult<()> {
        self.with(GroupNode::campaign)
    }

    fn transfer_leader(&self, to: u64) -> PyResult<()> {
        self.with(|n| {
            n.transfer_leader(to);
            Ok(())
        })
    }

    fn has_ready(&self) -> PyResult<bool> {
        self.with(|n| Ok(n.has_ready()))
    }

    /// Persist what is pending, then return messages to send and entries to apply.
    fn ready(&self, py: Python<'_>) -> PyResult<RawReady> {
        let out = self.with(GroupNode::ready)?;
        let bytes = |v: Vec<(u64, Vec<u8>)>| -> Vec<(u64, Py<PyBytes>)> {
            v.into_iter()
                .map(|(k, b)| (k, PyBytes::new(py, &b).unbind()))
                .collect()
        };
        Ok((bytes(out.messages), bytes(out.committed), out.applied))
    }

    fn status(&self) -> PyResult<RawStatus> {
        self.with(|n| {
            Ok((
                n.leader(),
                n.term(),
                n.role() as u8,
                n.commit(),
                n.last_index(),
            ))
        })
    }

    /// Drop Raft log segments retention made useless; returns how many went.
    fn compact(&self, commitlog_min: u64) -> PyResult<usize> {
        self.with(|n| n.compact(commitlog_min))
    }

    /// Write the hard state with its latest commit index (at shutdown).
    fn close(&self) -> PyResult<()> {
        self.with(|n| n.close())
    }
}
