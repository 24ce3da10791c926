//! DLedger mode's consensus: tikv's `raft` crate over an on-disk log ([`log_store`]).
//!
//! The crate decides elections, log matching and commitment; this module only persists what
//! it asks to persist, in the order it asks, and hands back what the caller must do:
//! messages to send to peers and committed entries to apply. The caller (Python) owns the
//! network and the clock (it calls [`GroupNode::tick`] every heartbeat period).
pub mod log_store;

use std::path::Path;

use protobuf::Message as _;
use raft::eraftpb::{Entry, EntryType, Message};
use raft::{Config, RawNode, StateRole};

use crate::error::{Result, StoreError};
use log_store::LogStore;

/// Timing and safety knobs of one member.
#[derive(Debug, Clone)]
pub struct GroupConfig {
    pub id: u64,
    pub voters: Vec<u64>,
    /// Ticks without a leader before a follower campaigns (randomised up to twice this).
    pub election_tick: usize,
    pub heartbeat_tick: usize,
    /// Highest index already applied to the commitlog.
    pub applied: u64,
    pub sync: bool,
}

/// What one pass over the crate's `Ready` produced.
#[derive(Debug, Default)]
pub struct Output {
    /// `(to, encoded eraftpb.Message)`.
    pub messages: Vec<(u64, Vec<u8>)>,
    /// `(index, data)` of committed normal entries with data, in order.
    pub committed: Vec<(u64, Vec<u8>)>,
    /// Highest committed index handed out (including empty and configuration entries).
    pub applied: u64,
}

pub struct GroupNode {
    node: RawNode<LogStore>,
}

impl std::fmt::Debug for GroupNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupNode")
            .field("id", &self.node.raft.id)
            .finish_non_exhaustive()
    }
}

fn raft_err(e: &raft::Error) -> StoreError {
    StoreError::Config(format!("raft: {e}"))
}

/// Roles as the caller sees them (numbers cross into Python).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Role {
    Follower = 0,
    Candidate = 1,
    Leader = 2,
}

impl GroupNode {
    /// Open the member's log under `dir` and start it as a follower.
    ///
    /// # Errors
    /// I/O failures; settings the crate rejects.
    pub fn open(dir: &Path, config: &GroupConfig) -> Result<GroupNode> {
        let store = LogStore::open(dir, &config.voters, config.sync)?;
        let last = store.end() - 1;
        let commit = store.hard_state().commit;
        // Everything applied was committed, even when the lazily written commit index lags.
        let applied = config.applied.min(last);
        let mut store = store;
        if applied > commit {
            store.commit_to(applied);
        }
        let cfg = Config {
            id: config.id,
            election_tick: config.election_tick,
            heartbeat_tick: config.heartbeat_tick,
            applied,
            max_size_per_msg: 4 * 1024 * 1024,
            max_inflight_msgs: 256,
            check_quorum: true,
            pre_vote: true,
            ..Config::default()
        };
        cfg.validate().map_err(|e| raft_err(&e))?;
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let node = RawNode::new(&cfg, store, &logger).map_err(|e| raft_err(&e))?;
        Ok(GroupNode { node })
    }

    pub fn tick(&mut self) -> bool {
        self.node.tick()
    }

    /// Feed a message from a peer.
    ///
    /// # Errors
    /// A message that does not decode; one the crate refuses (from an unknown peer).
    pub fn step(&mut self, bytes: &[u8]) -> Result<()> {
        let msg = Message::parse_from_bytes(bytes)
            .map_err(|e| StoreError::Config(format!("raft message does not decode: {e}")))?;
        self.node.step(msg).map_err(|e| raft_err(&e))
    }

    /// Propose `data` as a new entry. False when this member is not the leader (the crate
    /// would forward it, but only the leader knows the commitlog position it describes) or
    /// the leader is handing over.
    pub fn propose(&mut self, data: Vec<u8>) -> bool {
        self.node.raft.state == StateRole::Leader && self.node.propose(Vec::new(), data).is_ok()
    }

    /// Start an election now (tests; an operator's preferred leader).
    ///
    /// # Errors
    /// What the crate refuses.
    pub fn campaign(&mut self) -> Result<()> {
        self.node.campaign().map_err(|e| raft_err(&e))
    }

    pub fn transfer_leader(&mut self, to: u64) {
        self.node.transfer_leader(to);
    }

    #[must_use]
    pub fn has_ready(&self) -> bool {
        self.node.has_ready()
    }

    /// Persist what the crate produced, then return what the caller must send and apply.
    /// Messages that depend on persisted state come out only after it is on disk.
    ///
    /// # Errors
    /// I/O failures of the log (the caller must stop the member).
    pub fn ready(&mut self) -> Result<Output> {
        let mut out = Output::default();
        if !self.node.has_ready() {
            return Ok(out);
        }
        let mut rd = self.node.ready();
        encode(&mut out.messages, rd.take_messages());
        take_committed(&mut out, rd.take_committed_entries());
        if !rd.entries().is_empty() {
            self.node.mut_store().append(rd.entries())?;
        }
        if let Some(hs) = rd.hs() {
            self.node.mut_store().set_hard_state(hs)?;
        }
        encode(&mut out.messages, rd.take_persisted_messages());
        let mut light = self.node.advance(rd);
        if let Some(commit) = light.commit_index() {
            self.node.mut_store().commit_to(commit);
        }
        encode(&mut out.messages, light.take_messages());
        take_committed(&mut out, light.take_committed_entries());
        self.node.advance_apply();
        Ok(out)
    }

    #[must_use]
    pub fn leader(&self) -> u64 {
        self.node.raft.leader_id
    }

    #[must_use]
    pub fn term(&self) -> u64 {
        self.node.raft.term
    }

    #[must_use]
    pub fn role(&self) -> Role {
        match self.node.raft.state {
            StateRole::Leader => Role::Leader,
            StateRole::Candidate | StateRole::PreCandidate => Role::Candidate,
            StateRole::Follower => Role::Follower,
        }
    }

    #[must_use]
    pub fn commit(&self) -> u64 {
        self.node.raft.raft_log.committed
    }

    #[must_use]
    pub fn last_index(&self) -> u64 {
        self.node.raft.raft_log.last_index()
    }

    /// Remove Raft log segments that are applied and whose commitlog bytes retention
    /// already deleted (see [`LogStore::compact`]); returns how many went.
    ///
    /// # Errors
    /// I/O failures.
    pub fn compact(&mut self, commitlog_min: u64) -> Result<usize> {
        let applied = self.node.raft.raft_log.applied;
        let removed = self.node.mut_store().compact(applied, commitlog_min)?;
        Ok(removed)
    }

    /// Write the hard state (with its latest commit index) to disk.
    ///
    /// # Errors
    /// I/O failures.
    pub fn close(&self) -> Result<()> {
        self.node.store().persist_hard_state()
    }
}

fn encode(out: &mut Vec<(u64, Vec<u8>)>, messages: Vec<Message>) {
    for m in messages {
        if let Ok(bytes) = m.write_to_bytes() {
            out.push((m.to, bytes));
        }
    }
}

fn take_committed(out: &mut Output, entries: Vec<Entry>) {
    for e in entries {
        out.applied = out.applied.max(e.index);
        if e.get_entry_type() == EntryType::EntryNormal && !e.data.is_empty() {
            out.committed.push((e.index, e.data.to_vec()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    fn group(dirs: &[tempfile::TempDir]) -> Result<Vec<GroupNode>> {
        let voters = vec![1, 2, 3];
        dirs.iter()
            .enumerate()
            .map(|(i, d)| {
                let config = GroupConfig {
                    id: i as u64 + 1,
                    voters: voters.clone(),
                    election_tick: 10,
                    heartbeat_tick: 2,
                    applied: 0,
                    sync: false,
                };
                GroupNode::open(d.path(), &config)
            })
            .collect()
    }

    /// Deliver messages until the group is quiet; returns what each member applied.
    fn settle(nodes: &mut [GroupNode], applied: &mut [Vec<Vec<u8>>]) -> Result<()> {
        let mut queue = VecDeque::new();
        for _ in 0..1000 {
            for (i, n) in nodes.iter_mut().enumerate() {
                let out = n.ready()?;
                queue.extend(out.messages);
                applied[i].extend(out.committed.into_iter().map(|(_, d)| d));
            }
            let Some((to, bytes)) = queue.pop_front() else {
                return Ok(());
            };
            nodes[usize::try_from(to - 1).unwrap_or(0)].step(&bytes)?;
        }
        Ok(())
    }

    #[test]
    fn three_members_elect_one_leader_and_apply_its_entries_everywhere() -> Result<()> {
        let dirs: Vec<_> = (0..3)
            .map(|_| tempfile::tempdir().map_err(|e| StoreError::io("tempdir", ".", e)))
            .collect::<Result<_>>()?;
        let mut nodes = group(&dirs)?;
        let mut applied = vec![Vec::new(); 3];
        nodes[0].campaign()?;
        settle(&mut nodes, &mut applied)?;
        assert_eq!(nodes[0].role(), Role::Leader);
        assert!(nodes.iter().all(|n| n.leader() == 1));
        assert!(nodes[0].propose(b"one".to_vec()));
        assert!(nodes[0].propose(b"two".to_vec()));
        assert!(!nodes[1].propose(b"refused".to_vec()));
        settle(&mut nodes, &mut applied)?;
        for got in &applied {
            assert_eq!(got, &vec![b"one".to_vec(), b"two".to_vec()]);
        }
        // Reopened members keep their log and term.
        let term = nodes[2].term();
        let last = nodes[2].last_index();
        drop(nodes);
        let nodes = group(&dirs)?;
        assert_eq!((nodes[2].term(), nodes[2].last_index()), (term, last));
        Ok(())
    }
}
