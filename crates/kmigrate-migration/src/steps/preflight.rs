//! `preflight`: reach both clusters, check that the plan's topics and broker-managed groups
//! exist on the source, that the target answers the requests apply will make, and that source
//! and target are not the same cluster.

use std::collections::BTreeMap;

use kmigrate_plan::OffsetStore;

use super::context::Context;
use super::errors::kafka_error;
use crate::executor::{StepError, StepHandle, StepOutcome, StepResult};
use crate::facts::{ClusterSeen, StepSummary, StepWarning};
use crate::outputs::{self, ClusterOutputs, PreflightOutputs};
use crate::rules::{self, preflight::Problem};

pub async fn run(ctx: &Context, h: &StepHandle) -> StepResult {
    let (source, target) = tokio::try_join!(ctx.source(), ctx.target())?;
    let (sm, tm) = tokio::try_join!(source.metadata(), target.metadata()).map_err(kafka_error)?;

    // Broker-managed groups must be known to the source: they have committed offsets there.
    let mut committed = BTreeMap::new();
    for g in ctx.plan.groups.iter().filter(|g| g.offsets == OffsetStore::BrokerManaged) {
        committed.insert(g.id.clone(), source.all_committed_offsets(&g.id).await.map_err(kafka_error)?);
    }
    let checked = rules::preflight::check(&ctx.plan, &sm, &tm, &committed);
    for group in checked.outside_plan {
        h.warn(StepWarning::OffsetsOutsidePlan { group });
    }
    // The target must answer what apply does: topic configs and group offsets.
    let existing: Vec<&str> = tm.topics.keys().map(String::as_str).take(1).collect();
    if !existing.is_empty() {
        target.describe_topic_configs(&existing).await.map_err(kafka_error)?;
    }
    target.list_groups().await.map_err(kafka_error)?;

    if !checked.problems.is_empty() {
        let lines: Vec<String> = checked
            .problems
            .iter()
            .map(|p| match p {
                Problem::TopicMissing { .. } => format!("{p} ({})", source.bootstrap_servers()),
                _ => p.to_string(),
            })
            .collect();
        return Err(StepError::fatal(lines.join("\n")));
    }
    let summary = StepSummary::Preflight {
        source: ClusterSeen {
            bootstrap_servers: source.bootstrap_servers().to_string(),
            brokers: sm.brokers.len(),
            topics: Some(sm.topics.len()),
        },
        target: ClusterSeen {
            bootstrap_servers: target.bootstrap_servers().to_string(),
            brokers: tm.brokers.len(),
            topics: None,
        },
    };
    Ok(StepOutcome::Done {
        outputs: outputs::value(&PreflightOutputs {
            source: ClusterOutputs { cluster_id: sm.cluster_id.clone(), brokers: sm.brokers.len() },
            target: ClusterOutputs { cluster_id: tm.cluster_id.clone(), brokers: tm.brokers.len() },
        }),
        summary,
    })
}
