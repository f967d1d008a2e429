//! Typed events the executor reports while it works. The CLI renders them (progress bars on a
//! terminal, plain lines otherwise, JSON lines with `--output json`); the executor never prints,
//! and no event holds a sentence: steps report facts (the job's [`Facts`], e.g.
//! `kmigrate_migration::facts`), the CLI words them. (A failure's `error` is the error's own
//! message.)

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// One typed fact a step reports: data (serialized into JSON lines and, for summaries, the state
/// file), never a sentence.
pub trait Fact: Debug + Clone + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static {}

impl<T: Debug + Clone + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static> Fact for T {}

/// What the steps of a job report, as types. The executor carries them (in events, step outcomes
/// and the state file) without reading them; the job defines them and the CLI words them.
/// Implemented by a marker type (`kmigrate_migration::Migration`).
pub trait Facts: Debug + Clone + PartialEq + Send + Sync + 'static {
    /// What a finished step did.
    type Summary: Fact;
    /// A summary as the state file records it (it may also read what older versions wrote).
    type Recorded: Fact + From<Self::Summary>;
    /// Why a step stopped without failing (a gate, a wait that timed out).
    type Pause: Fact;
    /// What a running step waits for, outside kmigrate.
    type Wait: Fact;
    /// What a progress report counts beyond `done` / `total`.
    type Progress: Fact;
    /// Something the operator should know; the step goes on.
    type Warning: Fact;
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case", bound = "")]
pub enum Event<F: Facts> {
    /// apply begins: how many steps the DAG has and how many were done by earlier runs.
    ApplyStarted {
        plan: String,
        steps: usize,
        already_done: usize,
    },
    /// A stale lock (its process is gone) was taken over.
    LockTakenOver {
        holder: String,
    },
    /// A step was done in an earlier run and is skipped.
    StepSkipped {
        step: String,
    },
    StepStarted {
        step: String,
        attempt: u32,
    },
    /// Work done so far; `total` when known. `unit` is "records", "s idle", ...
    StepProgress {
        step: String,
        done: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        total: Option<u64>,
        unit: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<F::Progress>,
    },
    /// The step waits for something outside kmigrate (a cutover time, copies catching up).
    StepWaiting {
        step: String,
        wait: F::Wait,
    },
    StepDone {
        step: String,
        result: F::Summary,
    },
    /// A transient error; the step is tried again after `retry_in_ms`.
    StepRetrying {
        step: String,
        error: String,
        retry_in_ms: u64,
    },
    StepFailed {
        step: String,
        error: String,
    },
    /// The step stopped at a gate or a wait timed out; the reason says how to continue.
    StepPaused {
        step: String,
        pause: F::Pause,
    },
    Warning {
        #[serde(skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        warning: F::Warning,
    },
    ApplyFinished {
        outcome: Outcome,
        done: usize,
        failed: usize,
        pending: usize,
    },
}

/// How an apply ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every step is done.
    Done,
    /// Stopped at a gate or a wait timed out; nothing failed.
    Paused,
    /// At least one step failed.
    Failed,
}

/// Receives events. Implemented by the CLI's renderers; must not block for long.
pub trait Reporter<F: Facts>: Send + Sync {
    fn report(&self, event: Event<F>);
}

/// Discards every event.
pub struct NullReporter;

impl<F: Facts> Reporter<F> for NullReporter {
    fn report(&self, _event: Event<F>) {}
}

/// Keeps every event, for tests.
pub struct RecordingReporter<F: Facts>(pub std::sync::Mutex<Vec<Event<F>>>);

impl<F: Facts> Default for RecordingReporter<F> {
    fn default() -> Self {
        RecordingReporter(std::sync::Mutex::default())
    }
}

impl<F: Facts> Reporter<F> for RecordingReporter<F> {
    fn report(&self, event: Event<F>) {
        self.0.lock().expect("reporter lock").push(event);
    }
}

impl<F: Facts> RecordingReporter<F> {
    pub fn events(&self) -> Vec<Event<F>> {
        self.0.lock().expect("reporter lock").clone()
    }
}

/// Facts of a job for the executor's own tests: each one a word.
#[cfg(test)]
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Words;

#[cfg(test)]
impl Facts for Words {
    type Summary = String;
    type Recorded = String;
    type Pause = String;
    type Wait = String;
    type Progress = String;
    type Warning = String;
}
