//! Exact offsets for data another tool copied (`sync: { by: external }`: MirrorMaker 2,
//! Replicator, a script): the source → target offset map is rebuilt from the data itself by
//! aligning the two logs of each partition, record by record (key, value, headers, and the
//! timestamp where the target keeps it: [`kmigrate_kafka::Fields`]), as the copy's resume
//! reconciliation does. With the map, strict groups start exactly at the first record they have
//! not consumed, as with kmigrate's own copy.
//!
//! Both logs are read in order, in chunks, so memory stays bounded whatever their size. A target
//! record that is not the copy of the next source record is a record producers wrote to the
//! target, unless it is the copy of a *later* source record (looked for among the next
//! [`LOOKAHEAD`] source records): then the source records before it were dropped or altered by
//! the external copy, and the alignment is impossible ([`Misaligned`]). Source records after the
//! last copy that the target does not hold mean the external copy has not caught up.

use std::collections::VecDeque;

use kmigrate_kafka::{Cluster, Fields, RecordData, TopicPartition};

use super::context::kafka_error;
use super::copy::reconcile::read_chunk;
use crate::executor::StepError;
use crate::offset_map::PartitionMap;

/// How many source records past the expected one a target record is looked for among, to tell a
/// dropped or altered record from a record producers wrote to the target.
pub const LOOKAHEAD: usize = 1_000;

/// Why a partition's logs cannot be aligned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Misaligned {
    /// The source record at `source_offset` has no copy on the target, but a later one has (at
    /// `target_offset`): the external copy dropped or altered it.
    Skipped { source_offset: i64, target_offset: i64 },
    /// The target holds no copy of the source's records from `source_offset` on.
    Behind { source_offset: i64 },
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
    let mut source_next = source_start[p];
    let mut target_next = target_start[p];
    let mut map = PartitionMap::default();
    let mut window: VecDeque<RecordData> = VecDeque::new();
    let mut source_done = false;
    loop {
        let chunk = read_chunk(target, p, target_next).await?;
        let Some(last) = chunk.last() else { break };
        target_next = last.offset + 1;
        for record in chunk {
            // Enough source records to look ahead in.
            while !source_done && window.len() <= LOOKAHEAD {
                let more = read_chunk(source, p, source_next).await?;
                match more.last() {
                    Some(l) => source_next = l.offset + 1,
                    None => source_done = true,
                }
                window.extend(more);
            }
            match window.iter().take(LOOKAHEAD + 1).position(|s| s.same_content(&record, fields)) {
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
    }
    // Whatever the source still holds after the last copy was not copied.
    if window.is_empty() && !source_done {
        window.extend(read_chunk(source, p, source_next).await?);
    }
    match window.front() {
        Some(s) => Ok(Err(Misaligned::Behind { source_offset: s.offset })),
        None => Ok(Ok(map)),
    }
}
