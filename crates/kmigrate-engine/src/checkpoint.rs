//! The live checkpoint: the in-memory [`State`] shared by the walker and the running steps,
//! saved atomically after every change.

use std::sync::{Arc, Mutex};

use crate::state::{State, StateError, StateStore, StepStatus};

#[derive(Clone)]
pub struct Checkpoint {
    store: StateStore,
    state: Arc<Mutex<State>>,
}

impl Checkpoint {
    pub fn new(store: StateStore, state: State) -> Self {
        Checkpoint { store, state: Arc::new(Mutex::new(state)) }
    }

    pub fn store(&self) -> &StateStore {
        &self.store
    }

    /// Applies `change` to the state and writes it to disk before returning.
    pub fn update<R>(&self, change: impl FnOnce(&mut State) -> R) -> Result<R, StateError> {
        let mut state = self.state.lock().expect("checkpoint lock poisoned");
        let r = change(&mut state);
        state.updated_at = chrono::Utc::now();
        self.store.save(&state)?;
        Ok(r)
    }

    pub fn status(&self, step: &str) -> Option<StepStatus> {
        self.state.lock().expect("checkpoint lock poisoned").steps.get(step).map(|s| s.status)
    }

    /// Reads the state in place (no copy), e.g. through a typed accessor of [`crate::outputs`].
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.state.lock().expect("checkpoint lock poisoned"))
    }

    /// A copy of the whole state.
    pub fn snapshot(&self) -> State {
        self.state.lock().expect("checkpoint lock poisoned").clone()
    }
}
