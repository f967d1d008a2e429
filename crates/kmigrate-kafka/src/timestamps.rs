//! Timestamp inspection: do a partition's records carry timestamps a by-time lookup can use?
//!
//! Records produced by clients older than Kafka 0.10 have none (timestamp -1), and a by-time lookup over
//! them is wrong. kmigrate reads the first and the last few records of each partition and classifies them,
//! so that a by-time lookup can be refused naming the partitions (the fallback is an explicit offsets file).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::client::Cluster;
use crate::error::{Error, Result};
use crate::records::{Range, RecordTimestamp};
use crate::types::TopicPartition;

/// What kind of timestamps a partition's sampled records carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimestampKind {
    /// The partition has no records: nothing to look up.
    Empty,
    /// Producer-set timestamps (CreateTime) on every sampled record.
    CreateTime,
    /// Broker-set timestamps (LogAppendTime) on every sampled record: by-time lookups work, but the times
    /// are when the broker appended the records, and copies get the target broker's time.
    LogAppendTime,
    /// Some sampled record has no timestamp: by-time lookups are wrong for this partition.
    Missing,
}

impl TimestampKind {
    /// Whether a by-time lookup on this partition gives a meaningful answer.
    pub fn usable_for_time_lookup(self) -> bool {
        self != TimestampKind::Missing
    }
}

/// The result of inspecting one partition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionTimestamps {
    pub partition: TopicPartition,
    pub kind: TimestampKind,
    /// Number of records read.
    pub sampled: usize,
    /// Sampled records without a timestamp.
    pub missing: usize,
    /// Smallest and largest timestamp seen, if any.
    pub min_timestamp: Option<i64>,
    pub max_timestamp: Option<i64>,
}

/// Classifies the timestamps of sampled records (pure).
pub fn classify(timestamps: &[RecordTimestamp]) -> TimestampKind {
    if timestamps.is_empty() {
        TimestampKind::Empty
    } else if timestamps.contains(&RecordTimestamp::Missing) {
        TimestampKind::Missing
    } else if timestamps.iter().any(|t| matches!(t, RecordTimestamp::LogAppendTime(_))) {
        TimestampKind::LogAppendTime
    } else {
        TimestampKind::CreateTime
    }
}

pub(crate) fn summarize(partition: TopicPartition, timestamps: &[RecordTimestamp]) -> PartitionTimestamps {
    let millis: Vec<i64> = timestamps.iter().filter_map(|t| t.millis()).collect();
    PartitionTimestamps {
        partition,
        kind: classify(timestamps),
        sampled: timestamps.len(),
        missing: timestamps.iter().filter(|t| **t == RecordTimestamp::Missing).count(),
        min_timestamp: millis.iter().min().copied(),
        max_timestamp: millis.iter().max().copied(),
    }
}

/// An offset range `[start, end)`.
type Span = (i64, i64);

/// The head and tail ranges to sample, `sample` records each (they merge when the partition is short).
pub(crate) fn sample_ranges(earliest: i64, latest: i64, sample: i64) -> (Option<Span>, Option<Span>) {
    if latest <= earliest || sample <= 0 {
        return (None, None);
    }
    let head_end = (earliest + sample).min(latest);
    let tail_start = (latest - sample).max(head_end);
    let tail = (tail_start < latest).then_some((tail_start, latest));
    (Some((earliest, head_end)), tail)
}

impl Cluster {
    /// Reads the first and the last `sample` records of every partition and classifies their timestamps.
    /// Results are in the order of `partitions`.
    pub async fn inspect_timestamps(
        &self,
        partitions: &[TopicPartition],
        sample: usize,
    ) -> Result<Vec<PartitionTimestamps>> {
        let watermarks = self.watermarks(partitions).await?;
        let mut heads = Vec::new();
        let mut tails = Vec::new();
        for p in partitions {
            let w = watermarks[p];
            let (head, tail) = sample_ranges(w.earliest, w.latest, sample as i64);
            if let Some((start, end)) = head {
                heads.push(Range { partition: p.clone(), start, end });
            }
            if let Some((start, end)) = tail {
                tails.push(Range { partition: p.clone(), start, end });
            }
        }
        let timeout = self.request_timeout().max(Duration::from_secs(10));
        let mut seen: BTreeMap<TopicPartition, Vec<RecordTimestamp>> = BTreeMap::new();
        // A partition can be assigned once per consumer assignment: heads first, then tails.
        for ranges in [heads, tails] {
            for (p, records) in self.read_ranges(ranges, timeout).await? {
                seen.entry(p).or_default().extend(records.iter().map(|r| r.timestamp));
            }
        }
        Ok(partitions
            .iter()
            .map(|p| summarize(p.clone(), seen.get(p).map(Vec::as_slice).unwrap_or(&[])))
            .collect())
    }

    /// Checks that by-time lookups are meaningful on `partitions`: [`Error::TimestampsMissing`] names every
    /// partition with records without timestamps.
    pub async fn require_timestamps(&self, partitions: &[TopicPartition], sample: usize) -> Result<()> {
        let bad: Vec<TopicPartition> = self
            .inspect_timestamps(partitions, sample)
            .await?
            .into_iter()
            .filter(|p| !p.kind.usable_for_time_lookup())
            .map(|p| p.partition)
            .collect();
        if bad.is_empty() {
            Ok(())
        } else {
            Err(Error::TimestampsMissing { label: self.label().to_string(), partitions: bad })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RecordTimestamp::*;

    #[test]
    fn classification() {
        assert_eq!(classify(&[]), TimestampKind::Empty);
        assert_eq!(classify(&[CreateTime(1), CreateTime(2)]), TimestampKind::CreateTime);
        assert_eq!(classify(&[LogAppendTime(1)]), TimestampKind::LogAppendTime);
        assert_eq!(classify(&[CreateTime(1), Missing]), TimestampKind::Missing);
        assert!(!TimestampKind::Missing.usable_for_time_lookup());
        assert!(TimestampKind::LogAppendTime.usable_for_time_lookup());
        assert!(TimestampKind::Empty.usable_for_time_lookup());
    }

    #[test]
    fn rdkafka_timestamps_map() {
        assert_eq!(RecordTimestamp::from_rdkafka(rdkafka::Timestamp::NotAvailable), Missing);
        assert_eq!(RecordTimestamp::from_rdkafka(rdkafka::Timestamp::CreateTime(-1)), Missing);
        assert_eq!(RecordTimestamp::from_rdkafka(rdkafka::Timestamp::LogAppendTime(5)), LogAppendTime(5));
    }

    #[test]
    fn summary() {
        let s = summarize(TopicPartition::new("t", 0), &[CreateTime(5), Missing, CreateTime(3)]);
        assert_eq!(s.kind, TimestampKind::Missing);
        assert_eq!((s.sampled, s.missing), (3, 1));
        assert_eq!((s.min_timestamp, s.max_timestamp), (Some(3), Some(5)));
    }

    #[test]
    fn ranges() {
        assert_eq!(sample_ranges(0, 0, 3), (None, None));
        assert_eq!(sample_ranges(0, 2, 3), (Some((0, 2)), None));
        assert_eq!(sample_ranges(0, 5, 3), (Some((0, 3)), Some((3, 5))));
        assert_eq!(sample_ranges(10, 100, 3), (Some((10, 13)), Some((97, 100))));
    }
}
