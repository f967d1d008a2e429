//! `drain:<g>`: wait until the group's committed offsets on the source reach the end of every
//! partition it reads (lag 0), so that nothing is left behind on the old cluster.

use std::collections::BTreeMap;

use super::context::Context;
use super::errors::kafka_error;
use super::groups;
use super::wait::Deadline;
use crate::executor::{StepHandle, StepOutcome, StepResult};
use crate::facts::{PauseReason, ProgressDetail, StepSummary};
use crate::outputs::{self, DrainOutputs};

pub async fn run(ctx: &Context, h: &StepHandle) -> StepResult {
    let group = groups::spec(ctx, h)?;
    let topics = groups::topics(ctx, h, group).await?;
    let source = ctx.source().await?;
    let partitions = ctx.partitions(source, &topics).await?;
    let deadline = Deadline::after(ctx.options.wait_timeout);
    let mut first_lag = None;
    loop {
        let (committed, marks) = tokio::try_join!(
            source.committed_offsets(&group.id, &partitions),
            source.watermarks(&partitions)
        )
        .map_err(kafka_error)?;
        let mut lag = BTreeMap::new();
        for p in &partitions {
            let w = marks[p];
            // No commit yet: everything retained is still to be consumed.
            let position = committed.get(p).copied().flatten().unwrap_or(w.earliest);
            let behind = (w.latest - position).max(0);
            if behind > 0 {
                lag.insert(p.to_string(), behind);
            }
        }
        let total: i64 = lag.values().sum();
        if total == 0 {
            return Ok(StepOutcome::Done {
                summary: StepSummary::Drain { group: group.id.clone(), partitions: partitions.len() },
                outputs: outputs::value(&DrainOutputs { partitions: partitions.len(), topics }),
            });
        }
        let start = *first_lag.get_or_insert(total);
        h.progress(
            (start - total).max(0) as u64,
            Some(start as u64),
            "records",
            Some(ProgressDetail::GroupLag { group: group.id.clone(), lag: total, partitions: lag.len() }),
        );
        if deadline.passed() {
            return Ok(StepOutcome::Paused(PauseReason::GroupLagging {
                group: group.id.clone(),
                lag: total,
                partitions: lag.into_iter().take(5).collect(),
            }));
        }
        if !ctx.pause_between_polls(h).await {
            return Ok(StepOutcome::Interrupted);
        }
    }
}
