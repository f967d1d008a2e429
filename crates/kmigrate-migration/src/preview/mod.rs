//! `kmigrate plan`: what apply would do, predicted without doing it.
//!
//! The preview reads both clusters (never writes: no create, alter or commit), compiles the plan's
//! DAG with the patterns expanded against the source, and, for every step in DAG order, predicts
//! its action with the same pure functions the steps use: the topic diff
//! ([`crate::rules::topic::change`]) and the strategy table ([`crate::strategy`], through
//! `steps::offsets::decide_partitions`). Steps the checkpoint records as done are
//! marked so. Offline, nothing is read from the clusters and cluster-dependent values are shown
//! as resolved at apply.
//!
//! Requests are batched so that their number per broker does not grow with the partitions: one
//! Metadata and one DescribeConfigs per cluster, one watermarks lookup (ListOffsets per leader)
//! per cluster, one OffsetFetch per group and cluster, at most one by-time lookup on the target
//! (the cutover time is the same for every group) and one sample read of the source's newest
//! records for the byte counts. See BENCHMARKS.md, "kmigrate plan: requests per broker".

mod build;
mod configs;
mod known;
mod model;
mod read;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use kmigrate_kafka::{Cluster, ClusterConfig};
use kmigrate_plan::Plan;

pub use model::*;

use crate::executor::State;

/// What the preview is made from, besides the clusters.
pub struct PreviewInput<'a> {
    pub plan: &'a Plan,
    /// Directory of the plan file (`from_file` and `export` paths are relative to it).
    pub plan_dir: &'a Path,
    /// The checkpoint of an earlier apply, if any.
    pub state: Option<&'a State>,
    /// The moment the preview is made (whether `cutover.at` has passed).
    pub now: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error(transparent)]
    Kafka(#[from] kmigrate_kafka::Error),
    #[error("internal error: {0}")]
    Internal(String),
    #[error("internal error: {0}")]
    Outputs(crate::outputs::OutputsError),
}

/// Predicts what apply would do. `clusters` is `(source, target)`; `None` is `--offline`: no
/// cluster is contacted.
pub async fn preview(
    input: &PreviewInput<'_>,
    clusters: Option<(&Cluster, &Cluster)>,
) -> Result<PlanPreview, PreviewError> {
    // Every recorded output is read through a typed accessor that never defaults: check them all
    // once, so the preview's readers can rely on them.
    if let Some(state) = input.state {
        crate::outputs::check(state).map_err(PreviewError::Outputs)?;
    }
    let mut expansion = input.state.map(|s| s.expansion.clone()).unwrap_or_default();
    let recorded: Vec<String> = expansion.keys().cloned().collect();
    let live = match clusters {
        Some((source, target)) => Some(read::read(input, source, target, &mut expansion).await?),
        None => None,
    };
    let graph =
        kmigrate_dag::compile(input.plan, &expansion).map_err(|e| PreviewError::Internal(e.to_string()))?;
    Ok(build::build(input, &graph, &expansion, &recorded, live.as_ref()))
}

/// Connects to both clusters (concurrently, each within `timeout`), then [`preview`]s.
pub async fn preview_online(
    input: &PreviewInput<'_>,
    source: ClusterConfig,
    target: ClusterConfig,
    timeout: Duration,
) -> Result<PlanPreview, PreviewError> {
    let (source, target) =
        tokio::try_join!(Cluster::connect(source, timeout), Cluster::connect(target, timeout))?;
    preview(input, Some((&source, &target))).await
}
