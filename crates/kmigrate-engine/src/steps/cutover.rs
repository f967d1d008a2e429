//! `cutover`: record the producer cutover time T, the boundary between records produced to the
//! source and records produced to the target.
//!
//! - `at`: T is the operator's statement; apply waits until that moment has passed.
//! - `manual`: apply pauses at a gate until `--approve cutover`. The approval comes *after* the
//!   producers switched, so it is not T: T is just after the last record produced to the source
//!   before the switch (see [`after_last_records`]), or `--cutover-at`.
//! - `detect`: T is just after the last record once the source topics received nothing for
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
                if !copies_caught_up(ctx, h).await? {
                    return Ok(StepOutcome::Interrupted);
                }
                return Ok(StepOutcome::Paused {
                    reason: format!(
                        "waiting for the producer cutover{}. Switch every producer of the plan's topics to the target ({}), check that the source receives nothing more, then approve",
                        if ctx.plan.copies_data() {
                            " (the copies have caught up with the source)"
                        } else if ctx.plan.mirrors_data() {
                            " (MirrorMaker 2 has caught up with the source)"
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
                    let last = last_source_records(ctx, h).await?;
                    let (t, newest) = cutover_after(h, &last);
                    (t, "just after the newest record on the source at approval".to_string(), newest)
                }
            }
        }
        CutoverMode::Detect { idle } => match detect_idle(ctx, h, *idle).await? {
            Idle::Since(last) => {
                let (t, newest) = cutover_after(h, &last);
                (t, format!("just after the newest record on the source after {} idle", human(*idle)), newest)
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
        h.report(crate::Event::StepWaiting {
            step: h.id(),
            reason: format!(
                "waiting for {} to catch up with the source before the cutover gate",
                lagging.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ),
        });
        if !ctx.pause_between_polls(h).await {
            return Ok(false);
        }
    }
}

/// The copy and mirror steps not done yet whose copy has not caught up with the source.
fn lagging_copies(state: &crate::state::State) -> Result<Vec<String>, crate::outputs::OutputsError> {
    let mut lagging = Vec::new();
    for (id, st) in &state.steps {
        if st.status == crate::state::StepStatus::Done {
            continue;
        }
        let behind = if id.starts_with("copy:") {
            !crate::outputs::copy_in(id, &st.outputs)?.caught_up
        } else {
            id.starts_with("mirror:") && !super::mirror::caught_up_in(&st.outputs)
        };
        if behind {
            lagging.push(id.clone());
        }
    }
    Ok(lagging)
}

fn paused_at(at: DateTime<FixedOffset>) -> StepOutcome {
    StepOutcome::Paused {
        reason: format!("the cutover time {} has not come yet", at.to_rfc3339()),
        resume: "run apply again after that time".into(),
    }
}

/// The timestamp (ms) of the last record of every non-empty partition of the plan's topics.
async fn last_source_records(ctx: &Context, h: &StepHandle) -> Result<Vec<(TopicPartition, i64)>, StepError> {
    let source = ctx.source().await?;
    let partitions = ctx.partitions(source, &ctx.topics(h)).await?;
    let seen = source.inspect_timestamps(&partitions, 1).await.map_err(kafka_error)?;
    Ok(seen.into_iter().filter_map(|p| Some((p.partition, p.max_timestamp?))).collect())
}

/// How far in the future (by kmigrate's clock) a record's timestamp may be before it is taken for
/// a future-dated outlier (an event-time producer, a wrong clock) rather than a producer whose
/// clock is a little ahead.
pub const FUTURE_TOLERANCE_MS: i64 = 60_000;

/// T from the last records: see [`after_last_records`]; future-dated outliers are warned about.
fn cutover_after(h: &StepHandle, last: &[(TopicPartition, i64)]) -> (DateTime<FixedOffset>, Option<i64>) {
    let now = Utc::now().timestamp_millis();
    let rule = after_last_records(last, now);
    for (p, ts) in &rule.outliers {
        h.warn(format!(
            "the last record of {p} is dated {} ({} ahead of this machine's clock): ignored for the cutover time",
            to_time(*ts).to_rfc3339(),
            human(Duration::from_millis((ts - now).max(0) as u64))
        ));
    }
    (to_time(rule.t_ms), rule.newest)
}

/// The cutover time T derived from the last record of each source partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromLastRecords {
    /// T, in ms: 1 ms after the newest last record, so that a by-time start on the target begins
    /// after the source's last record, not at it (that record is read again otherwise).
    pub t_ms: i64,
    /// The newest last record taken into account.
    pub newest: Option<i64>,
    /// Last records dated more than [`FUTURE_TOLERANCE_MS`] after `now`: ignored, since one of them
    /// would move T into the future and by-time starts would skip new records.
    pub outliers: Vec<(TopicPartition, i64)>,
}

/// Pure: T from the last record (`ms`) of each partition and kmigrate's clock `now_ms`. With no
/// record (or only outliers), T is `now_ms`.
pub fn after_last_records(last: &[(TopicPartition, i64)], now_ms: i64) -> FromLastRecords {
    let (outliers, kept): (Vec<_>, Vec<_>) =
        last.iter().cloned().partition(|(_, ts)| *ts > now_ms.saturating_add(FUTURE_TOLERANCE_MS));
    let newest = kept.iter().map(|(_, ts)| *ts).max();
    FromLastRecords { t_ms: newest.map_or(now_ms, |n| n + 1), newest, outliers }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_is_just_after_the_newest_last_record_ignoring_future_dated_ones() {
        let p = |n| TopicPartition::new("orders", n);
        let now = 1_767_225_600_000;
        let r = after_last_records(&[(p(0), now - 5_000), (p(1), now - 2_000), (p(2), now + 3_600_000)], now);
        assert_eq!(r.t_ms, now - 2_000 + 1, "after the last record, not at it");
        assert_eq!(r.newest, Some(now - 2_000));
        assert_eq!(r.outliers, vec![(p(2), now + 3_600_000)]);
        // A producer clock a little ahead is not an outlier.
        let r = after_last_records(&[(p(0), now + 30_000)], now);
        assert_eq!((r.t_ms, r.outliers.len()), (now + 30_001, 0));
        // Nothing to go by: now.
        assert_eq!(after_last_records(&[(p(0), now + FUTURE_TOLERANCE_MS + 1)], now).t_ms, now);
        assert_eq!(after_last_records(&[], now).t_ms, now);
    }
}
