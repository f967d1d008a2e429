//! Resume after a kill: records the target acknowledged but the checkpoint does not know.
//!
//! They are found by reading the target after the last recorded copy and matching its records, in
//! order, against the source's from the checkpoint on (copies land in source order: the producer
//! is idempotent and gap-less). Both sides are read by *number of records*, never by offset
//! range: a compacted log or a run of aborted transactions can hold no record over thousands of
//! offsets, and reconciliation must go on reading until it has matched or ruled out the target's
//! tail, whatever the gaps.

use kmigrate_kafka::{Cluster, Fields, RecordData, RecordStream, TopicPartition};

use super::super::errors::kafka_error;
use super::SCAN_IDLE;
use crate::executor::StepError;
use crate::offset_map::PartitionMap;

/// Records read at once by [`read_chunk`], and their key + value bytes (records can be as large
/// as the topic allows).
const RECONCILE_CHUNK: usize = 2_000;
const RECONCILE_CHUNK_BYTES: usize = 64 << 20;

/// Reads up to `RECONCILE_CHUNK` records (or `RECONCILE_CHUNK_BYTES`) from `start` on, whatever
/// offsets they are at; empty at the end of the partition.
pub(crate) async fn read_chunk(
    cluster: &Cluster,
    p: &TopicPartition,
    start: i64,
) -> Result<Vec<RecordData>, StepError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (mut n, mut bytes) = (0, 0);
    cluster
        .scan_partition(p, start, None, SCAN_IDLE, move |r| {
            n += 1;
            bytes += r.key.as_ref().map_or(0, Vec::len) + r.value.as_ref().map_or(0, Vec::len);
            tx.send(r).is_ok() && n < RECONCILE_CHUNK && bytes < RECONCILE_CHUNK_BYTES
        })
        .await
        .map_err(kafka_error)?;
    Ok(rx.into_iter().collect())
}

/// Records each side's reader holds ahead of the match (records can be as large as the topic
/// allows: a few batches of them, not a whole chunk).
const RECONCILE_AHEAD: usize = 64;

/// Finds the records of `p` that the target holds after the last recorded copy and that are
/// copies of the source records from `entry.next` on; records them. Returns how many.
///
/// Each side is one stream (one consumer reading ahead), not a consumer per chunk: a copy killed
/// with a full producer buffer leaves tens of thousands of records to match.
pub(super) async fn reconcile(
    source: &Cluster,
    target: &Cluster,
    p: &TopicPartition,
    entry: &mut PartitionMap,
    fields: Fields,
) -> Result<u64, StepError> {
    let target_from = match entry.target_end() {
        Some(t) => t,
        None => target.earliest_offsets(std::slice::from_ref(p)).await.map_err(kafka_error)?[p],
    };
    let source_from = match entry.next {
        Some(n) => n,
        None => source.earliest_offsets(std::slice::from_ref(p)).await.map_err(kafka_error)?[p],
    };
    let mut on_target = target.stream_partition(p, target_from, RECONCILE_AHEAD, SCAN_IDLE);
    // The source is read only once the target holds something after the last recorded copy.
    let mut on_source: Option<RecordStream> = None;
    // The next source record a copy on the target would match.
    let mut want: Option<RecordData> = None;
    let mut found = 0;
    while let Some(record) = on_target.next().await.map_err(kafka_error)? {
        if want.is_none() {
            let stream = on_source
                .get_or_insert_with(|| source.stream_partition(p, source_from, RECONCILE_AHEAD, SCAN_IDLE));
            want = stream.next().await.map_err(kafka_error)?;
        }
        match &want {
            Some(w) if w.same_content(&record, fields) => {
                entry.record(w.offset, record.offset);
                want = None;
                found += 1;
            }
            // A record producers wrote to the target.
            Some(_) => {}
            // Every source record from the checkpoint on is matched.
            None => return Ok(found),
        }
    }
    Ok(found)
}
