//! `kmigrate-executor` runs a sealed step graph to the end, resumably, and knows nothing of Kafka
//! or of what the steps do. It owns:
//!
//! - the per-plan lock (`lock`: one apply at a time, an `flock` released by the kernel when its
//!   holder dies);
//! - the versioned state file: an atomic snapshot plus a journal of step transitions (`state`),
//!   and the live checkpoint shared by the walker and the running steps (`checkpoint`);
//! - the walker (`walker`): ready steps by dependency counting under a concurrency bound,
//!   retries of transient errors with backoff, pauses, stop signals;
//! - the apply loop (`apply`): lock, load, let the [`Job`] prepare the state and the graph, walk,
//!   and walk again when a step grew the graph;
//! - the typed events and the [`Reporter`] trait (`events`), generic over the job's [`Facts`]
//!   (what its steps report: summaries, pauses, waits, progress, warnings), so that no event holds
//!   a sentence;
//! - the atomic file write the state file uses ([`write_atomically`]), public for the other files
//!   kmigrate writes whole (export files, drafted plans).
//!
//! Its public API is what this root exports; the modules are private. The migration itself (the
//! steps, their rules and facts, the dry run) is `kmigrate-migration`'s.

mod apply;
mod checkpoint;
mod events;
mod lock;
mod state;
mod walker;

pub use apply::{ApplyError, ApplyOptions, ChangedStep, Job, RunnerFactory, apply};
pub use checkpoint::{Checkpoint, Durability};
pub use events::{Event, Fact, Facts, NullReporter, Outcome, RecordingReporter, Reporter};
pub use lock::{LockError, LockInfo, PlanLock, hostname};
pub use state::{
    STATE_FORMAT_VERSION, State, StateError, StateStore, StepState, StepStatus, write_atomically,
};
pub use walker::{
    StepError, StepHandle, StepOutcome, StepResult, StepRunner, StopSignal, WalkOptions, WalkSummary, walk,
};
