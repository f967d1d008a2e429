//! A topic's copy (`copy:<t>`): the checkpointed offset map, digests and what the copy's reader of
//! the target read, which the copy resumes from and verify, the offsets and `offsets translate`
//! read.

use std::collections::BTreeMap;

use kmigrate_dag::StepKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::read::{Outputs, OutputsError, parse};
use crate::executor::State;
use crate::offset_map::PartitionMap;
use crate::steps::copy::digest;

/// The checkpointed state of one topic's copy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CopyState {
    /// Keyed by partition number.
    pub partitions: BTreeMap<i32, PartitionMap>,
    #[serde(default)]
    pub bytes: u64,
    /// Every partition has been copied to its end at least once: the copy keeps up with the
    /// source, so producers can be switched (the manual cutover gate waits for this).
    #[serde(default)]
    pub caught_up: bool,
    /// Per partition, digests of the records the target acknowledged, for verify (see
    /// `steps::copy::digest`). Records a resumed copy found on the target have none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub digests: BTreeMap<i32, digest::PartitionDigest>,
    /// Per partition, what the copy's reader of the target read and folded while it copied (see
    /// `copy::follow`): verify reads only the target after it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub target_read: BTreeMap<i32, digest::TargetRead>,
    /// The codec this copy writes with (the last run's; see [`crate::compression`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
}

impl Outputs for CopyState {}

impl CopyState {
    pub fn copied(&self) -> u64 {
        self.partitions.values().map(PartitionMap::copied).sum()
    }

    /// The source offset the copy of `partition` continues from (its end, once finished): after
    /// its last recorded copy, else the log start, and never before the log start (`w`: the
    /// source's watermarks now).
    pub fn resume_offset(&self, partition: i32, w: kmigrate_kafka::Watermarks) -> i64 {
        self.partitions.get(&partition).and_then(|m| m.next).unwrap_or(w.earliest).max(w.earliest)
    }
}

/// The step id of a topic's copy.
pub fn copy_step(topic: &str) -> String {
    format!("{}:{topic}", StepKind::Copy)
}

/// The copy state of `topic` in `state`: empty before its copy recorded anything.
pub fn copy(state: &State, topic: &str) -> Result<CopyState, OutputsError> {
    let id = copy_step(topic);
    match state.step(&id) {
        Some(st) => copy_in(&id, &st.outputs),
        None => Ok(CopyState::default()),
    }
}

/// The copy state in the outputs of the copy step `step`.
pub fn copy_in(step: &str, outputs: &Value) -> Result<CopyState, OutputsError> {
    Ok(parse::<CopyState>(step, outputs)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_resumes_after_its_last_copy_never_before_the_log_start() {
        let w = |earliest, latest| kmigrate_kafka::Watermarks { earliest, latest };
        let mut map = PartitionMap::default();
        map.record(10, 0);
        map.record(11, 1);
        let copy = CopyState { partitions: [(0, map)].into(), ..CopyState::default() };
        assert_eq!(copy.resume_offset(0, w(0, 20)), 12, "after the last copy");
        assert_eq!(copy.resume_offset(0, w(15, 20)), 15, "retention moved the log start past it");
        assert_eq!(copy.resume_offset(1, w(3, 20)), 3, "nothing copied: the log start");
    }
}
