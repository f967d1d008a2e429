//! What the preview knows before reading the clusters (the plan, the checkpoint), and the
//! helpers both `read` (what to read) and `build` (what to predict) use: neither imports the other.

use chrono::{DateTime, FixedOffset};
use kmigrate_kafka::{ClusterMetadata, TopicPartition};
use kmigrate_plan::{CutoverMode, GroupSpec};

use super::PreviewInput;
use crate::executor::{State, StepStatus};
use crate::outputs;
use crate::steps::copy::CopyState;
use crate::steps::offsets::Decided;

/// The partitions of `topics` (those the metadata knows), in order.
pub(super) fn partitions_of(md: &ClusterMetadata, topics: &[&str]) -> Vec<TopicPartition> {
    topics
        .iter()
        .filter_map(|t| md.topics.get(*t))
        .flat_map(|info| info.partitions.iter().map(|p| TopicPartition::new(info.name.clone(), p.id)))
        .collect()
}

/// Whether the checkpoint records the step as done.
pub(super) fn is_done(state: &State, id: &str) -> bool {
    state.step(id).is_some_and(|s| s.status == StepStatus::Done)
}

/// The copy checkpoint of a topic (empty before the copy started). The preview checked every
/// recorded output before it started ([`super::preview`]).
pub(super) fn copy_state(state: Option<&State>, topic: &str) -> CopyState {
    state.map(|s| outputs::copy(s, topic).expect(CHECKED)).unwrap_or_default()
}

const CHECKED: &str = "recorded outputs are checked when the preview starts";

/// The cutover time T, when known before apply: recorded by an earlier apply, or `cutover.at`
/// minus the margin.
pub(super) fn cutover_time(input: &PreviewInput<'_>) -> Option<DateTime<FixedOffset>> {
    let state = input.state;
    if let Some(step) = state.and_then(|s| s.step("cutover")).filter(|s| s.status == StepStatus::Done) {
        return outputs::cutover_time_in(&step.outputs).expect(CHECKED);
    }
    match &input.plan.cutover.mode {
        CutoverMode::At(at) => Some(crate::rules::cutover::with_margin(*at, input.plan.cutover.margin)),
        CutoverMode::Manual | CutoverMode::Detect { .. } => None,
    }
}

/// The decision an earlier apply saved for the group (apply commits exactly that).
pub(super) fn saved_decision(input: &PreviewInput<'_>, group: &GroupSpec) -> Option<Decided> {
    outputs::decided(input.state?, &group.id).expect(CHECKED)
}

/// Whether the group's offsets are already decided (so nothing needs to be read for them).
pub(super) fn decision_known(input: &PreviewInput<'_>, group: &GroupSpec) -> bool {
    saved_decision(input, group).is_some()
}
