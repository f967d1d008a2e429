//! Offsets of many partitions at once: earliest, latest, and the first offset at or after a time.
//!
//! Every lookup is one librdkafka ListOffsets admin call for all the partitions: librdkafka finds each
//! partition's leader and sends **one ListOffsets request per leader broker**, so the number of requests per
//! broker does not grow with the number of partitions (measured: see BENCHMARKS.md, "Offset lookups:
//! requests per broker"). A by-time lookup makes three such calls (by time, earliest, latest).

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::types::RDKafkaErrorCode;
use serde::{Deserialize, Serialize};

use crate::client::Cluster;
use crate::error::{Error, Result};
use crate::ffi::{self, ListedOffset, SPEC_EARLIEST, SPEC_LATEST};
use crate::records::Range;
use crate::types::TopicPartition;

/// The earliest retained offset and the end offset (high watermark: the offset the next record will get).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermarks {
    pub earliest: i64,
    pub latest: i64,
}

impl Watermarks {
    /// Records currently retained.
    pub fn len(&self) -> i64 {
        (self.latest - self.earliest).max(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The answer of a by-time lookup for one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeOffset {
    /// The first record whose timestamp is ≥ T has this offset.
    At(i64),
    /// No record has a timestamp ≥ T; the value is the partition's end offset (latest).
    End(i64),
}

impl TimeOffset {
    /// The offset a consumer starting "at T" begins at (for `End`, the end offset).
    pub fn offset(self) -> i64 {
        match self {
            TimeOffset::At(o) | TimeOffset::End(o) => o,
        }
    }
}

/// Decides a by-time answer for one partition from the facts read.
///
/// `answer` is the broker's offset for "first offset with timestamp ≥ T" and `answer_timestamp` the timestamp
/// it returned with it (the found record's). Apache Kafka answers offset -1 when no record qualifies.
/// tansu 0.6 answers offset 0 with timestamp -1 instead, so a 0 whose timestamp is not ≥ T is only trusted
/// when the partition's first record (at `earliest`) really is at or after T: `first_record_timestamp` is
/// that record's timestamp, read by the caller only for such answers (`None` when not read or missing).
pub(crate) fn decide_time_offset(
    answer: i64,
    answer_timestamp: i64,
    watermarks: Watermarks,
    t: i64,
    first_record_timestamp: Option<i64>,
) -> TimeOffset {
    if answer < 0 || watermarks.is_empty() || answer >= watermarks.latest {
        return TimeOffset::End(watermarks.latest);
    }
    if needs_first_record_check(answer, answer_timestamp, watermarks, t) {
        // tansu's "none" (see above) or a genuine 0 without its timestamp: the record at 0 tells.
        if watermarks.earliest > 0 {
            // Offset 0 is not even retained: Kafka never answers an offset below the earliest.
            return TimeOffset::End(watermarks.latest);
        }
        return match first_record_timestamp {
            Some(ts) if ts >= t => TimeOffset::At(answer),
            _ => TimeOffset::End(watermarks.latest),
        };
    }
    TimeOffset::At(answer)
}

/// Whether a by-time answer could be tansu's "none": offset 0, without a timestamp ≥ T, while the partition
/// has records.
pub(crate) fn needs_first_record_check(
    answer: i64,
    answer_timestamp: i64,
    watermarks: Watermarks,
    t: i64,
) -> bool {
    answer == 0 && answer_timestamp < t && !watermarks.is_empty()
}

impl Cluster {
    /// One ListOffsets call for `partitions` with the same `spec` (earliest, latest or a timestamp). Callers
    /// first check that the partitions exist ([`Cluster::explain_missing`]): librdkafka waits for an unknown
    /// topic to appear until the request timeout.
    async fn list_offsets(
        &self,
        partitions: &[TopicPartition],
        spec: i64,
        what: &str,
    ) -> Result<BTreeMap<TopicPartition, ListedOffset>> {
        let request: Vec<(String, i32, i64)> =
            partitions.iter().map(|p| (p.topic.clone(), p.partition, spec)).collect();
        let timeout = self.request_timeout();
        let operation = format!("looking up {what} offsets");
        let answers =
            match self.blocking(move |inner| ffi::list_offsets(inner.admin.inner(), &request, timeout)).await
            {
                Ok(a) => a,
                Err(e) => return Err(self.ffi_error(&operation, &e)),
            };
        let mut out = BTreeMap::new();
        let mut errors = Vec::new();
        for a in answers {
            let tp = TopicPartition::new(a.topic.clone(), a.partition);
            match &a.error {
                // An earliest/latest answer is never negative; a by-time answer may be -1 ("none"). Seen:
                // tansu's SQLite engine drops the connection on partitions with timestamp -1 records and
                // librdkafka then reports -1001 without an error.
                None if a.offset < 0 && (spec < 0 || a.offset != -1) => {
                    errors.push(Error::Kafka {
                        label: self.label().to_string(),
                        operation: format!("{operation} of {tp}"),
                        code: None,
                        detail: format!("the broker answered no valid offset ({})", a.offset),
                    });
                }
                None => {
                    out.insert(tp, a);
                }
                Some(e) => errors.push(match e.code {
                    RDKafkaErrorCode::UnknownTopic => {
                        Error::TopicNotFound { label: self.label().to_string(), topic: tp.topic }
                    }
                    RDKafkaErrorCode::UnknownPartition | RDKafkaErrorCode::UnknownTopicOrPartition => {
                        // Kafka uses one code for both: the metadata tells which.
                        match self.explain_missing(std::slice::from_ref(&tp)).await {
                            Err(e) => e,
                            Ok(()) => self.ffi_error(&format!("{operation} of {tp}"), e),
                        }
                    }
                    _ => self.ffi_error(&format!("{operation} of {tp}"), e),
                }),
            }
        }
        crate::error::collect(self.label(), &operation, errors)?;
        if let Some(p) = partitions.iter().find(|p| !out.contains_key(*p)) {
            return Err(Error::Kafka {
                label: self.label().to_string(),
                operation,
                code: None,
                detail: format!("no answer for partition {p}"),
            });
        }
        Ok(out)
    }

    /// `Err` naming the first missing topic or partition of `partitions`, `Ok` if all exist.
    pub(crate) async fn explain_missing(&self, partitions: &[TopicPartition]) -> Result<()> {
        if partitions.is_empty() {
            return Ok(());
        }
        let md = self.metadata().await?;
        for p in partitions {
            match md.topics.get(&p.topic) {
                None => {
                    return Err(Error::TopicNotFound {
                        label: self.label().to_string(),
                        topic: p.topic.clone(),
                    });
                }
                Some(t) if !t.partitions.iter().any(|x| x.id == p.partition) => {
                    return Err(Error::PartitionNotFound {
                        label: self.label().to_string(),
                        partition: p.clone(),
                    });
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The earliest retained offset of every partition (one ListOffsets request per leader broker, after one
    /// Metadata request checking that the partitions exist).
    pub async fn earliest_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        self.explain_missing(partitions).await?;
        self.offsets_unchecked(partitions, SPEC_EARLIEST, "earliest").await
    }

    /// The offsets a ListOffsets spec (earliest, latest) answers, without the existence check.
    async fn offsets_unchecked(
        &self,
        partitions: &[TopicPartition],
        spec: i64,
        what: &'static str,
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        Ok(self.list_offsets(partitions, spec, what).await?.into_iter().map(|(p, a)| (p, a.offset)).collect())
    }

    /// The end offset (high watermark) of every partition (one ListOffsets request per leader broker, after
    /// one Metadata request checking that the partitions exist).
    pub async fn latest_offsets(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, i64>> {
        self.explain_missing(partitions).await?;
        self.offsets_unchecked(partitions, SPEC_LATEST, "latest").await
    }

    /// Earliest and latest of every partition (two ListOffsets requests per leader broker, concurrently,
    /// after one Metadata request checking that the partitions exist).
    pub async fn watermarks(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, Watermarks>> {
        self.explain_missing(partitions).await?;
        self.watermarks_unchecked(partitions).await
    }

    async fn watermarks_unchecked(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, Watermarks>> {
        let (earliest, latest) = tokio::try_join!(
            self.offsets_unchecked(partitions, SPEC_EARLIEST, "earliest"),
            self.offsets_unchecked(partitions, SPEC_LATEST, "latest")
        )?;
        Ok(earliest
            .into_iter()
            .map(|(p, earliest)| {
                let latest = latest[&p];
                (p, Watermarks { earliest, latest })
            })
            .collect())
    }

    /// For every partition, the first offset whose record timestamp is ≥ `timestamp_ms` (ms since the
    /// epoch), or [`TimeOffset::End`] with the end offset when no record is that recent.
    ///
    /// One Metadata request (checking that the partitions exist), three ListOffsets requests per leader
    /// broker (by time, earliest, latest), plus, only for answers of offset 0 without a timestamp ≥ T
    /// (tansu 0.6's "no such record"; Apache Kafka answers -1), one read of the first record of those
    /// partitions to tell a real 0 from "none".
    pub async fn offsets_for_time(
        &self,
        partitions: &[TopicPartition],
        timestamp_ms: i64,
    ) -> Result<BTreeMap<TopicPartition, TimeOffset>> {
        if timestamp_ms < 0 {
            return Err(Error::Kafka {
                label: self.label().to_string(),
                operation: "looking up offsets by time".into(),
                code: Some(RDKafkaErrorCode::InvalidArgument),
                detail: format!("the timestamp must not be negative, got {timestamp_ms}"),
            });
        }
        self.explain_missing(partitions).await?;
        let (by_time, watermarks) = tokio::try_join!(
            self.list_offsets(partitions, timestamp_ms, "by-time"),
            self.watermarks_unchecked(partitions)
        )?;
        // Answers of 0 may be tansu's "none": read the first record of those partitions.
        let suspicious: Vec<Range> = by_time
            .iter()
            .filter(|(p, a)| {
                let w = watermarks[*p];
                needs_first_record_check(a.offset, a.timestamp, w, timestamp_ms) && w.earliest == 0
            })
            .map(|(p, _)| Range { partition: p.clone(), start: 0, end: 1 })
            .collect();
        let first_records = if suspicious.is_empty() {
            BTreeMap::new()
        } else {
            tracing::debug!(
                cluster = %self.label(),
                partitions = suspicious.len(),
                "by-time lookup answered 0 for non-empty partitions; checking the first records"
            );
            self.read_ranges(suspicious, self.request_timeout().min(Duration::from_secs(30))).await?
        };
        Ok(by_time
            .into_iter()
            .map(|(p, a)| {
                let first = first_records.get(&p).and_then(|r| r.first()).and_then(|r| r.timestamp.millis());
                let decided = decide_time_offset(a.offset, a.timestamp, watermarks[&p], timestamp_ms, first);
                (p, decided)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_000;

    fn wm(earliest: i64, latest: i64) -> Watermarks {
        Watermarks { earliest, latest }
    }

    #[test]
    fn kafka_answers() {
        // First record at/after T is at 5 (Kafka returns that record's timestamp).
        assert_eq!(decide_time_offset(5, T + 7, wm(0, 10), T, None), TimeOffset::At(5));
        // Apache Kafka's "none": -1.
        assert_eq!(decide_time_offset(-1, -1, wm(0, 10), T, None), TimeOffset::End(10));
        // Empty partition.
        assert_eq!(decide_time_offset(-1, -1, wm(7, 7), T, None), TimeOffset::End(7));
        // A genuine 0 comes with its record's timestamp: no record needs reading.
        assert!(!needs_first_record_check(0, T, wm(0, 10), T));
        assert_eq!(decide_time_offset(0, T, wm(0, 10), T, None), TimeOffset::At(0));
        assert_eq!(decide_time_offset(0, T + 1, wm(0, 10), T, None), TimeOffset::At(0));
    }

    #[test]
    fn tansu_answers_zero_for_none() {
        // tansu 0.6: offset 0, timestamp -1 while every record is older than T.
        assert!(needs_first_record_check(0, -1, wm(0, 3), T));
        assert_eq!(decide_time_offset(0, -1, wm(0, 10), T, Some(T - 1)), TimeOffset::End(10));
        // The same answer where the first record is in fact at/after T (a broker not returning timestamps).
        assert_eq!(decide_time_offset(0, -1, wm(0, 10), T, Some(T)), TimeOffset::At(0));
        // The first record could not be read or has no timestamp: not trusted.
        assert_eq!(decide_time_offset(0, -1, wm(0, 10), T, None), TimeOffset::End(10));
        // 0 although offset 0 is no longer retained.
        assert_eq!(decide_time_offset(0, -1, wm(4, 10), T, None), TimeOffset::End(10));
        // Empty partition answering 0.
        assert_eq!(decide_time_offset(0, -1, wm(0, 0), T, None), TimeOffset::End(0));
        assert!(!needs_first_record_check(0, -1, wm(3, 3), T));
        assert!(!needs_first_record_check(2, -1, wm(0, 3), T));
    }

    #[test]
    fn answers_past_the_end_are_end() {
        assert_eq!(decide_time_offset(10, T, wm(0, 10), T, None), TimeOffset::End(10));
        assert_eq!(TimeOffset::End(10).offset(), 10);
        assert_eq!(TimeOffset::At(3).offset(), 3);
        assert_eq!(wm(2, 10).len(), 8);
    }
}
