//! Typed events the executor reports while it works. The CLI renders them (progress bars on a
//! terminal, plain lines otherwise, JSON lines with `--output json`); the engine never prints,
//! and no event holds a sentence: steps report facts ([`crate::facts`]), the CLI words them.
//! (A failure's `error` is the error's own message.)

use serde::Serialize;

use crate::facts::{PauseReason, ProgressDetail, StepSummary, StepWarning, WaitReason};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
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
        detail: Option<ProgressDetail>,
    },
    /// The step waits for something outside kmigrate (a cutover time, copies catching up).
    StepWaiting {
        step: String,
        wait: WaitReason,
    },
    StepDone {
        step: String,
        result: StepSummary,
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
        pause: PauseReason,
    },
    Warning {
        #[serde(skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        warning: StepWarning,
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
pub trait Reporter: Send + Sync {
    fn report(&self, event: Event);
}

/// Discards every event.
pub struct NullReporter;

impl Reporter for NullReporter {
    fn report(&self, _event: Event) {}
}

/// Keeps every event, for tests.
#[derive(Default)]
pub struct RecordingReporter(pub std::sync::Mutex<Vec<Event>>);

impl Reporter for RecordingReporter {
    fn report(&self, event: Event) {
        self.0.lock().expect("reporter lock").push(event);
    }
}

impl RecordingReporter {
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().expect("reporter lock").clone()
    }
}
