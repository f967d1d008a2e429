//! The executor's types for a migration: `kmigrate-executor`'s generic types with the migration's
//! facts ([`Migration`]), under the names the steps use. The executor itself (lock, state file,
//! walker, apply loop, events) is `kmigrate-executor`'s.

use crate::facts::Migration;

pub use kmigrate_executor::{
    ApplyError, ApplyOptions, ChangedStep, Durability, LockError, LockInfo, Outcome, StateError, StateStore,
    StepError, StepStatus, StopSignal, WalkOptions, WalkSummary, write_atomically,
};

/// The state file of a migration.
pub type State = kmigrate_executor::State<Migration>;
/// One step's entry in the state file.
pub type StepState = kmigrate_executor::StepState<Migration>;
/// The live checkpoint of an apply.
pub type Checkpoint = kmigrate_executor::Checkpoint<Migration>;
/// What a running step is given.
pub type StepHandle = kmigrate_executor::StepHandle<Migration>;
/// What a step returns when it stops without error.
pub type StepOutcome = kmigrate_executor::StepOutcome<Migration>;
/// What a step returns.
pub type StepResult = kmigrate_executor::StepResult<Migration>;
/// An event of a migration's apply.
pub type Event = kmigrate_executor::Event<Migration>;
/// Keeps every event, for tests.
pub type RecordingReporter = kmigrate_executor::RecordingReporter<Migration>;
