//! Verification of the copies: every copied record still held on both sides matches its source.
//!
//! When the copy recorded the digests of every record it wrote (`digest`), only the target is
//! read: its copies, mapped back to their source offsets through the offset map, are folded into
//! blocks the same way and compared with the copy's; a block that differs (or holds records whose
//! timestamp a copy cannot keep) is compared record by record with the source. Otherwise (a copy
//! resumed after a kill, whose recovered records have no digest, or an older checkpoint) the
//! whole partition is compared with the source.
//!
//! Record by record, both sides are compared over the same records: the source's records from the
//! first copied offset to the copy's end, and the target's copies, each mapped back to its source
//! offset through the offset map. The two scans stream `(source offset, digest)` pairs and are merged
//! by source offset, so nothing is held in memory but the pairs in flight. A record only one side
//! still holds is not a difference when that side's log lost it after the copy (compaction, or
//! retention moving the log start): such records are counted and named in the summary as not
//! compared. A source record the copy skipped, or two records that differ, are differences.
//!
//! Records the source received after the copy finished (producers not yet switched when the
//! copy ended) are not on the target: every partition is read from the copy's end to the
//! source's current end and such records are reported ([`Late`]), by partition and offset range.

use futures::{StreamExt, TryStreamExt};
use kmigrate_kafka::{Cluster, Fields, TopicPartition, timestamp_kept};
use tokio::sync::mpsc;

use super::super::context::Context;
use super::super::errors::kafka_error;
use super::digest::{PartitionDigest, TargetRead, block_range};
use super::{SCAN_IDLE, kept_fields};
use crate::executor::{StepError, StepHandle};
use crate::facts::{CopiesVerified, Late};
use crate::offset_map::PartitionMap;

/// Partitions verified at once (each holds one or two short-lived consumers).
const VERIFY_PARALLEL: usize = 4;

/// Differences found by [`verify`], and what matched (when any partition was copied).
pub struct CopyCheck {
    pub problems: Vec<String>,
    pub summary: Option<CopiesVerified>,
    /// Records the source received after the copy finished, per partition.
    pub late: Vec<Late>,
}

/// What the comparison of one partition found.
#[derive(Debug, Default, PartialEq, Eq)]
struct Compared {
    /// Records held on both sides, compared.
    matched: u64,
    /// Of those, records compared without their timestamp because the source record has none or
    /// is stamped 0, which a copy cannot keep (see `Fields::timestamps_agree`).
    unstamped: u64,
    /// Copied records the source no longer holds (compacted away, or before its log start).
    source_gone: u64,
    /// Copies the target no longer holds.
    target_gone: u64,
    /// The first source record in the copied range that the copy skipped.
    not_copied: Option<i64>,
    /// The first record that differs: (source offset, target offset).
    differs: Option<(i64, i64)>,
}

/// Compares every copied partition record by record.
pub async fn verify(ctx: &Context, h: &StepHandle) -> Result<CopyCheck, StepError> {
    if !ctx.plan.copies_data() {
        return Ok(CopyCheck { problems: Vec::new(), summary: None, late: Vec::new() });
    }
    let (source, target) = tokio::try_join!(ctx.source(), ctx.target())?;
    let mut problems = Vec::new();
    let mut partitions = 0;
    let mut total = Compared::default();
    let mut stamped = Vec::new();
    let mut late = Vec::new();
    // Partitions checked against the copy's digests (only the target read).
    let mut one_pass = 0;
    for topic in ctx.topics(h) {
        let state = h.checkpoint.read(|s| crate::outputs::copy(s, &topic))?;
        late.extend(late_records(ctx, source, &topic, &state).await?);
        let fields =
            if state.partitions.is_empty() { Fields::All } else { kept_fields(target, &topic).await? };
        if fields == Fields::WithoutTimestamp {
            stamped.push(topic.clone());
        }
        let copied: Vec<TopicPartition> = state
            .partitions
            .iter()
            .filter(|(_, m)| m.copied() > 0)
            .map(|(p, _)| TopicPartition::new(topic.clone(), *p))
            .collect();
        if copied.is_empty() {
            continue;
        }
        let (source_starts, target_starts) =
            tokio::try_join!(async { source.earliest_offsets(&copied).await.map_err(kafka_error) }, async {
                target.earliest_offsets(&copied).await.map_err(kafka_error)
            })?;
        // Partitions are checked several at once: each mostly waits for fetches.
        let checks: Vec<_> = copied
            .iter()
            .map(|p| {
                let map = &state.partitions[&p.partition];
                let starts = (source_starts[p], target_starts[p]);
                let digest = state.digests.get(&p.partition).filter(|d| d.records() == map.copied());
                let read = state.target_read.get(&p.partition).filter(|r| r.valid_for(map));
                async move {
                    let c = match digest {
                        Some(digest) => {
                            check_digests(source, target, p, map, (digest, read), starts, fields).await?
                        }
                        None => compare(source, target, p, map, (i64::MIN, i64::MAX), starts, fields).await?,
                    };
                    Ok::<_, StepError>((p, digest.is_some(), c))
                }
            })
            .collect();
        let checked: Vec<_> = futures::stream::iter(checks).buffered(VERIFY_PARALLEL).try_collect().await?;
        for (p, by_digest, c) in checked {
            partitions += 1;
            one_pass += usize::from(by_digest);
            if let Some(s) = c.not_copied {
                problems.push(format!("{p}: the source record at offset {s} was not copied"));
            }
            if let Some((s, t)) = c.differs {
                problems.push(format!("{p}: records differ first at source offset {s} (target offset {t})"));
            }
            total.matched += c.matched;
            total.unstamped += c.unstamped;
            total.source_gone += c.source_gone;
            total.target_gone += c.target_gone;
        }
    }
    Ok(CopyCheck {
        late,
        problems,
        summary: (partitions > 0).then_some(CopiesVerified {
            matched: total.matched,
            partitions,
            stamped_topics: stamped,
            unstamped: total.unstamped,
            source_gone: total.source_gone,
            target_gone: total.target_gone,
            by_digest: one_pass,
        }),
    })
}

/// The records each partition of `topic` received after its copy finished: from the copy's end
/// (the log start when nothing was copied) to the source's end now, read, so that transaction
/// markers and aborted records are not counted.
async fn late_records(
    ctx: &Context,
    source: &Cluster,
    topic: &str,
    state: &super::CopyState,
) -> Result<Vec<Late>, StepError> {
    let partitions = ctx.partitions(source, &[topic.to_string()]).await?;
    let marks = source.watermarks(&partitions).await.map_err(kafka_error)?;
    let mut late = Vec::new();
    for p in &partitions {
        let w = marks[p];
        let from = state.resume_offset(p.partition, w);
        if w.latest <= from {
            continue;
        }
        let seen = std::sync::Arc::new(std::sync::Mutex::new((0u64, None::<i64>)));
        let counter = seen.clone();
        source
            .scan_partition(p, from, Some(w.latest), SCAN_IDLE, move |r| {
                let mut c = counter.lock().expect("late-record counter");
                c.0 += 1;
                c.1 = c.1.max(r.timestamp);
                true
            })
            .await
            .map_err(kafka_error)?;
        let (records, newest_ms) = *seen.lock().expect("late-record counter");
        if records > 0 {
            late.push(Late {
                topic: topic.to_string(),
                partition: p.partition,
                records,
                from,
                to: w.latest,
                newest_ms,
            });
        }
    }
    Ok(late)
}

/// Reads the target's copies of one partition, folds them into blocks as the copy did, and
/// compares the blocks with the copy's digests; blocks that differ are compared record by record
/// with the source ([`compare`]), which names the first difference. What the copy's reader of the
/// target already read and folded (`read`, see `copy::follow`) is not read again.
async fn check_digests(
    source: &Cluster,
    target: &Cluster,
    p: &TopicPartition,
    map: &PartitionMap,
    (recorded, read): (&PartitionDigest, Option<&TargetRead>),
    starts: (i64, i64),
    fields: Fields,
) -> Result<Compared, StepError> {
    let (Some(first_target), Some(target_end)) = (map.runs.first().map(|r| r[1]), map.target_end()) else {
        return Ok(Compared::default());
    };
    let (from, folded) = match read {
        Some(r) => (r.next.max(starts.1), r.digest.clone()),
        None => (first_target.max(starts.1), PartitionDigest::default()),
    };
    let found = std::sync::Arc::new(std::sync::Mutex::new(folded));
    let (fold, copies) = (found.clone(), map.clone());
    target
        .scan_partition(p, from, Some(target_end), SCAN_IDLE, move |r| {
            if let Some(s) = copies.source_of(r.offset) {
                fold.lock().expect("digest lock").add(s, r.digest(), r.timestamp);
            }
            true
        })
        .await
        .map_err(kafka_error)?;
    let found = std::mem::take(&mut *found.lock().expect("digest lock"));
    let unmatched = recorded.unmatched(&found, fields == Fields::All);
    let mut c = Compared { matched: map.copied(), ..Compared::default() };
    for block in unmatched {
        let (lo, hi) = block_range(block);
        c.matched -= map.copies_in(lo, hi).map_or(0, |(n, _, _)| n);
        let b = compare(source, target, p, map, (lo, hi), starts, fields).await?;
        c.matched += b.matched;
        c.unstamped += b.unstamped;
        c.source_gone += b.source_gone;
        c.target_gone += b.target_gone;
        c.not_copied = c.not_copied.or(b.not_copied);
        c.differs = c.differs.or(b.differs);
    }
    Ok(c)
}

/// Scans both sides of one partition at once over the source offsets `range` (`[lo, hi)`) and
/// merges them by source offset. `starts` are the log start offsets of the source and the target.
async fn compare(
    source: &Cluster,
    target: &Cluster,
    p: &TopicPartition,
    map: &PartitionMap,
    range: (i64, i64),
    starts: (i64, i64),
    fields: Fields,
) -> Result<Compared, StepError> {
    let (Some(first), Some((copies_in_range, target_first, target_end))) =
        (map.first_source(), map.copies_in(range.0, range.1))
    else {
        return Ok(Compared::default());
    };
    let first = first.max(range.0);
    let source_end = map.next.unwrap_or(first).min(range.1);
    // (source offset, digest of key, value and headers, timestamp)
    let (stx, mut srx) = mpsc::channel::<(i64, u64, Option<i64>)>(8192);
    let (ttx, mut trx) = mpsc::channel::<(i64, u64, Option<i64>)>(8192);
    let source_scan = source.scan_partition(p, first.max(starts.0), Some(source_end), SCAN_IDLE, move |r| {
        stx.blocking_send((r.offset, r.digest(), r.timestamp)).is_ok()
    });
    let copies = map.clone();
    let target_scan =
        target.scan_partition(p, target_first.max(starts.1), Some(target_end), SCAN_IDLE, move |r| {
            match copies.source_of(r.offset) {
                Some(s) => ttx.blocking_send((s, r.digest(), r.timestamp)).is_ok(),
                // A record producers wrote to the target.
                None => true,
            }
        });
    let merge = async {
        let mut c = Compared::default();
        let (mut a, mut b) = (srx.recv().await, trx.recv().await);
        loop {
            match (a, b) {
                (None, None) => break,
                (Some((s, ds, ts)), Some((t, dt, tt))) if s == t => {
                    c.matched += 1;
                    if fields == Fields::All && !timestamp_kept(ts) {
                        c.unstamped += 1;
                    }
                    if (ds != dt || !fields.timestamps_agree(ts, tt)) && c.differs.is_none() {
                        c.differs = Some((s, map.target_of(s).unwrap_or(-1)));
                    }
                    (a, b) = (srx.recv().await, trx.recv().await);
                }
                (Some((s, _, _)), b_) if b_.is_none_or(|(t, _, _)| s < t) => {
                    if map.target_of(s).is_some() {
                        c.target_gone += 1;
                    } else {
                        c.not_copied.get_or_insert(s);
                    }
                    a = srx.recv().await;
                }
                // A copy whose source record is gone (counted below).
                (_, Some(_)) => b = trx.recv().await,
                (Some(_), None) => unreachable!("handled above"),
            }
        }
        // Every other copy's source record is gone: compacted away, or before the log start (the
        // scan did not even read those).
        c.source_gone = copies_in_range - c.matched - c.target_gone;
        Ok::<Compared, StepError>(c)
    };
    let (_, _, c) = tokio::try_join!(
        async { source_scan.await.map_err(kafka_error) },
        async { target_scan.await.map_err(kafka_error) },
        merge
    )?;
    Ok(c)
}
