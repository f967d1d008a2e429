//! The live checkpoint: the in-memory [`State`] shared by the walker and the running steps, and
//! its saves (a snapshot, then a journal of step changes: see `state.rs`).
//!
//! # Which saves must be durable
//!
//! The rule: **a step's side effect is never repeated after a kill at any point**, where repeating
//! means running a step again after it was recorded done, or after a dependent acted on its
//! outputs. Every step can run again from "running" (it reads the clusters before it writes,
//! and a copy finds on the target what it wrote after its last checkpoint); what must never be
//! lost is a step's `done` with its outputs once anything acted on them, and a decision recorded
//! before it is applied. So:
//!
//! - **durable before the call returns** ([`Durability::Now`]): a step done (status and outputs,
//!   synced before the walker reports it and before any dependent can start), failed, waiting
//!   or handed back as pending, and every [`crate::StepHandle::save_outputs`] (the offsets step
//!   records its decision with it before it commits or exports, the copy its acknowledged
//!   records once a second);
//! - **written but not synced** ([`Durability::Deferred`]): a step marked running (status,
//!   attempt count, start time) and a retry's attempt count. A kill of the process keeps them
//!   (written is in the kernel's page cache); a crash of the machine may lose them, and the step
//!   then reads as it was before it started (pending, failed or waiting), which a re-run treats
//!   exactly like "running": it runs the step again, which is what it does after a kill during
//!   the step. The next durable save syncs them along.
//!
//! A record is one append of O(the step's state), so an apply writes O(changes) plus snapshots:
//! one when it starts (what it reconciled), one whenever the journal has grown larger than the
//! last snapshot (so snapshots cost at most as much as the journal did), one at its end.

use std::sync::{Arc, Mutex};

use crate::events::Facts;
pub use crate::state::Durability;
use crate::state::{Journal, State, StateError, StateStore, StepState, StepStatus};

/// Below this, the journal is never folded into a snapshot (small plans: a few records).
const MIN_JOURNAL_BYTES: u64 = 1 << 20;

pub struct Checkpoint<F: Facts> {
    store: StateStore,
    inner: Arc<Mutex<Inner<F>>>,
}

impl<F: Facts> Clone for Checkpoint<F> {
    fn clone(&self) -> Self {
        Checkpoint { store: self.store.clone(), inner: self.inner.clone() }
    }
}

struct Inner<F: Facts> {
    state: State<F>,
    /// The generation and size of the last snapshot written through this checkpoint; `None`
    /// before the first (then every save is a snapshot).
    snapshot: Option<(String, u64)>,
    /// The snapshot's journal, once it has a record.
    journal: Option<Journal>,
    /// [`MIN_JOURNAL_BYTES`], smaller in tests.
    min_journal_bytes: u64,
}

impl<F: Facts> Inner<F> {
    fn write_snapshot(&mut self, store: &StateStore) -> Result<(), StateError> {
        // Dropped first: the snapshot removes the file.
        self.journal = None;
        self.snapshot = Some(store.snapshot(&self.state)?);
        Ok(())
    }
}

impl<F: Facts> Checkpoint<F> {
    pub fn new(store: StateStore, state: State<F>) -> Self {
        Checkpoint {
            store,
            inner: Arc::new(Mutex::new(Inner {
                state,
                snapshot: None,
                journal: None,
                min_journal_bytes: MIN_JOURNAL_BYTES,
            })),
        }
    }

    /// Folds the journal into a snapshot as soon as it outgrows the snapshot (tests).
    #[cfg(test)]
    pub(crate) fn without_min_journal(self) -> Self {
        self.inner.lock().expect("checkpoint lock poisoned").min_journal_bytes = 0;
        self
    }

    pub fn store(&self) -> &StateStore {
        &self.store
    }

    /// Applies `change` to the state and writes the whole state (a new snapshot, durable) before
    /// returning: for changes beyond one step (new steps, the expansion). O(state).
    pub fn update<R>(&self, change: impl FnOnce(&mut State<F>) -> R) -> Result<R, StateError> {
        let mut inner = self.inner.lock().expect("checkpoint lock poisoned");
        let r = change(&mut inner.state);
        inner.state.updated_at = chrono::Utc::now();
        inner.write_snapshot(&self.store)?;
        Ok(r)
    }

    /// Applies `change` to the state of `step` and records it with `durability` (see the module
    /// docs): one journal record, O(the step's state). `None`, and nothing written, when the state
    /// has no such step.
    pub fn update_step<R>(
        &self,
        step: &str,
        durability: Durability,
        change: impl FnOnce(&mut StepState<F>) -> R,
    ) -> Result<Option<R>, StateError> {
        let mut guard = self.inner.lock().expect("checkpoint lock poisoned");
        let inner = &mut *guard;
        let Some(st) = inner.state.steps.get_mut(step) else { return Ok(None) };
        let r = change(st);
        inner.state.updated_at = chrono::Utc::now();
        let Some((generation, snapshot_bytes)) = &inner.snapshot else {
            inner.write_snapshot(&self.store)?;
            return Ok(Some(r));
        };
        let st = &inner.state.steps[step];
        self.store.append(&mut inner.journal, generation, step, st, durability)?;
        let journal_bytes = inner.journal.as_ref().map_or(0, |j| j.bytes);
        if journal_bytes > (*snapshot_bytes).max(inner.min_journal_bytes) {
            // Durable, whatever `durability` asked.
            inner.write_snapshot(&self.store)?;
        }
        Ok(Some(r))
    }

    /// Folds the journal into a new snapshot, so that the state file alone is the whole state
    /// (at the end of an apply). Writes nothing when there is no journal.
    pub fn compact(&self) -> Result<(), StateError> {
        let mut inner = self.inner.lock().expect("checkpoint lock poisoned");
        if inner.journal.is_some() { inner.write_snapshot(&self.store) } else { Ok(()) }
    }

    pub fn status(&self, step: &str) -> Option<StepStatus> {
        self.inner.lock().expect("checkpoint lock poisoned").state.steps.get(step).map(|s| s.status)
    }

    /// Reads the state in place (no copy), e.g. through a typed accessor of the job's outputs.
    pub fn read<R>(&self, f: impl FnOnce(&State<F>) -> R) -> R {
        f(&self.inner.lock().expect("checkpoint lock poisoned").state)
    }

    /// A copy of the whole state.
    pub fn snapshot(&self) -> State<F> {
        self.inner.lock().expect("checkpoint lock poisoned").state.clone()
    }
}
