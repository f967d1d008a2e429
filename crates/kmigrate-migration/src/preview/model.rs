//! The typed result of `kmigrate plan`: what apply would do, step by step, in DAG order. It
//! serializes as the `--output json` document (`format_version` [`FORMAT_VERSION`]); the CLI
//! renders it as text or Markdown.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::compression::CopyCompression;

use crate::executor::StepStatus;
use crate::outputs::Mm2Start;

/// The version of the JSON document. Bump it on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct PlanPreview {
    pub format_version: u32,
    pub plan: String,
    /// No cluster was contacted (`--offline`): cluster-dependent values are resolved at apply.
    pub offline: bool,
    /// Bootstrap servers as written in the plan (`${VAR}`s unresolved).
    pub source: String,
    pub target: String,
    /// A checkpoint of an earlier apply was found.
    pub applied_before: bool,
    /// Every step of the DAG, dependencies first.
    pub steps: Vec<StepPreview>,
    pub summary: Summary,
}

/// What a step would change, shown as the mark in front of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// `+` something new on the target: a topic, copied records.
    Create,
    /// `~` something on the target changes: partitions, configs, a group's offsets.
    Change,
    /// `=` already as apply would make it.
    Unchanged,
    /// `!` apply cannot do it: an error, listed in `problems`.
    Impossible,
    /// Done according to the checkpoint: apply skips it.
    Done,
    /// apply waits here (cutover, drains, the end of the copies); nothing changes.
    Wait,
    /// Read-only checks (preflight, pattern expansion, verify).
    Check,
    /// `?` offline: apply decides against the clusters.
    Unknown,
}

impl Change {
    /// The one-character mark of the text and Markdown renderings.
    pub fn mark(self) -> &'static str {
        match self {
            Change::Create => "+",
            Change::Change => "~",
            Change::Unchanged => "=",
            Change::Impossible => "!",
            Change::Done => "✓",
            Change::Unknown => "?",
            Change::Wait | Change::Check => " ",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StepPreview {
    /// The step id (`topic:orders`), as `kmigrate status` and the checkpoint name it.
    pub step: String,
    pub change: Change,
    /// The step's status in the checkpoint, if apply ran before.
    pub status: Option<StepStatus>,
    /// Done, but the plan changed since: apply refuses without `--replan` (which runs it again).
    pub plan_changed: bool,
    /// What the checkpoint says the step did (done steps), in words: left empty here, set by
    /// whoever renders the preview from `done` (the CLI words it).
    pub done_summary: Option<String>,
    /// What the checkpoint says the step did (done steps), as recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done: Option<crate::facts::RecordedSummary>,
    /// What an earlier apply left of the step that apply acts on (not plain done): the renderer
    /// words it as the last of `notes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earlier: Option<Earlier>,
    #[serde(flatten)]
    pub action: Action,
    /// Why the step is impossible (`change: impossible`).
    pub problems: Vec<String>,
    /// Things worth knowing that do not stop apply.
    pub notes: Vec<String>,
}

/// What an earlier apply left of a step, and so what apply does with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Earlier {
    /// Done, but its definition in the plan changed since: apply refuses without `--replan`,
    /// which runs it again.
    DoneButChanged,
    /// Done, but `step`, upstream, changed: `--replan` runs this one again too.
    DoneUpstreamChanged { step: String },
    /// Failed (with its recorded error): apply runs it again.
    Failed {
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// Paused (a gate, a wait that timed out): apply continues it.
    Waiting,
    /// Left running (interrupted): apply continues it.
    Interrupted,
}

/// The details of a step, by kind (`"kind"` in JSON).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Action {
    Preflight(PreflightAction),
    Expand(ExpandAction),
    Topic(TopicAction),
    Copy(CopyAction),
    Connectors(ConnectorsAction),
    Mirror(MirrorAction),
    #[serde(rename = "stop-mirror")]
    StopMirror(StopMirrorAction),
    Cutover(CutoverAction),
    Synced(SyncedAction),
    Drain(DrainAction),
    Offsets(OffsetsAction),
    Verify(VerifyAction),
}

/// `connectors`: the MirrorMaker 2 connectors apply submits to Kafka Connect.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorsAction {
    /// The Connect REST URL as the plan writes it.
    pub url: String,
    /// Each connector's config as submitted: `${VAR}`s unresolved, secrets `[redacted]`. Topics
    /// matched by patterns are known once the source is read (offline: only named topics).
    pub connectors: Vec<kmigrate_connect::Connector>,
    /// Cluster properties MirrorMaker's Java clients have no equivalent for (not passed).
    pub untranslated: Vec<String>,
}

/// `mirror:<t>`: MirrorMaker 2 copies the topic; apply watches it to the source's end.
#[derive(Debug, Clone, Serialize)]
pub struct MirrorAction {
    pub topic: String,
    /// Records the source holds now (`None` offline).
    pub records: Option<u64>,
}

/// `stop-mirror`: the connectors apply deletes once every group is positioned.
#[derive(Debug, Clone, Serialize)]
pub struct StopMirrorAction {
    pub connectors: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PreflightAction {
    /// Topics and groups the plan names (patterns excluded).
    pub topics: usize,
    pub groups: usize,
    /// Brokers each cluster reported (`None` offline).
    pub source_brokers: Option<usize>,
    pub target_brokers: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExpandAction {
    pub pattern: String,
    /// The source topics it matches; `None` offline when no earlier apply recorded them.
    pub topics: Option<Vec<String>>,
    /// The topics come from the checkpoint (recorded by an earlier apply), not from the source now.
    pub recorded: bool,
    /// The entry's `partitions` and `config`, for every topic it matches.
    pub partitions: Option<u32>,
    pub config: BTreeMap<String, String>,
}

/// A topic's partition count and configs (topic overrides) on one cluster.
#[derive(Debug, Clone, Serialize)]
pub struct TopicShape {
    pub partitions: i32,
    pub replication_factor: usize,
    pub configs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TopicAction {
    pub topic: String,
    /// The source topic (`None`: absent on the source, or offline).
    pub source: Option<TopicShape>,
    /// The target topic as it is now (`None`: absent, or offline).
    pub target: Option<TopicShape>,
    /// The partition count apply creates or grows the topic to; `None` offline without a
    /// `partitions:` in the plan (the source's count).
    pub partitions: Option<i32>,
    /// Partitions added to an existing topic.
    pub partitions_change: Option<PartitionsChange>,
    /// The configs apply sets: all of them on create, those that differ on change.
    pub configs: Vec<ConfigChange>,
    /// Configs set on the target that neither the source nor the plan has (left alone).
    pub extra_configs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct PartitionsChange {
    pub from: i32,
    pub to: i32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConfigChange {
    pub name: String,
    /// The value on the target now (`None`: the topic does not exist, or nothing is known).
    pub from: Option<String>,
    /// `from` is the broker's or Kafka's default, not a topic override.
    pub from_default: bool,
    pub to: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CopyAction {
    pub topic: String,
    pub partitions: usize,
    /// Records on the source that are not copied yet (`None` offline).
    pub records: Option<u64>,
    /// Their key + value bytes (`None` offline).
    pub bytes: Option<u64>,
    /// `bytes` was measured over every record to copy, not estimated from a sample.
    pub bytes_exact: bool,
    /// Records an earlier apply already copied (checkpoint).
    pub copied: u64,
    /// The codec the copy writes with, by the rule of [`crate::compression`] (`None` offline when
    /// it depends on the source topic's `compression.type`).
    pub compression: Option<CopyCompression>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CutoverAction {
    /// `at`, `manual` or `detect`.
    pub mode: String,
    /// `cutover.at` as written.
    pub at: Option<String>,
    /// `cutover.detect.idle`.
    pub idle: Option<String>,
    /// `cutover.margin`, when not zero.
    pub margin: Option<String>,
    /// The cutover time T (margin applied) when known before apply: `at` plans, or recorded.
    pub time: Option<String>,
    /// T was recorded by an earlier apply.
    pub recorded: bool,
    /// `at` plans: whether that moment has passed (apply waits for it otherwise).
    pub passed: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SyncedAction {
    /// The copies apply waits for.
    pub copies: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyAction {
    pub groups: usize,
    pub copies: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct DrainAction {
    pub group: String,
    /// The group's partitions on the source (`None` offline).
    pub partitions: Option<usize>,
    /// Records the group has still to consume on the source (`None` offline).
    pub lag: Option<i64>,
    /// Partitions with lag, most behind first.
    pub behind: Vec<PartitionLag>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: i32,
    /// `None`: the group committed nothing there (it consumes from the earliest retained).
    pub committed: Option<i64>,
    pub end: i64,
    pub lag: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct OffsetsAction {
    pub group: String,
    /// `broker-managed` (committed on the target) or `self-stored` (written to `export`).
    pub store: String,
    pub export: Option<String>,
    /// `latest`, `earliest`, `by-time`, `exact-from-map` or `from-file`.
    pub rule: String,
    /// The rule as a phrase: `by time 2026-11-25T02:00:00+08:00`, `by time of cutover`, ...
    pub rule_text: String,
    /// The cutover time the rule uses, when known.
    pub cutover_time: Option<String>,
    /// Per partition: the current value → what apply commits or exports.
    pub partitions: Vec<OffsetRow>,
    /// When the partitions themselves are not known before apply (offline), why.
    pub resolved_at_apply: Option<String>,
    /// Copied records the group will read again (exact translation), when computed.
    pub duplicates: Option<u64>,
    /// MirrorMaker 2's own translation of the group, when its checkpoints are on the target (the
    /// renderer words it as the first of `notes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirrormaker2: Option<Mm2Preview>,
}

/// Where MirrorMaker 2's checkpoints would start a group on the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mm2Preview {
    /// Beside kmigrate's start, decided by an earlier apply (`partitions`: how many it decided).
    Beside { starts: Vec<Mm2Start>, partitions: usize },
    /// Alone: kmigrate's exact start is found at apply, by aligning the logs.
    Alone { checkpoints: Vec<Mm2Checkpoint> },
}

/// One partition's checkpoint: the group's source offset MirrorMaker translated and where it
/// would start the group on the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mm2Checkpoint {
    pub topic: String,
    pub partition: i32,
    pub upstream: i64,
    pub mirrormaker: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct OffsetRow {
    pub topic: String,
    pub partition: i32,
    /// The group's committed offset on the target (broker-managed) or the offset in the export
    /// file (self-stored) now; `None`: none.
    pub current: Option<i64>,
    /// What apply commits or exports; `None` when only apply can know (`resolved_at_apply`).
    pub offset: Option<i64>,
    /// The rule that produced it, e.g. `earliest (retention trimmed 0..1200)`, or, unresolved,
    /// what apply resolves it by: `by time of cutover`.
    pub rule: String,
    pub resolved_at_apply: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub steps: usize,
    pub topics_to_create: usize,
    pub topics_to_change: usize,
    pub topics_unchanged: usize,
    /// Offline: topics apply creates or verifies, depending on the target.
    pub topics_to_create_or_verify: usize,
    /// Copies with records to copy (offline: every copy not done).
    pub copies: usize,
    /// Records to copy over all copies (`None` offline).
    pub records_to_copy: Option<u64>,
    /// Groups whose offsets apply commits or exports.
    pub groups_to_reset: usize,
    pub impossible: usize,
    pub steps_done: usize,
    /// Whether apply would change anything on either cluster or write an export
    /// (`--detailed-exitcode`).
    pub changes: bool,
}
