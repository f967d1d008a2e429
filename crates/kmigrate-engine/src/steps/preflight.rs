//! `preflight`: reach both clusters, check that the plan's topics and broker-managed groups
//! exist on the source, that the target answers the requests apply will make, and that source
//! and target are not the same cluster.

use kmigrate_plan::OffsetStore;
use serde_json::json;

use super::context::{Context, kafka_error};
use crate::walker::{StepError, StepHandle, StepOutcome, StepResult};

pub async fn run(ctx: &Context, h: &StepHandle) -> StepResult {
    let (source, target) = tokio::try_join!(ctx.source(), ctx.target())?;
    let (sm, tm) = tokio::try_join!(source.metadata(), target.metadata()).map_err(kafka_error)?;

    let mut problems = Vec::new();
    if let (Some(a), Some(b)) = (&sm.cluster_id, &tm.cluster_id)
        && a == b
    {
        problems.push(format!(
            "source and target are the same cluster (cluster id {a}): check bootstrap_servers of source and target"
        ));
    }
    for name in ctx.plan.named_topics() {
        if !sm.topics.contains_key(name) {
            problems.push(format!(
                "topic {name} does not exist on the source cluster ({})",
                source.bootstrap_servers()
            ));
        }
    }
    // Broker-managed groups must be known to the source: they have committed offsets there.
    let plan_topics: Vec<String> = ctx.plan.named_topics().map(str::to_string).collect();
    for g in ctx.plan.groups.iter().filter(|g| g.offsets == OffsetStore::BrokerManaged) {
        let committed = source.all_committed_offsets(&g.id).await.map_err(kafka_error)?;
        if committed.is_empty() {
            problems.push(format!(
                "consumer group {} has no committed offsets on the source: check the group id, or mark it `offsets: self-stored` if the application keeps its own offsets",
                g.id
            ));
        } else if g.topics.is_none()
            && !plan_topics.is_empty()
            && !committed.keys().any(|p| sm.topics.contains_key(&p.topic))
        {
            h.warn(format!("group {} has committed offsets only for topics outside the plan", g.id));
        }
    }
    // The target must answer what apply does: topic configs and group offsets.
    let existing: Vec<&str> = tm.topics.keys().map(String::as_str).take(1).collect();
    if !existing.is_empty() {
        target.describe_topic_configs(&existing).await.map_err(kafka_error)?;
    }
    target.list_groups().await.map_err(kafka_error)?;

    if !problems.is_empty() {
        return Err(StepError::fatal(problems.join("\n")));
    }
    let summary = format!(
        "source {} ({} brokers, {} topics), target {} ({} brokers)",
        source.bootstrap_servers(),
        sm.brokers.len(),
        sm.topics.len(),
        target.bootstrap_servers(),
        tm.brokers.len()
    );
    Ok(StepOutcome::Done {
        outputs: json!({
            "source": { "cluster_id": sm.cluster_id, "brokers": sm.brokers.len() },
            "target": { "cluster_id": tm.cluster_id, "brokers": tm.brokers.len() },
        }),
        summary,
    })
}
