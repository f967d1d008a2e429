//! The outputs of the other step kinds: what each records when done, read back by `check` when
//! the state is loaded and by whoever needs them (the cutover time by the offsets and the
//! preview, an expansion by apply, whether MirrorMaker 2 caught up by the cutover gate).

use chrono::{DateTime, FixedOffset};
use kmigrate_dag::StepKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::read::{Outputs, OutputsError, parse};
use crate::executor::State;
use crate::facts::{Checked, CutoverSource, Late};
use crate::rules::topic::{Desired, TopicChange};

/// `preflight`: what each cluster answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreflightOutputs {
    pub source: ClusterOutputs,
    pub target: ClusterOutputs,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterOutputs {
    pub cluster_id: Option<String>,
    pub brokers: usize,
}

/// `expand:<pattern>`: the source's topics the pattern matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpandOutputs {
    pub topics: Vec<String>,
}

/// `topic:<t>`: what the target topic must be and the change made. A topic found created by an
/// earlier, interrupted run records only `desired`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicOutputs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_partitions: Option<i32>,
    pub desired: Desired,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<TopicChange>,
}

/// `drain:<g>`: the group reached the end of these partitions of these topics on the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainOutputs {
    pub partitions: usize,
    pub topics: Vec<String>,
}

/// `connectors`: the MirrorMaker 2 connectors running on the Kafka Connect at `url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorsOutputs {
    pub connectors: Vec<String>,
    pub url: String,
}

/// What a `mirror:<t>` step records: whether MirrorMaker 2 has copied the topic to the source's
/// end (the manual cutover gate waits for it), and, once done, how many records it copied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorState {
    #[serde(default)]
    pub caught_up: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied: Option<u64>,
}

/// `stop-mirror`: the connectors deleted, and those already gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopMirrorOutputs {
    pub deleted: Vec<String>,
    pub absent: Vec<String>,
}

/// `cutover`: the cutover time T (RFC 3339, and in ms), where it came from, the newest source
/// record it was taken after (when from the records) and the margin taken off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutoverOutputs {
    #[serde(with = "rfc3339")]
    pub time: DateTime<FixedOffset>,
    pub time_ms: i64,
    pub source: CutoverSource,
    pub newest_source_record_ms: Option<i64>,
    pub margin_ms: u64,
}

/// `verify`: what it found as it should be, and the records the source received after the copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyOutputs {
    pub checked: Vec<Checked>,
    pub late: Vec<Late>,
}

impl Outputs for PreflightOutputs {}
impl Outputs for ExpandOutputs {}
impl Outputs for TopicOutputs {}
impl Outputs for DrainOutputs {}
impl Outputs for ConnectorsOutputs {}
impl Outputs for MirrorState {}
impl Outputs for StopMirrorOutputs {}
impl Outputs for CutoverOutputs {}
impl Outputs for VerifyOutputs {}

/// What the `preflight` step recorded, if anything yet.
pub fn preflight_in(outputs: &Value) -> Result<Option<PreflightOutputs>, OutputsError> {
    parse(StepKind::Preflight.as_str(), outputs)
}

/// The topics the expand step `step` recorded, if it recorded them.
pub fn expanded_in(step: &str, outputs: &Value) -> Result<Option<Vec<String>>, OutputsError> {
    Ok(parse::<ExpandOutputs>(step, outputs)?.map(|e| e.topics))
}

/// What the topic step `step` recorded, if anything yet.
pub fn topic_in(step: &str, outputs: &Value) -> Result<Option<TopicOutputs>, OutputsError> {
    parse(step, outputs)
}

/// What the drain step `step` recorded, if anything yet.
pub fn drain_in(step: &str, outputs: &Value) -> Result<Option<DrainOutputs>, OutputsError> {
    parse(step, outputs)
}

/// What the `connectors` step recorded, if anything yet.
pub fn connectors_in(outputs: &Value) -> Result<Option<ConnectorsOutputs>, OutputsError> {
    parse(StepKind::Connectors.as_str(), outputs)
}

/// The state in the outputs of the mirror step `step`: nothing yet before it recorded anything.
pub fn mirror_in(step: &str, outputs: &Value) -> Result<MirrorState, OutputsError> {
    Ok(parse::<MirrorState>(step, outputs)?.unwrap_or_default())
}

/// What the `stop-mirror` step recorded, if anything yet.
pub fn stop_mirror_in(outputs: &Value) -> Result<Option<StopMirrorOutputs>, OutputsError> {
    parse(StepKind::StopMirror.as_str(), outputs)
}

/// The cutover time T recorded by the `cutover` step, if it recorded one.
pub fn cutover_time(state: &State) -> Result<Option<DateTime<FixedOffset>>, OutputsError> {
    match state.step(StepKind::Cutover.as_str()) {
        Some(st) => cutover_time_in(&st.outputs),
        None => Ok(None),
    }
}

/// The cutover time in the `cutover` step's outputs.
pub fn cutover_time_in(outputs: &Value) -> Result<Option<DateTime<FixedOffset>>, OutputsError> {
    Ok(cutover_in(outputs)?.map(|c| c.time))
}

/// What the `cutover` step recorded, if anything yet.
pub fn cutover_in(outputs: &Value) -> Result<Option<CutoverOutputs>, OutputsError> {
    parse(StepKind::Cutover.as_str(), outputs)
}

/// What the `verify` step recorded, if anything yet.
pub fn verify_in(outputs: &Value) -> Result<Option<VerifyOutputs>, OutputsError> {
    parse(StepKind::Verify.as_str(), outputs)
}

/// T as the state file holds it: an RFC 3339 string (`2025-11-30T00:00:00.020+00:00`).
mod rfc3339 {
    use chrono::{DateTime, FixedOffset};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<FixedOffset>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<FixedOffset>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map_err(|e| serde::de::Error::custom(format!("`time` {text:?}: {e}")))
    }
}
