//! What steps report, as data: what a finished step did ([`StepSummary`]), why a step paused
//! ([`PauseReason`]), what it waits for ([`WaitReason`]), how far it got ([`ProgressDetail`]) and
//! what the operator should know ([`StepWarning`]). No sentence is built here: the CLI words
//! every one of them (`kmigrate-cli/src/words/`), as text, JSON lines and progress bars.
//!
//! A step's summary is also recorded in the state file (`StepState::summary`), so these types
//! deserialize too; a state file written before they existed holds the summary as text
//! ([`RecordedSummary::Text`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use crate::compression::CopyCompression;
use crate::strategy::Rule;

/// A migration's facts, as the executor carries them: `kmigrate_executor::Event<Migration>` is an
/// event of a migration's apply, `kmigrate_executor::State<Migration>` its state file (aliased in
/// [`crate::executor`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration;

impl kmigrate_executor::Facts for Migration {
    type Summary = StepSummary;
    type Recorded = RecordedSummary;
    type Pause = PauseReason;
    type Wait = WaitReason;
    type Progress = ProgressDetail;
    type Warning = StepWarning;
}

/// What a finished step did, per step kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepSummary {
    /// Both clusters answered.
    Preflight { source: ClusterSeen, target: ClusterSeen },
    /// `expand:<pattern>`: how many source topics the pattern matched.
    Expand { pattern: String, topics: usize },
    /// `topic:<t>`.
    Topic { change: TopicDone },
    /// `connectors`: MirrorMaker 2's connectors submitted to Kafka Connect at `url` (each with
    /// whether it was created), every task running.
    Connectors { url: String, connectors: Vec<(String, bool)> },
    /// `mirror:<t>`: MirrorMaker 2 copied the topic to the source's end after the cutover.
    Mirror { topic: String, records: u64, partitions: usize },
    /// `stop-mirror`: MirrorMaker 2's connectors deleted from Kafka Connect at `url`, and those
    /// already gone.
    StopMirror { url: String, deleted: Vec<String>, absent: Vec<String> },
    /// `copy:<t>`: the copy's totals (all runs), and this run's when it copied anything.
    Copy {
        records: u64,
        bytes: u64,
        partitions: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        this_run: Option<CopyRun>,
    },
    /// `cutover`: the recorded cutover time T (margin applied) and where it came from.
    Cutover { time: DateTime<FixedOffset>, from: CutoverSource, margin_ms: u64 },
    /// `synced`: every copy has finished.
    Synced,
    /// `drain:<g>`: the group consumed everything on the source.
    Drain { group: String, partitions: usize },
    /// `offsets:<g>`: the start offsets set, by which rule, and how.
    Offsets {
        group: String,
        /// Partitions given an offset.
        partitions: usize,
        rule: Rule,
        applied: Applied,
        /// Partitions with no record at or after T, started at their end.
        #[serde(default)]
        at_end: usize,
        /// Copied records the group reads again.
        #[serde(default)]
        duplicates: u64,
        /// Partitions left without a committed offset (`topic/partition`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        uncommitted: Vec<String>,
        /// A strict group of a MirrorMaker 2 plan: where MirrorMaker's checkpoints would have
        /// started it, per partition, beside kmigrate's start.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mirrormaker2: Option<Vec<crate::outputs::Mm2Start>>,
    },
    /// `verify`: what was checked, each found as it should be.
    Verify { checked: Vec<Checked> },
}

/// A cluster as preflight found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSeen {
    pub bootstrap_servers: String,
    pub brokers: usize,
    /// The topics it holds (counted on the source only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics: Option<usize>,
}

/// What `topic:<t>` did to the target topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum TopicDone {
    Created {
        partitions: i32,
        configs: usize,
    },
    /// Partitions added (`(before, after)`) and configs set (name → (before, after)).
    Updated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        partitions: Option<(i32, i32)>,
        #[serde(default)]
        configs: BTreeMap<String, (Option<String>, String)>,
    },
    /// It already existed as wanted.
    Unchanged {
        partitions: i32,
    },
    /// A run before this one created it (found on creating it again), as wanted.
    FoundAsWanted,
}

/// The records one run of a copy wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyRun {
    pub records: u64,
    /// How long the run took.
    pub seconds: f64,
    pub compression: CopyCompression,
}

/// Where the cutover time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CutoverSource {
    /// The plan's `cutover.at`.
    PlanAt,
    /// `--cutover-at` given with the approval.
    CutoverAtFlag,
    /// Just after the newest record on the source when the cutover was approved.
    NewestAtApproval,
    /// Just after the newest record on the source once it was idle for `idle_ms`.
    NewestAfterIdle { idle_ms: u64 },
}

/// How `offsets:<g>` applied its offsets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Applied {
    /// Committed to the group on the target.
    Committed,
    /// The group on the target already had them.
    AlreadyCommitted,
    /// Written to the export files (CSV and JSON).
    Exported { csv: PathBuf, json: PathBuf },
    /// The export files already held them.
    ExportUnchanged { csv: PathBuf, json: PathBuf },
}

impl Applied {
    /// As recorded in the step's outputs (`applied`).
    pub fn recorded(&self) -> crate::outputs::AppliedTo {
        use crate::outputs::AppliedTo;
        match self {
            Applied::Committed => AppliedTo::Committed,
            Applied::Exported { .. } => AppliedTo::Exported,
            Applied::AlreadyCommitted | Applied::ExportUnchanged { .. } => AppliedTo::Unchanged,
        }
    }
}

/// One thing `verify` checked and found as it should be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Checked {
    /// The group's committed offsets on the target; `ahead` partitions consumed further already.
    GroupCommitted { group: String, offsets: usize, ahead: usize },
    /// The group's export file holds the computed offsets.
    GroupExported { group: String, path: PathBuf },
    /// The copies match the source.
    Copies(CopiesVerified),
    /// Records reached the source after the copy finished (no strict group: not a failure).
    RecordsAfterCopy { late: Vec<Late> },
}

/// What the comparison of the copies with the source found (every difference fails verify).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopiesVerified {
    /// Copied records held on both sides, compared and equal.
    pub matched: u64,
    pub partitions: usize,
    /// Topics compared without timestamps: their target topic stamps records with the broker's
    /// clock (`message.timestamp.type=LogAppendTime`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stamped_topics: Vec<String>,
    /// Of `matched`, records compared without their timestamp (none, or 0, on the source).
    #[serde(default)]
    pub unstamped: u64,
    /// Copied records the source no longer holds (compaction, retention).
    #[serde(default)]
    pub source_gone: u64,
    /// Copies the target no longer holds.
    #[serde(default)]
    pub target_gone: u64,
    /// Partitions whose target was read against the copy's digests (not the source).
    #[serde(default)]
    pub by_digest: usize,
}

/// Records a partition of the source received after the copy of it finished: they are not on the
/// target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Late {
    pub topic: String,
    pub partition: i32,
    pub records: u64,
    /// The source offsets they sit in: `from..to` (end exclusive).
    pub from: i64,
    pub to: i64,
    /// The newest record timestamp among them (ms), if any has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_ms: Option<i64>,
}

/// A step's summary as the state file holds it: typed, or the text of a state file written
/// before summaries were typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RecordedSummary {
    Typed(StepSummary),
    Text(String),
}

impl From<StepSummary> for RecordedSummary {
    fn from(s: StepSummary) -> Self {
        RecordedSummary::Typed(s)
    }
}

/// Why a step stopped without failing; the next apply continues it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PauseReason {
    /// The manual cutover gate: switch the producers, then approve (`--approve cutover`).
    CutoverGate {
        /// The target's bootstrap servers, as the plan writes them.
        target: String,
        /// The plan copies data, and the copies caught up with the source before the gate.
        copies_caught_up: bool,
        /// MirrorMaker 2 copies the data, and it caught up with the source before the gate.
        #[serde(default)]
        mirror_caught_up: bool,
    },
    /// `cutover.at` has not come when `--wait-timeout` passed.
    CutoverNotYet { at: DateTime<FixedOffset> },
    /// `cutover: detect`: the source was not idle for `idle_ms` before `--wait-timeout` passed.
    SourceNotIdle { idle_ms: u64 },
    /// `connectors`: MirrorMaker 2's tasks have not all started on Kafka Connect at `url` when
    /// `--wait-timeout` passed (the connectors are submitted); `waiting` says how each stands.
    MirrorTasksNotRunning { url: String, waiting: Vec<ConnectorWaiting> },
    /// `drain:<g>`: the group still lags on the source when `--wait-timeout` passed.
    GroupLagging {
        group: String,
        /// Total lag, in records.
        lag: i64,
        /// The first partitions with lag, and their lag.
        partitions: Vec<(String, i64)>,
    },
}

/// What a running step waits for, outside kmigrate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WaitReason {
    /// `cutover.at` is `left_ms` away.
    CutoverTime { at: DateTime<FixedOffset>, left_ms: u64 },
    /// These copies have not caught up with the source yet (before the cutover gate).
    CopiesCatchingUp { copies: Vec<String> },
    /// MirrorMaker 2's tasks have not all started on Kafka Connect at `url`.
    MirrorTasks { url: String, waiting: Vec<ConnectorWaiting> },
}

/// A MirrorMaker 2 connector that does not run yet, as Kafka Connect reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorWaiting {
    pub name: String,
    /// The connector's state (`UNASSIGNED`, `PAUSED`, ...); `None`: Kafka Connect does not list
    /// it yet.
    #[serde(default)]
    pub state: Option<String>,
}

/// What a progress report counts, beyond `done` / `total`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProgressDetail {
    /// A copy: records and bytes copied (all runs), the rates of this run, the records the source
    /// holds not read yet and the records the target has not acknowledged yet.
    Copy {
        records: u64,
        bytes: u64,
        records_per_sec: f64,
        bytes_per_sec: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lag: Option<u64>,
        awaiting: u64,
    },
    /// A drain: the group's lag on the source.
    GroupLag { group: String, lag: i64, partitions: usize },
    /// `cutover: detect`: how long the source has been idle, of how long it must be.
    SourceIdle { quiet_ms: u64, idle_ms: u64 },
    /// `mirror:<t>`: the rate at which MirrorMaker 2 copies in this run, and the records it has
    /// not copied yet.
    Mirror { records_per_sec: f64, lag: u64 },
}

/// Something the operator should know; the step goes on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepWarning {
    /// `--replan`: this done step runs again and decides anew, because its definition changed
    /// (`because_of` is `None`) or because it depends on a step that changed.
    Rerun {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        because_of: Option<String>,
    },
    /// A source partition's last record is dated ahead of kmigrate's clock: ignored for T.
    FutureDatedRecord { partition: String, timestamp_ms: i64, ahead_ms: i64 },
    /// A broker-managed group has committed offsets only for topics outside the plan.
    OffsetsOutsidePlan { group: String },
    /// A `pattern:` entry matches no topic on the source.
    PatternMatchesNothing { pattern: String },
    /// The target topic has configs neither the source nor the plan has: left as they are.
    ExtraTargetConfigs { topic: String, configs: BTreeMap<String, String> },
    /// Records acknowledged before a kill but not checkpointed, found on the target.
    RecoveredRecords { records: u64 },
    /// The copy's codec differs from the target topic's `compression.type`.
    Recompressed { topic: String, codec: String, topic_codec: String },
    /// The logs of a partition cannot be aligned: the group starts by the cutover time instead.
    AlignmentFallback { group: String, partition: String, source_offset: i64, target_offset: i64 },
    /// Partitions left without a committed offset (no commit there on the source).
    Uncommitted { partitions: Vec<String> },
    /// Whether the group has active members on the target could not be verified.
    MembershipUnverified { group: String, reason: String },
    /// Records reached the source after the copy finished.
    RecordsAfterCopy { late: Vec<Late> },
    /// A librdkafka property of the plan that MirrorMaker 2's Java clients have no equivalent
    /// for: not passed to the connectors.
    UntranslatedProperty { property: String },
    /// A connector was deleted from Kafka Connect outside kmigrate: submitted again.
    ConnectorGone { name: String, url: String },
}

/// Records the source received after the copy finished, in words: how many, where, and the
/// newest. One sentence for verify's failure (a strict group) and the CLI's warning and summary
/// (failures are still worded by the migration).
pub fn late_records(late: &[Late]) -> String {
    let records: u64 = late.iter().map(|l| l.records).sum();
    let parts: Vec<String> = late
        .iter()
        .map(|l| format!("{}/{} offsets {}..{} ({})", l.topic, l.partition, l.from, l.to, l.records))
        .collect();
    let newest = late
        .iter()
        .filter_map(|l| l.newest_ms)
        .max()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| format!("; the newest is stamped {}", t.to_rfc3339()))
        .unwrap_or_default();
    format!(
        "{records} records reached the source after the copy finished and are not on the target: {}{newest}",
        parts.join(", ")
    )
}
