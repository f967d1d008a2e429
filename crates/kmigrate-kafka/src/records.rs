//! Reading a few records of given offset ranges (for timestamp inspection and for checking by-time answers).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::{Message, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use crate::client::Cluster;
use crate::error::{Error, Result};
use crate::types::TopicPartition;

/// The timestamp of a record, as the broker returned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordTimestamp {
    /// Set by the producer (`message.timestamp.type=CreateTime`), in ms since the epoch.
    CreateTime(i64),
    /// Set by the broker when it appended the record (`message.timestamp.type=LogAppendTime`).
    LogAppendTime(i64),
    /// No timestamp: records written by clients before Kafka 0.10 (timestamp -1).
    Missing,
}

impl RecordTimestamp {
    pub(crate) fn from_rdkafka(ts: rdkafka::Timestamp) -> Self {
        match ts {
            rdkafka::Timestamp::CreateTime(t) if t >= 0 => RecordTimestamp::CreateTime(t),
            rdkafka::Timestamp::LogAppendTime(t) if t >= 0 => RecordTimestamp::LogAppendTime(t),
            _ => RecordTimestamp::Missing,
        }
    }

    /// Milliseconds since the epoch, if the record has a timestamp.
    pub fn millis(self) -> Option<i64> {
        match self {
            RecordTimestamp::CreateTime(t) | RecordTimestamp::LogAppendTime(t) => Some(t),
            RecordTimestamp::Missing => None,
        }
    }
}

/// Offset and timestamp of a record read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordMeta {
    pub offset: i64,
    pub timestamp: RecordTimestamp,
    /// Key + value bytes (what a copy transfers; headers not counted).
    pub bytes: u64,
}

/// Records read from a partition and their key + value bytes (see [`Cluster::sample_record_bytes`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampledBytes {
    pub records: u64,
    pub bytes: u64,
}

/// A range of offsets of one partition: `start` inclusive, `end` exclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Range {
    pub partition: TopicPartition,
    pub start: i64,
    pub end: i64,
}

impl Cluster {
    /// Reads the records of `start..end` of each partition (one range per partition) and sums their key +
    /// value bytes: the basis of size estimates (`kmigrate plan` samples the last records of each partition).
    /// One short-lived consumer assigned to every range, so one Fetch per leader broker per round, whatever
    /// the number of partitions.
    pub async fn sample_record_bytes(
        &self,
        ranges: &[(TopicPartition, i64, i64)],
    ) -> Result<BTreeMap<TopicPartition, SampledBytes>> {
        let ranges: Vec<Range> = ranges
            .iter()
            .map(|(p, start, end)| Range { partition: p.clone(), start: *start, end: *end })
            .collect();
        let timeout = self.request_timeout().max(Duration::from_secs(10));
        Ok(self
            .read_ranges(ranges, timeout)
            .await?
            .into_iter()
            .map(|(p, records)| {
                let sampled = SampledBytes {
                    records: records.len() as u64,
                    bytes: records.iter().map(|r| r.bytes).sum(),
                };
                (p, sampled)
            })
            .collect())
    }

    /// Reads the records of the given ranges (each partition at most once), with one consumer assigned to all
    /// of them, until every range is read or `timeout` passes. Offsets without a record (control records of
    /// transactions, compacted records) are skipped.
    pub(crate) async fn read_ranges(
        &self,
        ranges: Vec<Range>,
        timeout: Duration,
    ) -> Result<BTreeMap<TopicPartition, Vec<RecordMeta>>> {
        let ranges: Vec<Range> = ranges.into_iter().filter(|r| r.start < r.end).collect();
        let mut out: BTreeMap<TopicPartition, Vec<RecordMeta>> =
            ranges.iter().map(|r| (r.partition.clone(), Vec::new())).collect();
        if ranges.is_empty() {
            return Ok(out);
        }
        let consumer = self.consumer(None)?;
        let label = self.label().to_string();
        let this = self.clone();
        let read = self
            .blocking(move |_| {
                let mut tpl = TopicPartitionList::new();
                for r in &ranges {
                    tpl.add_partition_offset(
                        &r.partition.topic,
                        r.partition.partition,
                        Offset::Offset(r.start),
                    )
                    .map_err(|e| this.kafka_error("reading records", &e, Duration::ZERO))?;
                }
                consumer.assign(&tpl).map_err(|e| this.kafka_error("reading records", &e, Duration::ZERO))?;
                let ends: BTreeMap<(String, i32), i64> = ranges
                    .iter()
                    .map(|r| ((r.partition.topic.clone(), r.partition.partition), r.end))
                    .collect();
                let mut pending: BTreeSet<(String, i32)> = ends.keys().cloned().collect();
                let started = Instant::now();
                while !pending.is_empty() {
                    if started.elapsed() >= timeout {
                        return Err(Error::Timeout {
                            label: label.clone(),
                            operation: format!(
                                "reading records of {}",
                                pending
                                    .iter()
                                    .map(|(t, p)| format!("{t}/{p}"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                            waited: started.elapsed(),
                        });
                    }
                    match consumer.poll(Duration::from_millis(100)) {
                        Some(Ok(m)) => {
                            let key = (m.topic().to_string(), m.partition());
                            let Some(end) = ends.get(&key) else { continue };
                            if m.offset() < *end {
                                out.get_mut(&TopicPartition::new(m.topic(), m.partition()))
                                    .expect("every range has an entry")
                                    .push(RecordMeta {
                                        offset: m.offset(),
                                        timestamp: RecordTimestamp::from_rdkafka(m.timestamp()),
                                        bytes: (m.key().map_or(0, <[u8]>::len)
                                            + m.payload().map_or(0, <[u8]>::len))
                                            as u64,
                                    });
                            }
                            if m.offset() + 1 >= *end {
                                pending.remove(&key);
                            }
                        }
                        Some(Err(e)) => {
                            return Err(this.kafka_error("reading records", &e, started.elapsed()));
                        }
                        None => {
                            // Nothing delivered: a range may end with offsets that carry no record.
                            if let Ok(pos) = consumer.position() {
                                for el in pos.elements() {
                                    if let (Offset::Offset(o), Some(end)) =
                                        (el.offset(), ends.get(&(el.topic().to_string(), el.partition())))
                                        && o >= *end
                                    {
                                        pending.remove(&(el.topic().to_string(), el.partition()));
                                    }
                                }
                            }
                        }
                    }
                }
                Ok(out)
            })
            .await?;
        Ok(read)
    }
}
