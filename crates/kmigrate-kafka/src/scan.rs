//! Reading whole records (key, value, headers, timestamp) from a partition range, streamed to a
//! visitor (or pulled from a bounded [`RecordStream`]) so that memory stays bounded. Used to
//! reconcile a resumed copy, to verify copies and to align the logs of an external copy.

use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use crate::client::Cluster;
use crate::error::{Error, Result};
use crate::types::TopicPartition;

/// How long a scan waits for more records before asking the broker where the partition ends.
const END_PROBE: Duration = Duration::from_secs(1);

/// A record as read, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordData {
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Milliseconds since the epoch, whatever its type; `None` when the record has none.
    pub timestamp: Option<i64>,
}

/// Which fields of a record a comparison covers: what a copy must preserve on its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fields {
    /// Key, value, headers and timestamp.
    All,
    /// Key, value and headers: the target stamps records with its own clock (LogAppendTime), so a
    /// copy cannot keep the source's timestamps.
    WithoutTimestamp,
}

impl Fields {
    /// Whether a copy's timestamp `copy` agrees with its source record's `source`: the one rule
    /// for resume matching and verify.
    ///
    /// A copy cannot keep every timestamp. A target topic with `LogAppendTime` stamps records
    /// itself ([`Fields::WithoutTimestamp`]). And a source record without a timestamp (-1,
    /// written by a client older than Kafka 0.10) or stamped 0 cannot be written as such: the
    /// client library takes both to mean "now" (librdkafka, like Kafka's Java producer for a
    /// missing timestamp), so its copy carries the time it was copied. Those are compared without
    /// the timestamp.
    pub fn timestamps_agree(self, source: Option<i64>, copy: Option<i64>) -> bool {
        self == Fields::WithoutTimestamp || !timestamp_kept(source) || source == copy
    }
}

/// A digest of a record's key, value and headers (never its offset or timestamp), the same in
/// every process and every kmigrate version: the copy records it, verify recomputes it from the
/// target (XXH3-64 over the fields, each preceded by its length, `u64::MAX` for null).
pub fn content_digest<'a>(
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: impl IntoIterator<Item = (&'a str, Option<&'a [u8]>)>,
) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut field = |bytes: Option<&[u8]>| match bytes {
        Some(b) => {
            h.update(&(b.len() as u64).to_le_bytes());
            h.update(b);
        }
        None => h.update(&u64::MAX.to_le_bytes()),
    };
    field(key);
    field(value);
    for (name, value) in headers {
        field(Some(name.as_bytes()));
        field(value);
    }
    h.digest()
}

/// Whether a copy can carry the source timestamp `ts` (see [`Fields::timestamps_agree`]).
pub fn timestamp_kept(ts: Option<i64>) -> bool {
    ts.is_some_and(|t| t > 0)
}

impl RecordData {
    /// [`content_digest`] of the record (never the offset or the timestamp, which
    /// [`Fields::timestamps_agree`] compares).
    pub fn digest(&self) -> u64 {
        content_digest(
            self.key.as_deref(),
            self.value.as_deref(),
            self.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref())),
        )
    }

    /// Whether `copy` is a copy of this (source) record: same key, value and headers, and a
    /// timestamp that agrees in `fields` (see [`Fields::timestamps_agree`]). Never the offset.
    pub fn same_content(&self, copy: &RecordData, fields: Fields) -> bool {
        self.key == copy.key
            && self.value == copy.value
            && self.headers == copy.headers
            && fields.timestamps_agree(self.timestamp, copy.timestamp)
    }
}

/// Records of one partition in offset order, read ahead by a consumer of their own
/// ([`Cluster::stream_partition`]).
pub struct RecordStream {
    records: tokio::sync::mpsc::Receiver<RecordData>,
    reader: Option<tokio::task::JoinHandle<Result<()>>>,
}

impl RecordStream {
    /// The next record; `None` at the partition's end; the read's error, if it failed.
    pub async fn next(&mut self) -> Result<Option<RecordData>> {
        if let Some(r) = self.records.recv().await {
            return Ok(Some(r));
        }
        match self.reader.take() {
            Some(reader) => match reader.await {
                Ok(result) => result.map(|()| None),
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => panic!("record stream reader was cancelled: {e}"),
            },
            None => Ok(None),
        }
    }
}

impl Cluster {
    /// Every record of `partition` from `start` to the partition's end (as the fetch reports it),
    /// pulled one at a time by [`RecordStream::next`]: one consumer reads ahead on a blocking
    /// thread, at most `buffer` records beyond what the caller took (and its 16 MiB prefetch).
    /// Dropping the stream stops the read at the next record.
    pub fn stream_partition(
        &self,
        partition: &TopicPartition,
        start: i64,
        buffer: usize,
        idle_timeout: Duration,
    ) -> RecordStream {
        let (tx, records) = tokio::sync::mpsc::channel(buffer.max(1));
        let (this, tp) = (self.clone(), partition.clone());
        let reader = tokio::spawn(async move {
            this.scan_partition(&tp, start, None, idle_timeout, move |r| tx.blocking_send(r).is_ok()).await
        });
        RecordStream { records, reader: Some(reader) }
    }

    /// Calls `visit` with every record of `partition` from `start`, until offset `end`
    /// (exclusive) or, without `end`, until the partition's end as the fetch reports it. Stops
    /// early when `visit` returns false. Fails when no record arrives for `idle_timeout`.
    pub async fn scan_partition<F>(
        &self,
        partition: &TopicPartition,
        start: i64,
        end: Option<i64>,
        idle_timeout: Duration,
        mut visit: F,
    ) -> Result<()>
    where
        F: FnMut(RecordData) -> bool + Send + 'static,
    {
        if end.is_some_and(|e| e <= start) {
            return Ok(());
        }
        let tp = partition.clone();
        let this = self.clone();
        self.blocking(move |_| {
            let operation = format!("reading {tp}");
            let consumer = this.scan_consumer()?;
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(start))
                .map_err(|e| this.kafka_error(&operation, &e, Duration::ZERO))?;
            consumer.assign(&tpl).map_err(|e| this.kafka_error(&operation, &e, Duration::ZERO))?;
            let mut last_progress = Instant::now();
            let mut last_probe = Instant::now();
            let mut position = start;
            loop {
                match consumer.poll(Duration::from_millis(100)) {
                    Some(Ok(m)) => {
                        last_progress = Instant::now();
                        if end.is_some_and(|e| m.offset() >= e) {
                            return Ok(());
                        }
                        position = m.offset() + 1;
                        let record = RecordData {
                            offset: m.offset(),
                            key: m.key().map(<[u8]>::to_vec),
                            value: m.payload().map(<[u8]>::to_vec),
                            headers: m
                                .headers()
                                .map(|h| {
                                    h.iter()
                                        .map(|x| (x.key.to_string(), x.value.map(<[u8]>::to_vec)))
                                        .collect()
                                })
                                .unwrap_or_default(),
                            timestamp: match m.timestamp() {
                                rdkafka::Timestamp::CreateTime(t) | rdkafka::Timestamp::LogAppendTime(t)
                                    if t >= 0 =>
                                {
                                    Some(t)
                                }
                                _ => None,
                            },
                        };
                        if !visit(record) || end.is_some_and(|e| m.offset() + 1 >= e) {
                            return Ok(());
                        }
                    }
                    // The end of what the partition holds (before `end`, if the log has gaps).
                    Some(Err(KafkaError::PartitionEOF(_))) => return Ok(()),
                    Some(Err(e)) => return Err(this.kafka_error(&operation, &e, last_progress.elapsed())),
                    None if last_progress.elapsed() >= idle_timeout => {
                        let seen =
                            match crate::ffi::cached_watermarks(consumer.client(), &tp.topic, tp.partition) {
                                Some((low, high)) => format!("fetched watermarks {low}..{high}"),
                                None => "no fetch answered".to_string(),
                            };
                        return Err(Error::Timeout {
                            label: this.label().to_string(),
                            operation: format!("{operation} from offset {position} ({seen})"),
                            waited: last_progress.elapsed(),
                        });
                    }
                    // Quiet without an EOF event (librdkafka signals EOF once per offset): compare
                    // the position with the high watermark of the last fetch answer. The
                    // consumer's position counts transaction markers, never delivered as records.
                    None if last_progress.elapsed() >= END_PROBE && last_probe.elapsed() >= END_PROBE => {
                        last_probe = Instant::now();
                        if let Ok(tpl) = consumer.position()
                            && let Some(Offset::Offset(o)) = tpl.elements().first().map(|e| e.offset())
                        {
                            position = position.max(o);
                        }
                        if crate::ffi::cached_watermarks(consumer.client(), &tp.topic, tp.partition)
                            .is_some_and(|(_, high)| position >= high)
                        {
                            return Ok(());
                        }
                    }
                    None => {}
                }
            }
        })
        .await
    }

    fn scan_consumer(&self) -> Result<rdkafka::consumer::BaseConsumer<crate::context::KContext>> {
        // What a copy reads: committed records only (see `Cluster::reader`).
        self.reader(
            None,
            true,
            &[
                ("fetch.wait.max.ms", "50".to_string()),
                ("queued.max.messages.kbytes", (16 * 1024).to_string()),
            ],
        )
    }
}
