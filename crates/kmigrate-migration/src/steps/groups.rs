//! Which topics a consumer group reads, shared by `drain:<g>` and `offsets:<g>`.

use std::collections::BTreeMap;

use kmigrate_kafka::TopicPartition;
use kmigrate_plan::{GroupSpec, OffsetStore};

use super::context::Context;
use super::errors::kafka_error;
use crate::executor::{StepError, StepHandle};

/// The plan's group entry for the step's subject.
pub fn spec<'a>(ctx: &'a Context, h: &StepHandle) -> Result<&'a GroupSpec, StepError> {
    let id = h.step.subject().unwrap_or_default();
    ctx.plan
        .groups
        .iter()
        .find(|g| g.id == id)
        .ok_or_else(|| StepError::fatal(format!("group {id} is not in the plan")))
}

/// The plan topics the group reads: those it names; else, for a broker-managed group, the plan
/// topics it has committed offsets for on the source; else every plan topic.
pub async fn topics(ctx: &Context, h: &StepHandle, group: &GroupSpec) -> Result<Vec<String>, StepError> {
    let plan_topics = ctx.topics(h);
    let committed = if group.topics.is_none() && group.offsets == OffsetStore::BrokerManaged {
        Some(ctx.source().await?.all_committed_offsets(&group.id).await.map_err(kafka_error)?)
    } else {
        None
    };
    topics_read(plan_topics, group, committed.as_ref()).map_err(StepError::fatal)
}

/// Pure: which of `plan_topics` the group reads (see [`topics`]). `committed` is the group's
/// committed offsets on the source, needed only for a broker-managed group that names no topics.
pub(crate) fn topics_read(
    plan_topics: Vec<String>,
    group: &GroupSpec,
    committed: Option<&BTreeMap<TopicPartition, i64>>,
) -> Result<Vec<String>, String> {
    if let Some(named) = &group.topics {
        return Ok(plan_topics
            .into_iter()
            .filter(|t| named.contains(t) || group_names_pattern(named, t))
            .collect());
    }
    if group.offsets == OffsetStore::SelfStored {
        return Ok(plan_topics);
    }
    let read: Vec<String> = plan_topics
        .into_iter()
        .filter(|t| committed.is_some_and(|c| c.keys().any(|p| &p.topic == t)))
        .collect();
    if read.is_empty() {
        return Err(format!(
            "group {} has no committed offsets on the source for any plan topic: list the topics it reads under `topics:` in the plan",
            group.id
        ));
    }
    Ok(read)
}

/// `topics:` may also name a pattern entry's matches by the pattern itself.
fn group_names_pattern(named: &[String], topic: &str) -> bool {
    named.iter().any(|n| regex::Regex::new(n).is_ok_and(|re| n.starts_with('^') && re.is_match(topic)))
}
