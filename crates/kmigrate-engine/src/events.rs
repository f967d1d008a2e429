//! Typed events the executor reports while it works. The CLI renders them (progress bars on a
//! terminal, plain lines otherwise, JSON lines with `--output json`); the engine never prints.

use serde::Serialize;

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
    /// Work done so far; `total` when known. `unit` is "records", "partitions", "lag", ...
    StepProgress {
        step: String,
        done: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        total: Option<u64>,
        unit: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// The step waits for something outside kmigrate (a drain, an idle source).
    StepWaiting {
        step: String,
        reason: String,
    },
    StepDone {
        step: String,
        summary: String,
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
    /// The step stopped at a gate or a wait timed out; `resume` says how to continue.
    StepPaused {
        step: String,
        reason: String,
        resume: String,
    },
    Warning {
        #[serde(skip_serializing_if = "Option::is_none")]
        step: Option<String>,
        message: String,
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
