//! `kmigrate-migration` is what a Kafka migration does, run by `kmigrate-executor`: the steps,
//! which act on the clusters through `kmigrate-kafka` and `kmigrate-connect` (`steps/`), their
//! typed facts (`facts`: each step kind's summary, pause reasons, waits, progress, warnings) and
//! recorded outputs (`outputs`: one typed accessor per step kind, checked when the state is
//! loaded), the pure rules they and the dry run share (`rules/`, `strategy`, `compression`,
//! `replan`), the copy's offset map and exact translation (`offset_map`, `translate`), the
//! read-only dry run (`preview/`), and the migration's side of an apply (`apply`: the plan as the
//! executor's [`kmigrate_executor::Job`]: compile, expand patterns, re-plan).
//!
//! Its public API is what this root exports and its rule and data modules (`facts`, `outputs`,
//! `preview`, `translate`, `strategy`, `compression`, `replan`, `offset_map`, `rules`); `executor`
//! names the executor's generic types for a migration's facts. `steps` is private: what the CLI
//! needs of it (the runner, its options, the offset files) is
//! re-exported here.

pub mod apply;
pub mod compression;
pub mod executor;
pub mod facts;
pub mod offset_map;
pub mod outputs;
pub mod preview;
pub mod replan;
pub mod rules;
mod steps;
pub mod strategy;
pub mod translate;

pub use apply::{PlanJob, apply, changed_steps};
pub use executor::{
    ApplyError, ApplyOptions, ChangedStep, Checkpoint, Durability, Event, LockError, LockInfo, Outcome,
    RecordingReporter, State, StateError, StateStore, StepError, StepHandle, StepOutcome, StepResult,
    StepState, StepStatus, StopSignal, WalkOptions, WalkSummary,
};
pub use facts::{
    Applied, Checked, ClusterSeen, ConnectorWaiting, CopiesVerified, CopyRun, CutoverSource, Late, Migration,
    PauseReason, ProgressDetail, RecordedSummary, StepSummary, StepWarning, TopicDone, WaitReason,
};
pub use kmigrate_executor::{NullReporter, Reporter, RunnerFactory, StepRunner};
pub use outputs::{Mm2Start, OutputsError, load as load_state};
/// The offset files (`kafka-consumer-groups --reset-offsets --from-file` CSV), for the CLI
/// (`offsets translate`).
pub use steps::export;
pub use steps::{ConnectConfig, Context, KafkaSteps, RunOptions, cluster_configs, connect_config};
