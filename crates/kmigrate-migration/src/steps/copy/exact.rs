//! Exact start offsets for strict groups, translated through the copies' offset maps.

use std::collections::BTreeMap;

use kmigrate_kafka::{TopicPartition, Watermarks};
use kmigrate_plan::{GroupSpec, OffsetStore};

use super::super::context::Context;
use super::super::errors::kafka_error;
use super::CopyState;
use crate::executor::{StepError, StepHandle};

/// Exact start offsets for a group, from the copies' offset maps; `None` when kmigrate does not
/// copy the data.
pub struct Exact {
    pub offsets: BTreeMap<TopicPartition, i64>,
    pub duplicates: u64,
    /// Partitions where the group has no committed offset on the source (not in `offsets`).
    pub uncommitted: Vec<TopicPartition>,
}

/// Reads the group's position on the source and translates it through the copies' offset maps
/// (see [`exact_from`]). `marks` are the target watermarks of `partitions`.
pub async fn exact_offsets(
    ctx: &Context,
    h: &StepHandle,
    group: &GroupSpec,
    partitions: &[TopicPartition],
    marks: &BTreeMap<TopicPartition, Watermarks>,
) -> Result<Option<Exact>, StepError> {
    if !ctx.plan.copies_data() {
        return Ok(None);
    }
    // The group's position on the source; self-stored groups are taken as drained (they read
    // every record before the cutover).
    let committed = match group.offsets {
        OffsetStore::BrokerManaged => {
            Some(ctx.source().await?.committed_offsets(&group.id, partitions).await.map_err(kafka_error)?)
        }
        OffsetStore::SelfStored => None,
    };
    let copies = h.checkpoint.read(|s| copies_of(s, partitions))?;
    Ok(Some(exact_from(&copies, committed.as_ref(), partitions, marks)))
}

/// The copy state of every topic of `partitions`, read through [`crate::outputs::copy`].
pub fn copies_of(
    state: &crate::executor::State,
    partitions: &[TopicPartition],
) -> Result<BTreeMap<String, CopyState>, crate::outputs::OutputsError> {
    let mut copies = BTreeMap::new();
    for p in partitions {
        if !copies.contains_key(&p.topic) {
            copies.insert(p.topic.clone(), crate::outputs::copy(state, &p.topic)?);
        }
    }
    Ok(copies)
}

/// Pure: where the group starts on each target partition, from the copy state of each topic
/// (`copies`, keyed by topic; see [`copies_of`]), its committed offsets on the source (`None`:
/// self-stored, taken as drained) and the target watermarks.
pub fn exact_from(
    copies: &BTreeMap<String, CopyState>,
    committed: Option<&BTreeMap<TopicPartition, Option<i64>>>,
    partitions: &[TopicPartition],
    marks: &BTreeMap<TopicPartition, Watermarks>,
) -> Exact {
    let mut offsets = BTreeMap::new();
    let mut duplicates = 0;
    let mut uncommitted = Vec::new();
    for p in partitions {
        // A partition the copy has not recorded: nothing of it was copied (yet).
        let map =
            copies.get(&p.topic).and_then(|c| c.partitions.get(&p.partition)).cloned().unwrap_or_default();
        let consumed = match committed {
            Some(c) => match c.get(p).copied().flatten() {
                Some(o) => Some(o),
                None => {
                    uncommitted.push(p.clone());
                    continue;
                }
            },
            None => map.next,
        };
        let w = marks[p];
        let (start, dups) = map.translate(consumed, w.earliest, w.latest);
        offsets.insert(p.clone(), start);
        duplicates += dups;
    }
    Exact { offsets, duplicates, uncommitted }
}
