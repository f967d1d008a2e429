//! Exact offsets for data another tool copied (`sync: { by: external }`: MirrorMaker 2,
//! Replicator, a script): the source → target offset map is rebuilt from the data itself by
//! aligning the two logs of each partition, record by record (key, value, headers, and the
//! timestamp where the target keeps it: [`kmigrate_kafka::Fields`]), as the copy's resume
//! reconciliation does. With the map, strict groups start exactly at the first record they have
//! not consumed, as with kmigrate's own copy.
//!
//! Both logs are streamed in order, each by a consumer of its own, so memory stays bounded
//! whatever their size (the look-ahead window, [`STREAM_BUFFER`] records per side and the
//! consumers' prefetch). A target
//! record that is not the copy of the next source record is a record producers wrote to the
//! target, unless it is the copy of a *later* source record (looked for among the next
//! [`LOOKAHEAD`] source records): then the source records before it were dropped or altered by
//! the external copy, and the alignment is impossible ([`Misaligned`]). Source records after the
//! last copy that the target does not hold mean the external copy has not caught up.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use kmigrate_kafka::{Cluster, Fields, RecordData, TopicPartition};
use tokio::sync::OnceCell;

use super::copy::SCAN_IDLE;
use super::errors::kafka_error;
use crate::executor::StepError;
use crate::offset_map::PartitionMap;

/// How many source records past the expected one a target record is looked for among, to tell a
/// dropped or altered record from a record producers wrote to the target.
pub const LOOKAHEAD: usize = 1_000;

/// Records each side's reader holds ahead of the alignment.
const STREAM_BUFFER: usize = 1_024;

/// Why a partition's logs cannot be aligned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Misaligned {
    /// The source record at `source_offset` has no copy on the target, but a later one has (at
    /// `target_offset`): the external copy dropped or altered it.
    Skipped { source_offset: i64, target_offset: i64 },
    /// The target holds no copy of the source's records from `source_offset` on.
    Behind { source_offset: i64 },
}

/// Partitions aligned at once: two consumers each.
pub const ALIGN_PARALLEL: usize = 4;

/// The alignments made in one apply, by partition. Every group that reads a partition shares
/// its alignment (the groups' offsets steps run after the cutover, concurrently); a re-run of
/// apply aligns again.
#[derive(Default)]
pub struct Alignments(Mutex<HashMap<TopicPartition, Arc<OnceCell<Alignment>>>>);

/// A partition's offset map, or why it cannot be had.
pub type Alignment = Result<PartitionMap, Misaligned>;

impl Alignments {
    /// `p`'s alignment: made once per apply (a failed read is not kept: a retry reads again).
    pub async fn get(
        &self,
        source: &Cluster,
        target: &Cluster,
        p: &TopicPartition,
        fields: Fields,
    ) -> Result<Alignment, StepError> {
        let cell = self.0.lock().expect("alignments lock").entry(p.clone()).or_default().clone();
        cell.get_or_try_init(|| align(source, target, p, fields)).await.cloned()
    }
}

/// Aligns one partition's logs: the offset map of the copies the target holds, or why not.
pub async fn align(
    source: &Cluster,
    target: &Cluster,
    p: &TopicPartition,
    fields: Fields,
) -> Result<Result<PartitionMap, Misaligned>, StepError> {
    let part = std::slice::from_ref(p);
    let (source_start, target_start) =
        tokio::try_join!(async { source.earliest_offsets(part).await.map_err(kafka_error) }, async {
            target.earliest_offsets(part).await.map_err(kafka_error)
        })?;
    let mut source = source.stream_partition(p, source_start[p], STREAM_BUFFER, SCAN_IDLE);
    let mut target = target.stream_partition(p, target_start[p], STREAM_BUFFER, SCAN_IDLE);
    let mut map = PartitionMap::default();
    let mut window: VecDeque<RecordData> = VecDeque::new();
    let mut source_done = false;
    while let Some(record) = target.next().await.map_err(kafka_error)? {
        // Enough source records to look ahead in.
        while !source_done && window.len() <= LOOKAHEAD {
            match source.next().await.map_err(kafka_error)? {
                Some(s) => window.push_back(s),
                None => source_done = true,
            }
        }
        match window.iter().position(|s| s.same_content(&record, fields)) {
            Some(0) => {
                let s = window.pop_front().expect("matched the front");
                map.record(s.offset, record.offset);
            }
            Some(_) => {
                let source_offset = window[0].offset;
                return Ok(Err(Misaligned::Skipped { source_offset, target_offset: record.offset }));
            }
            // A record producers wrote to the target.
            None => {}
        }
    }
    // Whatever the source still holds after the last copy was not copied.
    if window.is_empty() && !source_done {
        window.extend(source.next().await.map_err(kafka_error)?);
    }
    match window.front() {
        Some(s) => Ok(Err(Misaligned::Behind { source_offset: s.offset })),
        None => Ok(Ok(map)),
    }
}
