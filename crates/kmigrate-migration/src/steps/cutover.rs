//! `cutover`: record the producer cutover time T, the boundary between records produced to the
//! source and records produced to the target.
//!
//! - `at`: T is the operator's statement; apply waits until that moment has passed.
//! - `manual`: apply pauses at a gate until `--approve cutover`. The approval comes *after* the
//!   producers switched, so it is not T: T is just after the last record produced to the source
//!   before the switch (see [`crate::rules::cutover::after_last_records`]), or `--cutover-at`.
//! - `detect`: T is just after the last record once the source topics received nothing for
//!   `idle`.
//!
//! `cutover.margin` moves T earlier (producers' clocks differ).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use kmigrate_kafka::TopicPartition;
use kmigrate_plan::CutoverMode;

use super::context::Context;
use super::errors::kafka_error;
use super::wait::Deadline;
use crate::executor::{StepError, StepHandle, StepOutcome, StepResult};
use crate::facts::{CutoverSource, PauseReason, ProgressDetail, StepSummary, StepWarning, WaitReason};
use crate::outputs::{self, CutoverOutputs};
use crate::rules::cutover::{after_last_records, with_margin};

pub async fn run(ctx: &Context, h: &StepHandle) -> StepResult {
    let (t, how, newest) = match &ctx.plan.cutover.mode {
        CutoverMode::At(at) => {
            let deadline = Deadline::after(ctx.options.wait_timeout);
            loop {
                let left = (at.with_timezone(&Utc) - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                if left.is_zero() {
                    break;
                }
                h.waiting(WaitReason::CutoverTime { at: *at, left_ms: left.as_millis() as u64 });
                if deadline.passed() {
                    return Ok(StepOutcome::Paused(PauseReason::CutoverNotYet { at: *at }));
                }
                if !ctx.pause_between_polls(h).await {
                    return Ok(StepOutcome::Interrupted);
                }
            }
            (*at, CutoverSource::PlanAt, None)
        }
        CutoverMode::Manual => {
            if !ctx.options.approve_cutover {
                // Let the copies catch up first: producers switched while copies lag put new
                // records on the target before old ones, which strict groups then read again.
                if !copies_caught_up(ctx, h).await? {
                    return Ok(StepOutcome::Interrupted);
                }
                return Ok(StepOutcome::Paused(PauseReason::CutoverGate {
                    target: ctx.plan.target.bootstrap_servers.raw.clone(),
                    copies_caught_up: ctx.plan.copies_data(),
                    mirror_caught_up: ctx.plan.mirrors_data(),
                }));
            }
            match ctx.options.cutover_at {
                Some(at) => (at, CutoverSource::CutoverAtFlag, None),
                None => {
                    let last = last_source_records(ctx, h).await?;
                    let (t, newest) = cutover_after(h, &last);
                    (t, CutoverSource::NewestAtApproval, newest)
                }
            }
        }
        CutoverMode::Detect { idle } => match detect_idle(ctx, h, *idle).await? {
            Idle::Since(last) => {
                let (t, newest) = cutover_after(h, &last);
                (t, CutoverSource::NewestAfterIdle { idle_ms: idle.as_millis() as u64 }, newest)
            }
            Idle::NotYet => {
                return Ok(StepOutcome::Paused(PauseReason::SourceNotIdle {
                    idle_ms: idle.as_millis() as u64,
                }));
            }
            Idle::Interrupted => return Ok(StepOutcome::Interrupted),
        },
    };
    let time = with_margin(t, ctx.plan.cutover.margin);
    let margin_ms = ctx.plan.cutover.margin.as_millis() as u64;
    Ok(StepOutcome::Done {
        summary: StepSummary::Cutover { time, from: how, margin_ms },
        outputs: outputs::value(&CutoverOutputs {
            time,
            time_ms: time.timestamp_millis(),
            source: how,
            newest_source_record_ms: newest,
            margin_ms,
        }),
    })
}

/// Waits until every copy step has caught up with the source (or is done). False when asked to
/// stop first. With `--wait-timeout`, gives up waiting (true) once it passes.
async fn copies_caught_up(ctx: &Context, h: &StepHandle) -> Result<bool, StepError> {
    if !ctx.plan.copies_data() && !ctx.plan.mirrors_data() {
        return Ok(true);
    }
    let deadline = Deadline::after(ctx.options.wait_timeout);
    loop {
        let lagging = h.checkpoint.read(lagging_copies)?;
        if lagging.is_empty() || deadline.passed() {
            return Ok(true);
        }
        h.waiting(WaitReason::CopiesCatchingUp { copies: lagging });
        if !ctx.pause_between_polls(h).await {
            return Ok(false);
        }
    }
}

/// The copy and mirror steps not done yet whose copy has not caught up with the source.
fn lagging_copies(state: &crate::executor::State) -> Result<Vec<String>, outputs::OutputsError> {
    let mut lagging = Vec::new();
    for (id, st) in &state.steps {
        if st.status == crate::executor::StepStatus::Done {
            continue;
        }
        let behind = if id.starts_with("copy:") {
            !outputs::copy_in(id, &st.outputs)?.caught_up
        } else {
            id.starts_with("mirror:") && !outputs::mirror_in(id, &st.outputs)?.caught_up
        };
        if behind {
            lagging.push(id.clone());
        }
    }
    Ok(lagging)
}

/// The timestamp (ms) of the last record of every non-empty partition of the plan's topics.
async fn last_source_records(ctx: &Context, h: &StepHandle) -> Result<Vec<(TopicPartition, i64)>, StepError> {
    let source = ctx.source().await?;
    let partitions = ctx.partitions(source, &ctx.topics(h)).await?;
    let seen = source.inspect_timestamps(&partitions, 1).await.map_err(kafka_error)?;
    Ok(seen.into_iter().filter_map(|p| Some((p.partition, p.max_timestamp?))).collect())
}

/// T from the last records: see [`after_last_records`]; future-dated outliers are warned about.
/// (The rule itself, pure, is in `rules::cutover`.)
fn cutover_after(h: &StepHandle, last: &[(TopicPartition, i64)]) -> (DateTime<FixedOffset>, Option<i64>) {
    let now = Utc::now().timestamp_millis();
    let rule = after_last_records(last, now);
    for (p, ts) in &rule.outliers {
        h.warn(StepWarning::FutureDatedRecord {
            partition: p.to_string(),
            timestamp_ms: *ts,
            ahead_ms: (ts - now).max(0),
        });
    }
    (to_time(rule.t_ms), rule.newest)
}

enum Idle {
    /// Idle for long enough; the last record of each non-empty partition.
    Since(Vec<(TopicPartition, i64)>),
    /// `--wait-timeout` passed first.
    NotYet,
    Interrupted,
}

/// Waits until the source's end offsets stop moving for `idle`.
async fn detect_idle(ctx: &Context, h: &StepHandle, idle: Duration) -> Result<Idle, StepError> {
    let source = ctx.source().await?;
    let partitions: Vec<TopicPartition> = ctx.partitions(source, &ctx.topics(h)).await?;
    let deadline = Deadline::after(ctx.options.wait_timeout);
    let mut last: Option<BTreeMap<TopicPartition, i64>> = None;
    let mut since = Instant::now();
    loop {
        let ends = source.latest_offsets(&partitions).await.map_err(kafka_error)?;
        if last.as_ref() != Some(&ends) {
            last = Some(ends);
            since = Instant::now();
        }
        let quiet = since.elapsed();
        if quiet >= idle {
            return Ok(Idle::Since(last_source_records(ctx, h).await?));
        }
        h.progress(
            quiet.as_secs(),
            Some(idle.as_secs()),
            "s idle",
            Some(ProgressDetail::SourceIdle {
                quiet_ms: quiet.as_millis() as u64,
                idle_ms: idle.as_millis() as u64,
            }),
        );
        if deadline.passed() {
            return Ok(Idle::NotYet);
        }
        if !ctx.pause_between_polls(h).await {
            return Ok(Idle::Interrupted);
        }
    }
}

fn to_time(ms: i64) -> DateTime<FixedOffset> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_else(Utc::now).fixed_offset()
}
