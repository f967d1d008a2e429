//! `cutover`: record the producer cutover time T, the boundary between records produced to the
//! source and records produced to the target.
//!
//! - `at`: T is the operator's statement; apply waits until that moment has passed.
//! - `manual`: apply pauses at a gate until `--approve cutover`. The approval comes *after* the
//!   producers switched, so it is not T: T is the newest record timestamp on the source (the
//!   last record produced before the switch), or `--cutover-at`.
//! - `detect`: T is the newest record timestamp once the source topics received nothing for
//!   `idle`.
//!
//! `cutover.margin` moves T earlier (producers' clocks differ).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use kmigrate_kafka::TopicPartition;
use kmigrate_plan::CutoverMode;
use serde_json::json;

use super::context::{Context, kafka_error};
use super::wait::Deadline;
use crate::walker::{StepError, StepHandle, StepOutcome, StepResult};

pub async fn run(ctx: &Context, h: &StepHandle) -> StepResult {
    let margin = chrono::Duration::from_std(ctx.plan.cutover.margin).unwrap_or_default();
    let (t, how, newest) = match &ctx.plan.cutover.mode {
        CutoverMode::At(at) => {
            let deadline = Deadline::after(ctx.options.wait_timeout);
            loop {
                let left = (at.with_timezone(&Utc) - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                if left.is_zero() {
                    break;
                }
                h.report(crate::Event::StepWaiting {
                    step: h.id(),
                    reason: format!("the cutover time {} is {} away", at.to_rfc3339(), human(left)),
                });
                if deadline.passed() {
                    return Ok(paused_at(*at));
                }
                if !ctx.pause_between_polls(h).await {
                    return Ok(StepOutcome::Interrupted);
                }
            }
            (*at, "the plan's cutover.at".to_string(), None)
        }
        CutoverMode::Manual => {
            if !ctx.options.approve_cutover {
                // Let the copies catch up first: producers switched while copies lag put new
                // records on the target before old ones, which strict groups then read again.
                if !copies_caught_up(ctx, h).await {
                    return Ok(StepOutcome::Interrupted);
                }
                return Ok(StepOutcome::Paused {
                    reason: format!(
                        "waiting for the producer cutover{}. Switch every producer of the plan's topics to the target ({}), check that the source receives nothing more, then approve",
                        if ctx.plan.copies_data() {
                            " (the copies have caught up with the source)"
                        } else {
                            ""
                        },
                        ctx.plan.target.bootstrap_servers.raw
                    ),
                    resume: format!(
                        "kmigrate apply {} --approve cutover [--cutover-at TIME]",
                        ctx.plan.source_file.name
                    ),
                });
            }
            match ctx.options.cutover_at {
                Some(at) => (at, "--cutover-at".to_string(), None),
                None => {
                    let newest = newest_source_record(ctx, h).await?;
                    let t = newest.map(to_time).unwrap_or_else(|| Utc::now().fixed_offset());
                    (t, "the newest record on the source at approval".to_string(), newest)
                }
            }
        }
        CutoverMode::Detect { idle } => match detect_idle(ctx, h, *idle).await? {
            Idle::Since(newest) => {
                let t = newest.map(to_time).unwrap_or_else(|| Utc::now().fixed_offset());
                (t, format!("the newest record on the source after {} idle", human(*idle)), newest)
            }
            Idle::NotYet => {
                return Ok(StepOutcome::Paused {
                    reason: format!("the source topics have not been idle for {} yet", human(*idle)),
                    resume: format!("kmigrate apply {}", ctx.plan.source_file.name),
                });
            }
            Idle::Interrupted => return Ok(StepOutcome::Interrupted),
        },
    };
    let time = t - margin;
    let margin_note = if margin.is_zero() {
        String::new()
    } else {
        format!(", minus margin {}", human(ctx.plan.cutover.margin))
    };
    Ok(StepOutcome::Done {
        summary: format!("cutover time T = {} (from {how}{margin_note})", time.to_rfc3339()),
        outputs: json!({
            "time": time.to_rfc3339(),
            "time_ms": time.timestamp_millis(),
            "source": how,
            "newest_source_record_ms": newest,
            "margin_ms": ctx.plan.cutover.margin.as_millis() as u64,
        }),
    })
}

/// Waits until every copy step has caught up with the source (or is done). False when asked to
/// stop first. With `--wait-timeout`, gives up waiting (true) once it passes.
async fn copies_caught_up(ctx: &Context, h: &StepHandle) -> bool {
    if !ctx.plan.copies_data() {
        return true;
    }
    let deadline = Deadline::after(ctx.options.wait_timeout);
    loop {
        let state = h.checkpoint.snapshot();
        let lagging: Vec<&String> = state
            .steps
            .iter()
            .filter(|(id, st)| {
                id.starts_with("copy:")
                    && st.status != crate::state::StepStatus::Done
                    && !st.outputs.get("caught_up").and_then(|v| v.as_bool()).unwrap_or(false)
            })
            .map(|(id, _)| id)
            .collect();
        if lagging.is_empty() || deadline.passed() {
            return true;
        }
        h.report(crate::Event::StepWaiting {
            step: h.id(),
            reason: format!(
                "waiting for {} to catch up with the source before the cutover gate",
                lagging.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ),
        });
        if !ctx.pause_between_polls(h).await {
            return false;
        }
    }
}

fn paused_at(at: DateTime<FixedOffset>) -> StepOutcome {
    StepOutcome::Paused {
        reason: format!("the cutover time {} has not come yet", at.to_rfc3339()),
        resume: "run apply again after that time".into(),
    }
}

/// The newest record timestamp over every partition of the plan's topics, in ms.
async fn newest_source_record(ctx: &Context, h: &StepHandle) -> Result<Option<i64>, StepError> {
    let source = ctx.source().await?;
    let partitions = ctx.partitions(source, &ctx.topics(h)).await?;
    let seen = source.inspect_timestamps(&partitions, 1).await.map_err(kafka_error)?;
    Ok(seen.iter().filter_map(|p| p.max_timestamp).max())
}

enum Idle {
    /// Idle for long enough; the newest record timestamp (ms), if the topics hold any record.
    Since(Option<i64>),
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
            return Ok(Idle::Since(newest_source_record(ctx, h).await?));
        }
        h.progress(
            quiet.as_secs(),
            Some(idle.as_secs()),
            "s idle",
            Some(format!("source idle for {} of {}", human(quiet), human(idle))),
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

fn human(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

/// The cutover time recorded by the `cutover` step, if it is done.
pub fn recorded_time(h: &StepHandle) -> Option<DateTime<FixedOffset>> {
    time_in(&h.checkpoint.outputs("cutover"))
}

/// The cutover time in the `cutover` step's outputs.
pub(crate) fn time_in(outputs: &serde_json::Value) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(outputs.get("time")?.as_str()?).ok()
}
