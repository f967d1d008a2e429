//! Translating an application's own (self-stored) source offsets into target offsets with the
//! copy's offset maps: `kmigrate offsets translate`.

use std::collections::BTreeMap;

use kmigrate_kafka::{TopicPartition, Watermarks};
use serde::Serialize;

use crate::executor::State;
use crate::outputs::OutputsError;
use crate::steps::copy::copies_of;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Translated {
    pub topic: String,
    pub partition: i32,
    /// The application's position on the source: the next offset it would read.
    pub source_offset: i64,
    /// Where it continues on the target without losing a record.
    pub target_offset: i64,
    /// Copied records it consumed on the source yet will read again on the target.
    pub duplicates: u64,
}

/// The partitions of `source` that no `copy:` step of the plan copied (these cannot be translated).
pub fn uncopied(
    state: &State,
    source: &BTreeMap<TopicPartition, i64>,
) -> Result<Vec<TopicPartition>, OutputsError> {
    let parts: Vec<TopicPartition> = source.keys().cloned().collect();
    let copies = copies_of(state, &parts)?;
    Ok(parts.into_iter().filter(|p| !copies[&p.topic].partitions.contains_key(&p.partition)).collect())
}

/// Translates `source` offsets (next offset to read, per partition) with the copy maps recorded
/// in `state`. Every partition must have been copied by kmigrate; `target` gives the target's
/// watermarks (records before the first copy or after the last are producers' new records).
pub fn translate_offsets(
    state: &State,
    source: &BTreeMap<TopicPartition, i64>,
    target: &BTreeMap<TopicPartition, Watermarks>,
) -> Result<Vec<Translated>, String> {
    let parts: Vec<TopicPartition> = source.keys().cloned().collect();
    let copies = copies_of(state, &parts).map_err(|e| e.to_string())?;
    let mut missing = Vec::new();
    let mut out = Vec::new();
    for (p, offset) in source {
        let (Some(map), Some(w)) = (copies[&p.topic].partitions.get(&p.partition), target.get(p)) else {
            missing.push(p.to_string());
            continue;
        };
        let (target_offset, duplicates) = map.translate(Some(*offset), w.earliest, w.latest);
        out.push(Translated {
            topic: p.topic.clone(),
            partition: p.partition,
            source_offset: *offset,
            target_offset,
            duplicates,
        });
    }
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(format!(
            "kmigrate has not copied {} (only partitions a `copy:` step of this plan copied can be translated; run apply first)",
            missing.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::{StepState, StepStatus};
    use crate::offset_map::PartitionMap;
    use crate::steps::copy::CopyState;

    #[test]
    fn translates_through_the_copy_map_and_names_uncopied_partitions() {
        let mut map = PartitionMap::default();
        for i in 0..100 {
            map.record(i, i + 10); // 10 new records were written before the copy started
        }
        let copy = CopyState { partitions: [(0, map)].into(), ..CopyState::default() };
        let mut state = State::new("p");
        let mut st = StepState::new("f".into(), serde_json::Value::Null);
        st.status = StepStatus::Done;
        st.outputs = serde_json::to_value(&copy).unwrap();
        state.steps.insert("copy:orders".into(), st);
        let tp = TopicPartition::new("orders", 0);
        let marks = [(tp.clone(), Watermarks { earliest: 0, latest: 120 })].into();

        let t = translate_offsets(&state, &[(tp.clone(), 40)].into(), &marks).unwrap();
        // It read source 0..40; the 10 new records before the copies come first, then copies
        // 0..40 (target 10..50) are read again.
        assert_eq!(
            t,
            [Translated {
                topic: "orders".into(),
                partition: 0,
                source_offset: 40,
                target_offset: 0,
                duplicates: 40
            }]
        );

        let err =
            translate_offsets(&state, &[(TopicPartition::new("other", 3), 1)].into(), &marks).unwrap_err();
        assert!(err.contains("other/3"), "{err}");
    }
}
