//! The record pipe behind `copy:<t>`: consume a topic's partitions on the source and produce
//! every record to the same partition on the target, with the same key, value, headers and
//! timestamp, through an idempotent producer.
//!
//! The pipe runs on a thread of its own (librdkafka's calls block). It reports every record the
//! target *acknowledged*, with the offset the target gave it, so the caller can checkpoint only
//! what is safe and build the exact source → target offset map. Memory is bounded by the
//! consumer's prefetch queue and the producer's buffer, whatever the topic's size.
//!
//! Partition ends are learned from the fetches themselves (partition EOF), not from ListOffsets:
//! that works on brokers whose ListOffsets answers are unreliable (tansu's memory engine).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedHeaders, BorrowedMessage, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio::sync::mpsc;

use crate::client::Cluster;
use crate::context::KContext;
use crate::error::{Error, Result};

/// One record the target acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub partition: i32,
    pub source_offset: i64,
    pub target_offset: i64,
}

/// What the pipe reports, about every 200 ms.
#[derive(Debug, Clone, Default)]
pub struct CopyProgress {
    /// Acknowledged records since the previous report, in acknowledgement order (which is source
    /// order within a partition: the producer is idempotent).
    pub deliveries: Vec<Delivery>,
    /// Key + value bytes acknowledged since the previous report.
    pub bytes: u64,
    /// Partitions whose last fetch found nothing more to read.
    pub at_end: Vec<i32>,
    /// Records on the source not read yet, from the high watermarks of the last fetch answers;
    /// `None` until a fetch has answered.
    pub lag: Option<u64>,
}

/// How the pipe ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyEnd {
    /// The cutover had passed and every partition was copied to its end.
    Finished,
    /// Asked to stop; everything produced was flushed and reported.
    Stopped,
}

/// Tuning of the pipe. The defaults aim at throughput with bounded memory.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// Bound of the consumer's prefetch queue and of the producer's buffer, each.
    pub buffer_kbytes: u32,
    pub linger: Duration,
    /// After the cutover is signalled, how long partitions must keep reporting "at end" before
    /// the copy finishes (covers fetches already in flight when the signal came).
    pub settle: Duration,
    /// The producer's `compression.type`: `none`, `gzip`, `snappy`, `lz4` or `zstd`. Default
    /// `none`; kmigrate's engine decides it per topic (`kmigrate_engine::compression`).
    pub compression: String,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            // Payload bytes; librdkafka's per-record bookkeeping comes on top (8 MiB each: a copy
            // of 200-byte records peaks near 80 MiB RSS, 16 MiB near 130 MiB, no faster on
            // loopback; BENCHMARKS.md, "Copy throughput").
            buffer_kbytes: 8 * 1024,
            linger: Duration::from_millis(20),
            settle: Duration::from_millis(1500),
            compression: "none".to_string(),
        }
    }
}

/// Records the pipe moves between two rounds of housekeeping (see `Worker::run`).
const BATCH: usize = 512;

/// A running copy of one topic.
pub struct CopyPipe {
    control: Arc<Control>,
    rx: mpsc::Receiver<CopyProgress>,
    /// How the pipe ended, sent before the thread closes its clients.
    outcome: Option<tokio::sync::oneshot::Receiver<Result<CopyEnd>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct Control {
    stop: AtomicBool,
    cutover_passed: AtomicBool,
    /// When [`CopyPipe::cutover_passed`] was first called: the settle time counts from then.
    cutover_at: Mutex<Option<Instant>>,
}

impl CopyPipe {
    /// Starts copying `topic`: each partition from its offset in `starts` (`None`: from the
    /// beginning of what the source retains).
    pub fn start(
        source: &Cluster,
        target: &Cluster,
        topic: &str,
        starts: &BTreeMap<i32, Option<i64>>,
        options: CopyOptions,
    ) -> Result<CopyPipe> {
        let consumer = copy_consumer(source, topic, &options)?;
        let producer = copy_producer(target, &options)?;
        let mut tpl = TopicPartitionList::new();
        for (p, start) in starts {
            let offset = start.map_or(Offset::Beginning, Offset::Offset);
            tpl.add_partition_offset(topic, *p, offset)
                .map_err(|e| source.kafka_error("assigning partitions to copy", &e, Duration::ZERO))?;
        }

        let control = Arc::new(Control::default());
        let (tx, rx) = mpsc::channel(16);
        let (outcome_tx, outcome_rx) = tokio::sync::oneshot::channel();
        let worker = Worker {
            topic: topic.to_string(),
            consumer,
            producer,
            control: control.clone(),
            tx,
            assignment: tpl,
            source: source.clone(),
            partitions: starts.keys().copied().collect(),
            starts: starts.iter().filter_map(|(p, s)| s.map(|s| (*p, s))).collect(),
            options,
            source_label: source.label().to_string(),
            target: target.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("copy-{topic}"))
            .spawn(move || {
                let end = worker.run();
                // Report first, then close the clients: closing takes about 100 ms and nothing
                // needs to wait for it.
                let Worker { tx, consumer, producer, .. } = worker;
                let _ = outcome_tx.send(end);
                drop(tx);
                drop(consumer);
                drop(producer);
            })
            .map_err(|e| Error::Kafka {
                code: None,
                label: target.label().to_string(),
                operation: "starting the copy thread".into(),
                detail: e.to_string(),
            })?;
        Ok(CopyPipe { control, rx, outcome: Some(outcome_rx), thread: Some(thread) })
    }

    /// The producers have switched: the copy may finish once every partition is at its end.
    pub fn cutover_passed(&self) {
        self.control.cutover_at.lock().expect("control lock").get_or_insert_with(Instant::now);
        self.control.cutover_passed.store(true, Ordering::SeqCst);
    }

    /// Asks the pipe to stop consuming; records in flight are still flushed and reported.
    pub fn stop(&self) {
        self.control.stop.store(true, Ordering::SeqCst);
    }

    /// The next report; `None` once the pipe has ended (then call [`CopyPipe::join`]).
    pub async fn next(&mut self) -> Option<CopyProgress> {
        self.rx.recv().await
    }

    /// Waits until the pipe has ended and returns how. Everything it copied has been reported
    /// by then; its thread may still be closing its clients, on its own.
    pub async fn join(mut self) -> Result<CopyEnd> {
        let thread = self.thread.take().expect("joined once");
        match self.outcome.take().expect("joined once").await {
            Ok(end) => end,
            // No outcome: the thread panicked (joining it returns at once).
            Err(_) => {
                let _ = tokio::task::spawn_blocking(move || thread.join()).await;
                Err(Error::Kafka {
                    label: "target".into(),
                    operation: "copying".into(),
                    code: None,
                    detail: "the copy thread panicked".into(),
                })
            }
        }
    }
}

impl Drop for CopyPipe {
    fn drop(&mut self) {
        self.control.stop.store(true, Ordering::SeqCst);
    }
}

fn copy_consumer(source: &Cluster, topic: &str, options: &CopyOptions) -> Result<BaseConsumer<KContext>> {
    let config = &source.inner.config;
    let extra = [
        ("group.id", format!("kmigrate-copy-{topic}")),
        ("enable.auto.commit", "false".to_string()),
        ("enable.auto.offset.store", "false".to_string()),
        ("enable.partition.eof", "true".to_string()),
        // A resume offset the source no longer holds is an error, never a silent jump.
        ("auto.offset.reset", "error".to_string()),
        // Apache Kafka answers a fetch as soon as it has data (fetch.min.bytes = 1), so this only
        // paces the polling of caught-up partitions (50 fetches a second per broker at most).
        // tansu 0.6 waits the full fetch.wait.max.ms on every fetch and returns about one stored
        // batch per partition: there it bounds the copy (50 ms: ~300k records/s; 20 ms: as fast
        // as the target takes them; BENCHMARKS.md, "Copy throughput").
        ("fetch.wait.max.ms", "20".to_string()),
        // When the prefetch queue is full (the target is slower than the source), fetch again
        // as soon as it has room: librdkafka's default waits a whole second, stalling the pipe.
        ("fetch.queue.backoff.ms", "10".to_string()),
        ("fetch.max.bytes", (64 * 1024 * 1024).to_string()),
        ("max.partition.fetch.bytes", (16 * 1024 * 1024).to_string()),
        ("queued.max.messages.kbytes", options.buffer_kbytes.to_string()),
        ("check.crcs", "false".to_string()),
    ];
    config
        .client_config(&extra)
        .create_with_context(KContext::new(&config.label, config.redactor()))
        .map_err(|e| config.creation_error(&e))
}

fn copy_producer(target: &Cluster, options: &CopyOptions) -> Result<BaseProducer<DeliveryContext>> {
    let config = &target.inner.config;
    let extra = [
        ("enable.idempotence", "true".to_string()),
        ("acks", "all".to_string()),
        // The idempotent producer sends nothing before it has a producer id, which it asks a
        // connected broker for after each metadata answer, else every 500 ms. With sparse
        // connections (the default) the brokers learned from the bootstrap answer stay
        // unconnected until something needs them, and the id came about a second after the
        // start; connected at once, one is up when the next answer comes.
        ("enable.sparse.connections", "false".to_string()),
        ("linger.ms", options.linger.as_millis().to_string()),
        ("batch.size", (1024 * 1024).to_string()),
        ("batch.num.messages", "100000".to_string()),
        ("queue.buffering.max.kbytes", options.buffer_kbytes.to_string()),
        ("queue.buffering.max.messages", "1000000".to_string()),
        ("compression.type", options.compression.clone()),
    ];
    let context = DeliveryContext {
        base: KContext::new(&config.label, config.redactor()),
        delivered: Mutex::new(Vec::new()),
        bytes: AtomicU64::new(0),
        failure: Mutex::new(None),
    };
    config.client_config(&extra).create_with_context(context).map_err(|e| config.creation_error(&e))
}

/// Collects acknowledgements (called from `producer.poll` on the copy thread).
struct DeliveryContext {
    base: KContext,
    delivered: Mutex<Vec<Delivery>>,
    bytes: AtomicU64,
    failure: Mutex<Option<String>>,
}

impl ClientContext for DeliveryContext {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        self.base.log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.base.error(error, reason);
    }
}

impl ProducerContext for DeliveryContext {
    /// The source offset of the record.
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, source_offset: usize) {
        match result {
            Ok(m) => {
                let bytes = m.key().map_or(0, <[u8]>::len) + m.payload().map_or(0, <[u8]>::len);
                self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
                self.delivered.lock().expect("delivery lock").push(Delivery {
                    partition: m.partition(),
                    source_offset: source_offset as i64,
                    target_offset: m.offset(),
                });
            }
            Err((e, m)) => {
                let mut failure = self.failure.lock().expect("delivery lock");
                failure.get_or_insert_with(|| {
                    format!(
                        "the target refused record {}/{} (source offset {source_offset}): {e}",
                        m.topic(),
                        m.partition()
                    )
                });
            }
        }
    }
}

struct Worker {
    topic: String,
    consumer: BaseConsumer<KContext>,
    producer: BaseProducer<DeliveryContext>,
    control: Arc<Control>,
    tx: mpsc::Sender<CopyProgress>,
    /// What to consume, assigned on the copy thread (see `Worker::assign`).
    assignment: TopicPartitionList,
    source: Cluster,
    partitions: Vec<i32>,
    /// Explicit start offsets (partitions absent start at the beginning).
    starts: BTreeMap<i32, i64>,
    options: CopyOptions,
    source_label: String,
    target: Cluster,
}

impl Worker {
    /// Assigns the partitions, after learning their leaders: librdkafka resolves a logical start
    /// offset (the beginning) only once it knows the leader, and when it does not yet, it retries
    /// after a fixed 500 ms. Done here, not in `CopyPipe::start`, to keep that request off the
    /// caller's (async) thread.
    fn assign(&self) -> Result<()> {
        // Only a warm-up: on failure, librdkafka finds the leaders itself, a little later.
        let _ = self.consumer.fetch_metadata(Some(&self.topic), Duration::from_secs(10));
        self.consumer
            .assign(&self.assignment)
            .map_err(|e| self.source.kafka_error("assigning partitions to copy", &e, Duration::ZERO))
    }

    fn run(&self) -> Result<CopyEnd> {
        self.assign()?;
        let mut at_end: BTreeMap<i32, bool> = self.partitions.iter().map(|p| (*p, false)).collect();
        // Per partition: the next offset to read (known once a record was read, or from the start).
        let mut position: BTreeMap<i32, i64> = self.starts.clone();
        let mut last_probe = Instant::now();
        let mut cutover_seen: Option<Instant> = None;
        let mut last_report = Instant::now();
        let mut end = CopyEnd::Stopped;
        let mut failure: Option<Error> = None;
        'pipe: loop {
            // Housekeeping once per batch of records, not per record: at a few hundred thousand
            // records a second, clock reads, locks and empty polls of the producer add up.
            if self.control.stop.load(Ordering::SeqCst) {
                break;
            }
            if let Some(f) = self.producer.context().failure.lock().expect("delivery lock").clone() {
                failure = Some(Error::Kafka {
                    label: self.target.label().to_string(),
                    operation: "copying".into(),
                    code: None,
                    detail: f,
                });
                break;
            }
            // Up to BATCH records, fewer when the source has nothing ready. Backpressure: when
            // the producer's buffer is full, `produce` serves acknowledgements until it has room.
            for _ in 0..BATCH {
                match self.consumer.poll(Duration::from_millis(20)) {
                    Some(Ok(m)) => {
                        at_end.insert(m.partition(), false);
                        position.insert(m.partition(), m.offset() + 1);
                        if let Err(e) = self.produce(&m) {
                            failure = Some(e);
                            break 'pipe;
                        }
                    }
                    Some(Err(KafkaError::PartitionEOF(p))) => {
                        at_end.insert(p, true);
                        break;
                    }
                    Some(Err(e)) => {
                        let detail = if e.rdkafka_error_code() == Some(RDKafkaErrorCode::OffsetOutOfRange) {
                            format!(
                                "{e}: the source no longer holds the offset the copy continues from (retention deleted records before they were copied)"
                            )
                        } else {
                            e.to_string()
                        };
                        failure = Some(Error::Kafka {
                            code: e.rdkafka_error_code(),
                            label: self.source_label.clone(),
                            operation: format!("reading topic {}", self.topic),
                            detail,
                        });
                        break 'pipe;
                    }
                    None => break,
                }
            }
            self.producer.poll(Duration::ZERO);
            if self.control.cutover_passed.load(Ordering::SeqCst) && cutover_seen.is_none() {
                cutover_seen =
                    Some(self.control.cutover_at.lock().expect("control lock").unwrap_or_else(Instant::now));
            }
            let settled = cutover_seen.is_some_and(|t| t.elapsed() >= self.options.settle);
            // Every 200 ms, compare each position with the high watermark of the last fetch answer:
            // a partition may be at its end without an EOF event (librdkafka signals EOF once per
            // offset), and one that was at its end is no longer once the watermark moves on.
            if last_probe.elapsed() >= Duration::from_millis(200) {
                last_probe = Instant::now();
                for (p, end) in at_end.iter_mut() {
                    if let (Some((_, high)), Some(pos)) = (
                        crate::ffi::cached_watermarks(self.consumer.client(), &self.topic, *p),
                        position.get(p),
                    ) {
                        *end = *pos >= high;
                    }
                }
            }
            if settled && at_end.values().all(|e| *e) && self.producer.in_flight_count() == 0 {
                end = CopyEnd::Finished;
                break;
            }
            if last_report.elapsed() >= Duration::from_millis(200) {
                last_report = Instant::now();
                if !self.report(&at_end, &position) {
                    break;
                }
            }
        }
        // Everything handed to the producer is either acknowledged and reported, or refused.
        let flushed = self.producer.flush(Duration::from_secs(120));
        self.producer.poll(Duration::ZERO);
        self.report(&at_end, &position);
        if let Some(f) = self.producer.context().failure.lock().expect("delivery lock").clone() {
            failure.get_or_insert(Error::Kafka {
                label: self.target.label().to_string(),
                operation: "copying".into(),
                code: None,
                detail: f,
            });
        }
        if let Err(e) = flushed {
            failure.get_or_insert(self.target.kafka_error(
                "flushing copied records",
                &e,
                Duration::from_secs(120),
            ));
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(end),
        }
    }

    fn produce(&self, m: &BorrowedMessage<'_>) -> Result<()> {
        let headers = m.headers().map(BorrowedHeaders::detach);
        let timestamp = match m.timestamp() {
            rdkafka::Timestamp::CreateTime(t) | rdkafka::Timestamp::LogAppendTime(t) if t >= 0 => Some(t),
            _ => None,
        };
        let mut record: BaseRecord<'_, [u8], [u8], usize> =
            BaseRecord::with_opaque_to(&self.topic, m.offset() as usize).partition(m.partition());
        record.key = m.key();
        record.payload = m.payload();
        record.timestamp = timestamp;
        record.headers = headers;
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    self.producer.poll(Duration::from_millis(5));
                }
                Err((e, _)) => return Err(self.target.kafka_error("copying a record", &e, Duration::ZERO)),
            }
        }
    }

    /// Records not read yet over every partition whose watermarks a fetch has reported.
    fn lag(&self, position: &BTreeMap<i32, i64>) -> Option<u64> {
        let mut known = false;
        let mut lag = 0u64;
        for p in &self.partitions {
            if let Some((low, high)) = crate::ffi::cached_watermarks(self.consumer.client(), &self.topic, *p)
            {
                known = true;
                lag += (high - position.get(p).copied().unwrap_or(low)).max(0) as u64;
            }
        }
        known.then_some(lag)
    }

    /// Sends the acknowledgements gathered so far; false if nobody listens any more.
    fn report(&self, at_end: &BTreeMap<i32, bool>, position: &BTreeMap<i32, i64>) -> bool {
        let deliveries =
            std::mem::take(&mut *self.producer.context().delivered.lock().expect("delivery lock"));
        let bytes = self.producer.context().bytes.swap(0, Ordering::Relaxed);
        let progress = CopyProgress {
            deliveries,
            bytes,
            at_end: at_end.iter().filter(|(_, e)| **e).map(|(p, _)| *p).collect(),
            lag: self.lag(position),
        };
        self.tx.blocking_send(progress).is_ok()
    }
}
