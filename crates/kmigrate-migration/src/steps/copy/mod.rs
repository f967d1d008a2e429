//! `copy:<t>`: replicate every record of the topic to the same partition on the target, keep
//! copying while producers still write to the source, and finish once the cutover has passed and
//! every partition is copied to its end.
//!
//! The checkpoint (this step's outputs) holds, per partition, the offset map of the records the
//! target acknowledged. A kill can leave acknowledged records that the checkpoint does not know:
//! on resume they are found by reading the target after the last recorded copy and matching
//! records, in order, against the source from the checkpoint on (same key, value, headers and
//! timestamp: the fields the target keeps, see [`kept_fields`]). Copies land in source order
//! (idempotent, gap-less producer), so the match is exact; target records that do not match are
//! producers' new records (see `reconcile`).

pub mod digest;
mod exact;
mod follow;
pub(crate) mod reconcile;
mod verify;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use kmigrate_dag::StepKind;
use kmigrate_kafka::{Cluster, CopyEnd, CopyOptions, CopyPipe, Fields, TopicConfig};

use super::context::Context;
use super::errors::kafka_error;
use crate::compression::{CopyCompression, copy_compression};
use crate::executor::StepStatus;
use crate::executor::{StepError, StepHandle, StepOutcome, StepResult};
use crate::facts::{CopyRun, ProgressDetail, StepSummary, StepWarning};
use crate::offset_map::PartitionMap;
pub use crate::outputs::CopyState;
pub use exact::{Exact, copies_of, exact_from, exact_offsets};
use reconcile::reconcile;
pub use verify::verify;

/// Partitions reconciled at once (each holds a short-lived consumer while it reads).
const RECONCILE_PARALLEL: usize = 8;
pub(crate) const SCAN_IDLE: Duration = Duration::from_secs(30);

pub async fn run(ctx: &Context, h: &StepHandle) -> StepResult {
    let topic = h.step.subject().unwrap_or_default().to_string();
    let (source, target) = tokio::try_join!(ctx.source(), ctx.target())?;
    let partitions = ctx.partitions(source, std::slice::from_ref(&topic)).await?;
    let mut state = h.checkpoint.read(|s| crate::outputs::copy(s, &topic))?;

    // Acknowledged but not checkpointed before a kill: find them on the target.
    // Partitions are independent and each reconcile mostly waits (offset lookups, a fetch even
    // of an empty target): run several at once.
    let mut entries: Vec<PartitionMap> =
        partitions.iter().map(|p| state.partitions.remove(&p.partition).unwrap_or_default()).collect();
    // (The futures are built first: a closure inside the stream makes the step's future not
    // provably Send.)
    let (source_config, target_config) =
        tokio::try_join!(topic_config(source, &topic), topic_config(target, &topic))?;
    let fields = fields_of(&target_config);
    let reconciles: Vec<_> = partitions
        .iter()
        .zip(entries.iter_mut())
        .map(|(p, entry)| reconcile(source, target, p, entry, fields))
        .collect();
    let found: Vec<u64> =
        futures::stream::iter(reconciles).buffered(RECONCILE_PARALLEL).try_collect().await?;
    for (p, entry) in partitions.iter().zip(entries) {
        state.partitions.insert(p.partition, entry);
    }
    let recovered: u64 = found.iter().sum();
    if recovered > 0 {
        h.warn(StepWarning::RecoveredRecords { records: recovered });
    }
    save(h, &mut state)?;

    let starts: BTreeMap<i32, Option<i64>> =
        partitions.iter().map(|p| (p.partition, state.partitions[&p.partition].next)).collect();
    let compression = compression_for(ctx, &target_config, &topic, h);
    state.compression = Some(compression.codec.as_str().to_string());
    let options = CopyOptions {
        source_max_bytes: max_message_bytes(&source_config),
        target_max_bytes: max_message_bytes(&target_config),
        compression: compression.codec.as_str().to_string(),
        outage_limit: ctx.options.connect_timeout,
        ..CopyOptions::default()
    };
    // Verify's read of the target, behind the producer (see `follow`).
    let mut follow = follow::Follow::start(target, &topic, &partitions, &mut state).await;
    let mut pipe = CopyPipe::start(source, target, &topic, &starts, options).map_err(kafka_error)?;
    let started = Instant::now();
    let copied_before = state.copied();
    let mut last_save = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut stopping = false;
    let mut lag: Option<u64> = None;
    let mut awaiting = 0;
    let mut cutover_signalled = false;
    loop {
        tokio::select! {
            progress = pipe.next() => {
                let Some(progress) = progress else { break };
                for d in &progress.deliveries {
                    state.partitions.entry(d.partition).or_default().record(d.source_offset, d.target_offset);
                    state.digests.entry(d.partition).or_default().add(d.source_offset, d.content, d.timestamp);
                }
                follow.catch_up(&mut state);
                state.bytes += progress.bytes;
                lag = progress.lag.or(lag);
                awaiting = progress.awaiting;
                // Caught up: every partition read to its end, and everything read acknowledged
                // by the target (so the gate lets producers switch only once the copies are on
                // the target, before their new records).
                let all_at_end = partitions.iter().all(|p| progress.at_end.contains(&p.partition));
                if all_at_end && progress.awaiting == 0 && !state.caught_up {
                    state.caught_up = true;
                    save(h, &mut state)?;
                }
                if last_save.elapsed() >= Duration::from_secs(1) {
                    last_save = Instant::now();
                    save(h, &mut state)?;
                    report(h, &state, copied_before, started, lag, awaiting);
                }
            }
            seen = follow.next(), if follow.active() => follow.take(&mut state, seen),
            _ = tick.tick() => {
                if !cutover_signalled && h.checkpoint.status(StepKind::Cutover.as_str()) == Some(StepStatus::Done) {
                    cutover_signalled = true;
                    // Read after the cutover: every record written before it is below these
                    // ends, so the copy is done once it has read up to them. Unreadable: the
                    // pipe falls back to watching the fetches for a while (its settle time).
                    let ends = match source.watermarks(&partitions).await {
                        Ok(marks) => Some(marks.into_iter().map(|(p, w)| (p.partition, w)).collect()),
                        Err(e) => {
                            tracing::debug!("reading the source's ends after the cutover: {e}");
                            None
                        }
                    };
                    pipe.cutover_passed(ends);
                }
                if !stopping && h.stop_requested() {
                    stopping = true;
                    pipe.stop();
                }
            }
        }
    }
    let end = pipe.join().await;
    if matches!(end, Ok(CopyEnd::Finished)) {
        // Only the tail is left to read: records acknowledged last.
        follow.finish(&mut state).await;
    }
    follow.stop();
    save(h, &mut state)?;
    report(h, &state, copied_before, started, lag, awaiting);
    let end = end.map_err(kafka_error)?;
    match end {
        CopyEnd::Stopped => Ok(StepOutcome::Interrupted),
        CopyEnd::Finished => {
            let secs = started.elapsed().as_secs_f64().max(0.001);
            let this_run = state.copied() - copied_before;
            let summary = StepSummary::Copy {
                records: state.copied(),
                bytes: state.bytes,
                partitions: state.partitions.len(),
                this_run: (this_run > 0).then_some(CopyRun { records: this_run, seconds: secs, compression }),
            };
            Ok(StepOutcome::Done { summary, outputs: crate::outputs::value(&state) })
        }
    }
}

/// The codec of this topic's copy: the plan's `sync.compression`, else the target topic's own
/// `compression.type` (as the topic step left it), else the default ([`crate::compression`]).
fn compression_for(
    ctx: &Context,
    target_config: &TopicConfig,
    topic: &str,
    h: &StepHandle,
) -> CopyCompression {
    let topic_type = target_config.overrides().remove("compression.type");
    let chosen = copy_compression(ctx.plan.compression.map(|c| c.codec), topic_type.as_deref());
    if let Some(to) = chosen.recompressed_to {
        h.warn(StepWarning::Recompressed {
            topic: topic.to_string(),
            codec: chosen.codec.as_str().to_string(),
            topic_codec: to.as_str().to_string(),
        });
    }
    chosen
}

fn save(h: &StepHandle, state: &mut CopyState) -> Result<(), StepError> {
    for (p, read) in state.target_read.iter_mut() {
        if let Some(map) = state.partitions.get(p) {
            read.seal(map);
        }
    }
    h.save_outputs(crate::outputs::value(state))
}

/// Progress of the copy: records and bytes so far, rates of this run, the records the source
/// holds that are not read yet (the bar's total is copied + lag), and the records sent that the
/// target has not acknowledged yet (a slow or unreachable target shows here).
fn report(
    h: &StepHandle,
    state: &CopyState,
    copied_before: u64,
    started: Instant,
    lag: Option<u64>,
    awaiting: u64,
) {
    let secs = started.elapsed().as_secs_f64().max(0.001);
    let this_run = state.copied() - copied_before;
    h.progress(
        state.copied(),
        lag.map(|l| state.copied() + l),
        "records",
        Some(ProgressDetail::Copy {
            records: state.copied(),
            bytes: state.bytes,
            records_per_sec: this_run as f64 / secs,
            bytes_per_sec: state.bytes as f64 / secs,
            lag,
            awaiting,
        }),
    );
}

/// What a copy of `topic` keeps of each record on the target, and so what resume matching and
/// verify compare: everything, or everything but the timestamp when the target topic stamps records
/// with the broker's clock (`message.timestamp.type=LogAppendTime`, set on the topic or inherited
/// from the broker's `log.message.timestamp.type`).
pub async fn kept_fields(target: &Cluster, topic: &str) -> Result<Fields, StepError> {
    Ok(fields_of(&topic_config(target, topic).await?))
}

fn fields_of(config: &TopicConfig) -> Fields {
    let stamped = config.entries.get("message.timestamp.type").and_then(|v| v.value.as_deref())
        == Some("LogAppendTime");
    if stamped { Fields::WithoutTimestamp } else { Fields::All }
}

/// The largest record batch a topic holds (`max.message.bytes`, the topic's or its broker's).
fn max_message_bytes(config: &TopicConfig) -> Option<u64> {
    config.entries.get("max.message.bytes").and_then(|v| v.value.as_deref()).and_then(|v| v.parse().ok())
}

async fn topic_config(cluster: &Cluster, topic: &str) -> Result<TopicConfig, StepError> {
    let mut configs = cluster.describe_topic_configs(&[topic]).await.map_err(kafka_error)?;
    Ok(configs.remove(topic).unwrap_or_default())
}
