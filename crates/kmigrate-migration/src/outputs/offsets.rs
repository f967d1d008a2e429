//! A group's offsets (`offsets:<g>`): the decision, saved before it is applied (a re-run applies
//! the same offsets), how it was applied, and MirrorMaker 2's own translation beside it.

use std::collections::BTreeMap;

use kmigrate_dag::StepKind;
use kmigrate_kafka::TopicPartition;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::read::{Outputs, OutputsError, parse};
use crate::executor::State;
use crate::strategy::Rule;

/// What an `offsets:<g>` step records: its decision first, then, once applied, how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OffsetsOutputs {
    pub decided: Decided,
    /// Absent until the decision is applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied: Option<AppliedTo>,
    /// A strict group of a MirrorMaker 2 plan: where MirrorMaker's checkpoints would start it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirrormaker2: Option<Vec<Mm2Start>>,
}

impl Outputs for OffsetsOutputs {}

/// How the decided offsets were applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppliedTo {
    /// Committed to the group on the target.
    Committed,
    /// Written to the export files.
    Exported,
    /// The target group or the export files already held them.
    Unchanged,
}

/// What the step decided, as saved in the checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decided {
    pub rule: Rule,
    pub cutover_time: String,
    pub partitions: Vec<PartitionDecision>,
    /// Copied records the group will read again (exact translation with interleaved records).
    #[serde(default)]
    pub duplicates: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionDecision {
    pub topic: String,
    pub partition: i32,
    /// `None`: left without a committed offset (see `strategy::Decision`).
    #[serde(default)]
    pub offset: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Decided {
    /// The offsets to commit or export (partitions left uncommitted are not in it).
    pub fn offsets(&self) -> BTreeMap<TopicPartition, i64> {
        self.partitions
            .iter()
            .filter_map(|p| Some((TopicPartition::new(p.topic.clone(), p.partition), p.offset?)))
            .collect()
    }

    /// Partitions left without a committed offset.
    pub fn uncommitted(&self) -> Vec<TopicPartition> {
        self.partitions
            .iter()
            .filter(|p| p.offset.is_none())
            .map(|p| TopicPartition::new(p.topic.clone(), p.partition))
            .collect()
    }
}

/// One partition: kmigrate's start and MirrorMaker 2's (see `steps::mm2_translation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mm2Start {
    pub topic: String,
    pub partition: i32,
    /// The group's committed offset on the source that MirrorMaker translated.
    pub upstream: i64,
    /// Where MirrorMaker's checkpoint would start the group on the target.
    pub mirrormaker: i64,
    /// Where kmigrate starts it (`None`: left uncommitted).
    pub kmigrate: Option<i64>,
}

impl Mm2Start {
    /// Records MirrorMaker's start would skip (> 0) or read again (< 0), against kmigrate's.
    pub fn difference(&self) -> Option<i64> {
        Some(self.mirrormaker - self.kmigrate?)
    }
}

/// The offsets decided for `group`, if its `offsets:` step recorded them.
pub fn decided(state: &State, group: &str) -> Result<Option<Decided>, OutputsError> {
    let id = format!("{}:{group}", StepKind::Offsets);
    match state.step(&id) {
        Some(st) => decided_in(&id, &st.outputs),
        None => Ok(None),
    }
}

/// The decided offsets in the outputs of the offsets step `step`.
pub fn decided_in(step: &str, outputs: &Value) -> Result<Option<Decided>, OutputsError> {
    Ok(offsets_in(step, outputs)?.map(|o| o.decided))
}

/// What the offsets step `step` recorded, if anything yet.
pub fn offsets_in(step: &str, outputs: &Value) -> Result<Option<OffsetsOutputs>, OutputsError> {
    parse(step, outputs)
}
