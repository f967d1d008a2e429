//! Verification of the copies: every copied range matches its source, record by record.

use kmigrate_kafka::{Cluster, Fields, RecordData, TopicPartition};

use super::super::context::{Context, kafka_error};
use super::{CopyState, SCAN_IDLE, kept_fields};
use crate::offset_map::PartitionMap;
use crate::walker::{StepError, StepHandle};

/// Differences found by [`verify`], and a line for the summary.
pub struct CopyCheck {
    pub problems: Vec<String>,
    pub summary: Option<String>,
}

const VERIFY_CHUNK: u64 = 10_000;

/// Compares every copied range, record by record through chunked digests: counts, and the first
/// differing offset when a digest differs.
pub async fn verify(ctx: &Context, h: &StepHandle) -> Result<CopyCheck, StepError> {
    if !ctx.plan.copies_data() {
        return Ok(CopyCheck { problems: Vec::new(), summary: None });
    }
    let (source, target) = tokio::try_join!(ctx.source(), ctx.target())?;
    let mut problems = Vec::new();
    let (mut partitions, mut records) = (0, 0);
    let mut stamped = Vec::new();
    for topic in ctx.topics(h) {
        let state: CopyState =
            serde_json::from_value(h.checkpoint.outputs(&format!("copy:{topic}"))).unwrap_or_default();
        let fields =
            if state.partitions.is_empty() { Fields::All } else { kept_fields(target, &topic).await? };
        if fields == Fields::WithoutTimestamp {
            stamped.push(topic.clone());
        }
        for (partition, map) in &state.partitions {
            let Some(first) = map.first_source() else { continue };
            let p = TopicPartition::new(topic.clone(), *partition);
            let src_end = map.next.unwrap_or(first);
            let tgt = (map.runs[0][1], map.target_end().unwrap_or(0));
            let (src, dst) = tokio::try_join!(
                digests(source, &p, first, src_end, None, fields),
                digests(target, &p, tgt.0, tgt.1, Some(map.clone()), fields)
            )?;
            partitions += 1;
            records += src.count;
            if src.count != map.copied() || dst.count != map.copied() {
                problems.push(format!(
                    "{p}: the copy recorded {} records; the source range {first}..{src_end} holds {}, the target holds {}",
                    map.copied(),
                    src.count,
                    dst.count
                ));
                continue;
            }
            if let Some(i) = src.chunks.iter().zip(&dst.chunks).position(|(a, b)| a != b) {
                let (s, t) =
                    first_difference(source, target, &p, src.starts[i], dst.starts[i], map, fields).await?;
                problems.push(format!("{p}: records differ first at source offset {s} (target offset {t})"));
            }
        }
    }
    let compared = if stamped.is_empty() {
        String::new()
    } else {
        format!(
            " (keys, values and headers; not timestamps on {}, whose target topic stamps records with the broker's clock: message.timestamp.type=LogAppendTime)",
            stamped.join(", ")
        )
    };
    Ok(CopyCheck {
        problems,
        summary: (partitions > 0).then(|| {
            format!("{records} copied records in {partitions} partitions match the source{compared}")
        }),
    })
}

struct Digests {
    count: u64,
    chunks: Vec<u64>,
    /// The first offset of each chunk.
    starts: Vec<i64>,
}

/// Digests of the records in `start..end`, per chunk of `VERIFY_CHUNK` records; with `copies`,
/// only the target offsets that hold copies count.
async fn digests(
    cluster: &Cluster,
    p: &TopicPartition,
    start: i64,
    end: i64,
    copies: Option<PartitionMap>,
    fields: Fields,
) -> Result<Digests, StepError> {
    use std::hash::{DefaultHasher, Hasher};
    let acc = std::sync::Arc::new(std::sync::Mutex::new((
        Digests { count: 0, chunks: Vec::new(), starts: Vec::new() },
        DefaultHasher::new(),
    )));
    let sink = acc.clone();
    cluster
        .scan_partition(p, start, Some(end), SCAN_IDLE, move |r| {
            if copies.as_ref().is_some_and(|m| !m.is_copy(r.offset)) {
                return true;
            }
            let mut guard = sink.lock().expect("digest lock");
            let (d, hasher) = &mut *guard;
            if d.count % VERIFY_CHUNK == 0 {
                *hasher = DefaultHasher::new();
                d.starts.push(r.offset);
            }
            hasher.write_u64(r.digest(fields));
            d.count += 1;
            if d.count % VERIFY_CHUNK == 0 {
                d.chunks.push(hasher.finish());
            }
            true
        })
        .await
        .map_err(kafka_error)?;
    let (mut d, hasher) =
        std::sync::Arc::try_unwrap(acc).ok().expect("scan finished").into_inner().expect("digest lock");
    if d.count % VERIFY_CHUNK != 0 {
        d.chunks.push(hasher.finish());
    }
    Ok(d)
}

/// Reads one chunk on both sides and returns the first (source, target) offsets that differ.
async fn first_difference(
    source: &Cluster,
    target: &Cluster,
    p: &TopicPartition,
    src_start: i64,
    tgt_start: i64,
    map: &PartitionMap,
    fields: Fields,
) -> Result<(i64, i64), StepError> {
    let collect = |c: &Cluster, start: i64, filter: Option<PartitionMap>| {
        let c = c.clone();
        let p = p.clone();
        async move {
            let (tx, rx) = std::sync::mpsc::channel();
            let mut n = 0;
            c.scan_partition(&p, start, None, SCAN_IDLE, move |r| {
                if filter.as_ref().is_some_and(|m| !m.is_copy(r.offset)) {
                    return true;
                }
                n += 1;
                tx.send(r).is_ok() && n < VERIFY_CHUNK
            })
            .await
            .map_err(kafka_error)?;
            Ok::<Vec<RecordData>, StepError>(rx.into_iter().collect())
        }
    };
    let (a, b) =
        tokio::try_join!(collect(source, src_start, None), collect(target, tgt_start, Some(map.clone())))?;
    for (x, y) in a.iter().zip(&b) {
        if !x.same_content(y, fields) {
            return Ok((x.offset, y.offset));
        }
    }
    Ok((a.last().map_or(src_start, |r| r.offset), b.last().map_or(tgt_start, |r| r.offset)))
}
