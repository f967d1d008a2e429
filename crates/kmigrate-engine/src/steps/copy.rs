//! `copy:<t>`: replicate every record of the topic to the same partition on the target, keep
//! copying while producers still write to the source, and finish once the cutover has passed and
//! every partition is copied to its end.
//!
//! The checkpoint (this step's outputs) holds, per partition, the offset map of the records the
//! target acknowledged. A kill can leave acknowledged records that the checkpoint does not know:
//! on resume they are found by reading the target after the last recorded copy and matching
//! records, in order, against the source from the checkpoint on (same key, value, headers and
//! timestamp). Copies land in source order (idempotent producer), so the match is exact; target
//! records that do not match are producers' new records.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use kmigrate_dag::StepKind;
use kmigrate_kafka::{Cluster, CopyEnd, CopyOptions, CopyPipe, RecordData, TopicPartition, Watermarks};
use kmigrate_plan::{GroupSpec, OffsetStore};
use serde::{Deserialize, Serialize};

use super::context::{Context, kafka_error};
use crate::compression::{CopyCompression, copy_compression};
use crate::offset_map::PartitionMap;
use crate::state::StepStatus;
use crate::walker::{StepError, StepHandle, StepOutcome, StepResult};

/// The checkpointed state of one topic's copy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CopyState {
    /// Keyed by partition number.
    pub partitions: BTreeMap<i32, PartitionMap>,
    #[serde(default)]
    pub bytes: u64,
    /// Every partition has been copied to its end at least once: the copy keeps up with the
    /// source, so producers can be switched (the manual cutover gate waits for this).
    #[serde(default)]
    pub caught_up: bool,
    /// The codec this copy writes with (the last run's; see [`crate::compression`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
}

impl CopyState {
    pub fn copied(&self) -> u64 {
        self.partitions.values().map(PartitionMap::copied).sum()
    }
}

const RECONCILE_CHUNK: i64 = 2_000;
/// Partitions reconciled at once (each holds a short-lived consumer while it reads).
const RECONCILE_PARALLEL: usize = 8;
const SCAN_IDLE: Duration = Duration::from_secs(30);

pub async fn run(ctx: &Context, h: &StepHandle) -> StepResult {
    let topic = h.step.subject().unwrap_or_default().to_string();
    let (source, target) = tokio::try_join!(ctx.source(), ctx.target())?;
    let partitions = ctx.partitions(source, std::slice::from_ref(&topic)).await?;
    let mut state: CopyState = serde_json::from_value(h.checkpoint.outputs(&h.id())).unwrap_or_default();

    // Acknowledged but not checkpointed before a kill: find them on the target.
    // Partitions are independent and each reconcile mostly waits (offset lookups, a fetch even
    // of an empty target): run several at once.
    let mut entries: Vec<PartitionMap> =
        partitions.iter().map(|p| state.partitions.remove(&p.partition).unwrap_or_default()).collect();
    // (The futures are built first: a closure inside the stream makes the step's future not
    // provably Send.)
    let reconciles: Vec<_> = partitions
        .iter()
        .zip(entries.iter_mut())
        .map(|(p, entry)| reconcile(source, target, p, entry))
        .collect();
    let found: Vec<u64> =
        futures::stream::iter(reconciles).buffered(RECONCILE_PARALLEL).try_collect().await?;
    for (p, entry) in partitions.iter().zip(entries) {
        state.partitions.insert(p.partition, entry);
    }
    let recovered: u64 = found.iter().sum();
    if recovered > 0 {
        h.warn(format!("found {recovered} records copied by an interrupted run; continuing after them"));
    }
    save(h, &state)?;

    let starts: BTreeMap<i32, Option<i64>> =
        partitions.iter().map(|p| (p.partition, state.partitions[&p.partition].next)).collect();
    let compression = compression_for(ctx, target, &topic, h).await?;
    state.compression = Some(compression.codec.as_str().to_string());
    let options =
        CopyOptions { compression: compression.codec.as_str().to_string(), ..CopyOptions::default() };
    let mut pipe = CopyPipe::start(source, target, &topic, &starts, options).map_err(kafka_error)?;
    let started = Instant::now();
    let copied_before = state.copied();
    let mut last_save = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut stopping = false;
    let mut lag: Option<u64> = None;
    let mut cutover_signalled = false;
    loop {
        tokio::select! {
            progress = pipe.next() => {
                let Some(progress) = progress else { break };
                for d in &progress.deliveries {
                    state.partitions.entry(d.partition).or_default().record(d.source_offset, d.target_offset);
                }
                state.bytes += progress.bytes;
                lag = progress.lag.or(lag);
                let all_at_end = partitions.iter().all(|p| progress.at_end.contains(&p.partition));
                if all_at_end && !state.caught_up {
                    state.caught_up = true;
                    save(h, &state)?;
                }
                if last_save.elapsed() >= Duration::from_secs(1) {
                    last_save = Instant::now();
                    save(h, &state)?;
                    report(h, &state, copied_before, started, lag);
                }
            }
            _ = tick.tick() => {
                if !cutover_signalled && h.checkpoint.status(StepKind::Cutover.as_str()) == Some(StepStatus::Done) {
                    cutover_signalled = true;
                    pipe.cutover_passed();
                }
                if !stopping && h.stop_requested() {
                    stopping = true;
                    pipe.stop();
                }
            }
        }
    }
    let end = pipe.join().await;
    save(h, &state)?;
    report(h, &state, copied_before, started, lag);
    let end = end.map_err(kafka_error)?;
    match end {
        CopyEnd::Stopped => Ok(StepOutcome::Interrupted),
        CopyEnd::Finished => {
            let secs = started.elapsed().as_secs_f64().max(0.001);
            let this_run = state.copied() - copied_before;
            let summary = if this_run == 0 {
                format!(
                    "copied {} records ({}) in {} partitions; nothing more to copy",
                    state.copied(),
                    human_bytes(state.bytes),
                    state.partitions.len()
                )
            } else {
                format!(
                    "copied {} records ({}) in {} partitions, compressed with {compression}; this run {} records at {:.0} records/s",
                    state.copied(),
                    human_bytes(state.bytes),
                    state.partitions.len(),
                    this_run,
                    this_run as f64 / secs
                )
            };
            Ok(StepOutcome::Done {
                summary,
                outputs: serde_json::to_value(&state).expect("copy state serializes"),
            })
        }
    }
}

/// The codec of this topic's copy: the plan's `sync.compression`, else the target topic's own
/// `compression.type` (as the topic step left it), else the default ([`crate::compression`]).
async fn compression_for(
    ctx: &Context,
    target: &Cluster,
    topic: &str,
    h: &StepHandle,
) -> Result<CopyCompression, StepError> {
    let configs = target.describe_topic_configs(&[topic]).await.map_err(kafka_error)?;
    let topic_type = configs.get(topic).and_then(|c| c.overrides().remove("compression.type"));
    let chosen = copy_compression(ctx.plan.compression.map(|c| c.codec), topic_type.as_deref());
    if let Some(to) = chosen.recompressed_to {
        h.warn(format!(
            "the copy writes {} (sync.compression) but topic {topic} on the target has compression.type {to}: the broker recompresses every batch",
            chosen.codec
        ));
    }
    Ok(chosen)
}

fn save(h: &StepHandle, state: &CopyState) -> Result<(), StepError> {
    h.save_outputs(serde_json::to_value(state).expect("copy state serializes"))
}

/// Progress of the copy: records and bytes so far, rates of this run, and the records the
/// source holds that are not read yet (the bar's total is copied + lag).
fn report(h: &StepHandle, state: &CopyState, copied_before: u64, started: Instant, lag: Option<u64>) {
    let secs = started.elapsed().as_secs_f64().max(0.001);
    let this_run = state.copied() - copied_before;
    let lag_text = lag.map_or(String::new(), |l| format!(", lag {l} records"));
    h.progress(
        state.copied(),
        lag.map(|l| state.copied() + l),
        "records",
        Some(format!(
            "{} records, {} copied ({:.0} records/s, {:.1} MB/s{lag_text})",
            state.copied(),
            human_bytes(state.bytes),
            this_run as f64 / secs,
            state.bytes as f64 / 1e6 / secs
        )),
    );
}

fn human_bytes(b: u64) -> String {
    match b {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// Reads a range of records (at most `RECONCILE_CHUNK`) into memory.
async fn read_chunk(cluster: &Cluster, p: &TopicPartition, start: i64) -> Result<Vec<RecordData>, StepError> {
    let (tx, rx) = std::sync::mpsc::channel();
    cluster
        .scan_partition(p, start, Some(start + RECONCILE_CHUNK), SCAN_IDLE, move |r| tx.send(r).is_ok())
        .await
        .map_err(kafka_error)?;
    Ok(rx.into_iter().collect())
}

/// Finds the records of `p` that the target holds after the last recorded copy and that are
/// copies of the source records from `entry.next` on; records them. Returns how many.
async fn reconcile(
    source: &Cluster,
    target: &Cluster,
    p: &TopicPartition,
    entry: &mut PartitionMap,
) -> Result<u64, StepError> {
    let target_from = match entry.target_end() {
        Some(t) => t,
        None => target.earliest_offsets(std::slice::from_ref(p)).await.map_err(kafka_error)?[p],
    };
    let mut source_next = match entry.next {
        Some(n) => n,
        None => source.earliest_offsets(std::slice::from_ref(p)).await.map_err(kafka_error)?[p],
    };
    let mut expected: VecDeque<RecordData> = VecDeque::new();
    let mut source_done = false;
    let mut found = 0;
    let mut target_next = target_from;
    loop {
        let chunk = read_chunk(target, p, target_next).await?;
        let Some(last) = chunk.last() else { break };
        target_next = last.offset + 1;
        for record in chunk {
            if expected.is_empty() && !source_done {
                let more = read_chunk(source, p, source_next).await?;
                source_done = more.is_empty();
                if let Some(l) = more.last() {
                    source_next = l.offset + 1;
                }
                expected.extend(more);
            }
            match expected.front() {
                Some(want) if want.same_content(&record) => {
                    entry.record(want.offset, record.offset);
                    expected.pop_front();
                    found += 1;
                }
                Some(_) => {}
                None => return Ok(found),
            }
        }
    }
    Ok(found)
}

/// Exact start offsets for a group, from the copies' offset maps; `None` when kmigrate does not
/// copy the data.
pub struct Exact {
    pub offsets: BTreeMap<TopicPartition, i64>,
    pub duplicates: u64,
}

/// Reads the group's position on the source and translates it through the copies' offset maps
/// (see [`exact_from`]). `marks` are the target watermarks of `partitions`.
pub async fn exact_offsets(
    ctx: &Context,
    h: &StepHandle,
    group: &GroupSpec,
    partitions: &[TopicPartition],
    marks: &BTreeMap<TopicPartition, Watermarks>,
) -> Result<Option<Exact>, StepError> {
    if !ctx.plan.copies_data() {
        return Ok(None);
    }
    // The group's position on the source; self-stored groups are taken as drained (they read
    // every record before the cutover).
    let committed = match group.offsets {
        OffsetStore::BrokerManaged => {
            Some(ctx.source().await?.committed_offsets(&group.id, partitions).await.map_err(kafka_error)?)
        }
        OffsetStore::SelfStored => None,
    };
    let copy_state = |topic: &str| {
        serde_json::from_value(h.checkpoint.outputs(&format!("copy:{topic}"))).unwrap_or_default()
    };
    Ok(Some(exact_from(&copy_state, committed.as_ref(), partitions, marks)))
}

/// Pure: where the group starts on each target partition, from the copy state of each topic
/// (`copy_state`), its committed offsets on the source (`None`: self-stored, taken as drained)
/// and the target watermarks.
pub fn exact_from(
    copy_state: &dyn Fn(&str) -> CopyState,
    committed: Option<&BTreeMap<TopicPartition, Option<i64>>>,
    partitions: &[TopicPartition],
    marks: &BTreeMap<TopicPartition, Watermarks>,
) -> Exact {
    let mut offsets = BTreeMap::new();
    let mut duplicates = 0;
    let mut states: BTreeMap<String, CopyState> = BTreeMap::new();
    for p in partitions {
        let state = states.entry(p.topic.clone()).or_insert_with(|| copy_state(&p.topic));
        let map = state.partitions.get(&p.partition).cloned().unwrap_or_default();
        let consumed = match committed {
            Some(c) => c.get(p).copied().flatten(),
            None => map.next,
        };
        let w = marks[p];
        let (start, dups) = map.translate(consumed, w.earliest, w.latest);
        offsets.insert(p.clone(), start);
        duplicates += dups;
    }
    Exact { offsets, duplicates }
}

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
    for topic in ctx.topics(h) {
        let state: CopyState =
            serde_json::from_value(h.checkpoint.outputs(&format!("copy:{topic}"))).unwrap_or_default();
        for (partition, map) in &state.partitions {
            let Some(first) = map.first_source() else { continue };
            let p = TopicPartition::new(topic.clone(), *partition);
            let src_end = map.next.unwrap_or(first);
            let tgt = (map.runs[0][1], map.target_end().unwrap_or(0));
            let (src, dst) = tokio::try_join!(
                digests(source, &p, first, src_end, None),
                digests(target, &p, tgt.0, tgt.1, Some(map.clone()))
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
                let (s, t) = first_difference(source, target, &p, src.starts[i], dst.starts[i], map).await?;
                problems.push(format!("{p}: records differ first at source offset {s} (target offset {t})"));
            }
        }
    }
    Ok(CopyCheck {
        problems,
        summary: (partitions > 0)
            .then(|| format!("{records} copied records in {partitions} partitions match the source")),
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
            hasher.write_u64(r.digest());
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
        if !x.same_content(y) {
            return Ok((x.offset, y.offset));
        }
    }
    Ok((a.last().map_or(src_start, |r| r.offset), b.last().map_or(tgt_start, |r| r.offset)))
}
