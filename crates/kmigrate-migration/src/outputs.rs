//! The recorded outputs that later steps, re-runs, `status`, `plan` and `offsets translate` rely
//! on, read through one typed accessor per step kind: the copy's offset map (`copy:<t>`), a
//! group's decided offsets (`offsets:<g>`), the cutover time (`cutover`), a pattern's topics
//! (`expand:<p>`) and whether MirrorMaker 2 caught up with a topic (`mirror:<t>`).
//!
//! Outputs a step has not recorded yet read as "nothing yet" (an empty copy, no decision). Outputs
//! that are present but unreadable are an error, never a default: a copy checkpoint read as empty
//! would copy the whole topic again, a lost decision would resolve "latest" anew. [`load`] checks
//! every recorded output when the state file is read, so a damaged file stops `apply`, `plan`,
//! `status` and `offsets translate` before anything is done (an internal error: exit 70).

use chrono::{DateTime, FixedOffset};
use kmigrate_dag::StepKind;
use serde::de::DeserializeOwned;
use serde_json::Value;

use std::collections::BTreeMap;

use kmigrate_kafka::TopicPartition;
use serde::{Deserialize, Serialize};

use crate::executor::{State, StateError, StateStore, StepError};
use crate::offset_map::PartitionMap;
use crate::steps::copy::digest;
use crate::strategy::Rule;

// --- the typed outputs ---------------------------------------------------------------------------

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
    /// [`digest`](crate::steps::copy::digest)). Records a resumed copy found on the target have none.
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

/// What a `mirror:<t>` step records: whether MirrorMaker 2 has copied the topic to the source's
/// end (the manual cutover gate waits for it), and, once done, how many records it copied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorState {
    #[serde(default)]
    pub caught_up: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied: Option<u64>,
}

// --- reading them --------------------------------------------------------------------------------

/// Recorded outputs that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the recorded outputs of step {step} are unreadable: {reason}")]
pub struct OutputsError {
    pub step: String,
    pub reason: String,
}

/// A step that finds its recorded outputs unreadable fails: an internal error, never a default.
impl From<OutputsError> for StepError {
    fn from(e: OutputsError) -> Self {
        StepError::fatal(format!("internal error: {e}"))
    }
}

/// Loads the state file and checks every recorded output (see the module docs).
pub fn load(store: &StateStore) -> Result<Option<State>, StateError> {
    let Some(state) = store.load()? else { return Ok(None) };
    check(&state).map_err(|e| StateError::Outputs { path: store.path(), step: e.step, reason: e.reason })?;
    Ok(Some(state))
}

/// Reads every output this module knows how to read; the first unreadable one is the error.
pub fn check(state: &State) -> Result<(), OutputsError> {
    for (id, st) in &state.steps {
        match id.split_once(':').map_or(id.as_str(), |(kind, _)| kind) {
            k if k == StepKind::Copy.as_str() => copy_in(id, &st.outputs).map(drop)?,
            k if k == StepKind::Offsets.as_str() => decided_in(id, &st.outputs).map(drop)?,
            k if k == StepKind::Cutover.as_str() => cutover_time_in(&st.outputs).map(drop)?,
            k if k == StepKind::Expand.as_str() => expanded_in(id, &st.outputs).map(drop)?,
            k if k == StepKind::Mirror.as_str() => mirror_in(id, &st.outputs).map(drop)?,
            _ => {}
        }
    }
    Ok(())
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

/// The outputs recording `copy` (what the copy step saves).
pub fn copy_value(copy: &CopyState) -> Value {
    serde_json::to_value(copy).expect("a copy state serializes")
}

/// The state in the outputs of the mirror step `step`: nothing yet before it recorded anything.
pub fn mirror_in(step: &str, outputs: &Value) -> Result<MirrorState, OutputsError> {
    Ok(parse::<MirrorState>(step, outputs)?.unwrap_or_default())
}

/// The outputs recording `mirror` (what the mirror step saves).
pub fn mirror_value(mirror: &MirrorState) -> Value {
    serde_json::to_value(mirror).expect("a mirror state serializes")
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
    match object(step, outputs)?.and_then(|o| o.get("decided")) {
        None => Ok(None),
        Some(d) => parse(step, d),
    }
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
    let step = StepKind::Cutover.as_str();
    let Some(time) = object(step, outputs)?.and_then(|o| o.get("time")) else { return Ok(None) };
    let bad = |reason: String| OutputsError { step: step.to_string(), reason };
    let text = time.as_str().ok_or_else(|| bad(format!("`time` is {time}, not an RFC 3339 string")))?;
    DateTime::parse_from_rfc3339(text).map(Some).map_err(|e| bad(format!("`time` {text:?}: {e}")))
}

/// The topics the expand step `step` recorded, if it recorded them.
pub fn expanded_in(step: &str, outputs: &Value) -> Result<Option<Vec<String>>, OutputsError> {
    match object(step, outputs)?.and_then(|o| o.get("topics")) {
        None => Ok(None),
        Some(t) => parse(step, t),
    }
}

/// `None` for null (nothing recorded yet), an error for anything but an object.
fn object<'a>(
    step: &str,
    outputs: &'a Value,
) -> Result<Option<&'a serde_json::Map<String, Value>>, OutputsError> {
    match outputs {
        Value::Null => Ok(None),
        Value::Object(o) => Ok(Some(o)),
        other => {
            Err(OutputsError { step: step.to_string(), reason: format!("expected an object, found {other}") })
        }
    }
}

fn parse<T: DeserializeOwned>(step: &str, value: &Value) -> Result<Option<T>, OutputsError> {
    if value.is_null() {
        return Ok(None);
    }
    serde_json::from_value(value.clone())
        .map(Some)
        .map_err(|e| OutputsError { step: step.to_string(), reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::executor::StepState;

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

    fn with(step: &str, outputs: Value) -> State {
        let mut state = State::new("p");
        let mut st = StepState::new("f".into(), Value::Null);
        st.outputs = outputs;
        state.steps.insert(step.into(), st);
        state
    }

    #[test]
    fn nothing_recorded_reads_as_nothing_yet() {
        let state = with("copy:orders", Value::Null);
        assert_eq!(copy(&state, "orders").unwrap(), CopyState::default());
        assert_eq!(copy(&state, "other").unwrap(), CopyState::default());
        assert_eq!(decided(&state, "billing").unwrap(), None);
        assert_eq!(cutover_time(&state).unwrap(), None);
        assert_eq!(mirror_in("mirror:orders", &Value::Null).unwrap(), MirrorState::default());
        check(&state).unwrap();
    }

    #[test]
    fn a_recorded_copy_reads_back() {
        let state = with("copy:orders", json!({"partitions": {"0": {"next": 5, "runs": [[0, 0, 5]]}}}));
        let copy = copy(&state, "orders").unwrap();
        assert_eq!(copy.partitions[&0].next, Some(5));
        assert_eq!(copy.copied(), 5);
    }

    #[test]
    fn unreadable_outputs_are_errors_naming_the_step() {
        for (step, outputs) in [
            ("copy:orders", json!({"partitions": {"0": {"next": "five"}}})),
            ("copy:orders", json!([1, 2])),
            ("offsets:billing", json!({"decided": {"partitions": 3}})),
            ("cutover", json!({"time": "yesterday"})),
            ("cutover", json!({"time": 17})),
            ("expand:^a", json!({"topics": "a1"})),
            ("mirror:orders", json!({"caught_up": "yes"})),
        ] {
            let err = check(&with(step, outputs.clone())).unwrap_err();
            assert_eq!(err.step, step, "{outputs}");
        }
        let err = copy(&with("copy:orders", json!({"partitions": 1})), "orders").unwrap_err();
        assert!(err.to_string().contains("copy:orders"), "{err}");
    }
}
