//! `kmigrate-engine` executes a plan: the walker that runs ready steps of the sealed DAG under a
//! concurrency bound, the checkpoint (a versioned state file written atomically as a snapshot,
//! plus a journal of every step transition since), the per-plan lock, the typed events reported
//! to the CLI, the strategy table that decides each group's start offsets, the rule for the
//! copy's compression, and the steps themselves, which act on the clusters through
//! `kmigrate-kafka`.

pub mod apply;
pub mod checkpoint;
pub mod compression;
pub mod events;
pub mod facts;
pub mod lock;
pub mod offset_map;
pub mod outputs;
pub mod preview;
pub mod replan;
pub mod rules;
pub mod state;
pub mod steps;
pub mod strategy;
pub mod translate;
pub mod walker;

pub use apply::{ApplyError, ApplyOptions, ChangedStep, RunnerFactory, apply};
pub use checkpoint::{Checkpoint, Durability};
pub use events::{Event, NullReporter, Outcome, RecordingReporter, Reporter};
pub use facts::{
    Applied, Checked, ClusterSeen, CopiesVerified, CopyRun, CutoverSource, Late, PauseReason, ProgressDetail,
    RecordedSummary, StepSummary, StepWarning, TopicDone, WaitReason,
};
pub use lock::{LockError, LockInfo, PlanLock};
pub use outputs::{OutputsError, load as load_state};
pub use state::{State, StateError, StateStore, StepState, StepStatus};
pub use steps::mm2_translation::Mm2Start;
pub use steps::{ConnectConfig, Context, KafkaSteps, RunOptions, cluster_configs, connect_config};
pub use walker::{
    StepError, StepHandle, StepOutcome, StepResult, StepRunner, StopSignal, WalkOptions, WalkSummary,
};
