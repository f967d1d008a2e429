//! Which topics a consumer group reads, shared by `drain:<g>` and `offsets:<g>`.

use kmigrate_plan::{GroupSpec, OffsetStore};

use super::context::Context;
use super::errors::kafka_error;
use crate::executor::{StepError, StepHandle};
use crate::rules::groups::topics_read;

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
