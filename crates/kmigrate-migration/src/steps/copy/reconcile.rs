//! Resume after a kill: records the target acknowledged but the checkpoint does not know.
//!
//! They are found by reading the target after the last recorded copy and matching its records, in
//! order, against the source's from the checkpoint on (copies land in source order: the producer
//! is idempotent and gap-less). Both sides are read by *number of records*, never by offset
//! range: a compacted log or a run of aborted transactions can hold no record over thousands of
//! offsets, and reconciliation must go on reading until it has matched or ruled out the target's
//! tail, whatever the gaps.

use std::collections::VecDeque;

use kmigrate_kafka::{Cluster, Fields, RecordData, TopicPartition};

use super::super::errors::kafka_error;
use super::SCAN_IDLE;
use crate::executor::StepError;
use crate::offset_map::PartitionMap;

/// Records read at once from each side, and their key + value bytes (records can be as large as
/// the topic allows).
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

/// Finds the records of `p` that the target holds after the last recorded copy and that are
/// copies of the source records from `entry.next` on; records them. Returns how many.
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
                Some(want) if want.same_content(&record, fields) => {
                    entry.record(want.offset, record.offset);
                    expected.pop_front();
                    found += 1;
                }
                // A record producers wrote to the target.
                Some(_) => {}
                None => return Ok(found),
            }
        }
    }
    Ok(found)
}
